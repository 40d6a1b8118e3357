"""The batch benchmark's markdown section (``BENCHMARKS.md``) and plot (fill time against batch
size, log axes, both engines, first visit and warm)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from structgen_bench.report import run_line, save_figure

__all__ = ["plot_results", "render_markdown"]


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1e3:.3f}"


def _us(value: float | None) -> str:
    return "—" if value is None else f"{value * 1e6:.1f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _auto_threads(xgrammar: dict[str, Any]) -> str:
    if xgrammar.get("threads") != "auto" or not xgrammar.get("hardware_threads"):
        return ""
    return f", `'auto'` being half the hardware threads: {xgrammar['hardware_threads'] // 2} here"


def _load(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _fill_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        "| batch | pass | structgen p50 ms | p99 ms | xgrammar p50 ms | p99 ms "
        "| ratio p50 | ratio p99 | masks equal / rows | structgen wider | xgrammar wider "
        "| incomparable |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    ratios = {(r["batch"], r["pass"]): r for r in results["fill_ratios"]}
    for record in results["fill"]:
        if "passes" not in record:
            lines.append(f"| {record['batch']} | {record.get('status')} | | | | | | | |")
            continue
        for name, data in record["passes"].items():
            ours = data["engines"]["structgen"]["seconds"]
            theirs = data["engines"]["xgrammar"]["seconds"]
            ratio = ratios.get((record["batch"], name), {})
            agree = data["agreement"]
            lines.append(
                f"| {record['batch']} | {name} | {_ms(ours['p50'])} | {_ms(ours['p99'])} "
                f"| {_ms(theirs['p50'])} | {_ms(theirs['p99'])} | {_ratio(ratio.get('p50_ratio'))} "
                f"| {_ratio(ratio.get('p99_ratio'))} | {agree['equal_rows']} / {agree['rows']} "
                f"| {agree.get('structgen_wider', '—')} | {agree.get('xgrammar_wider', '—')} "
                f"| {agree.get('incomparable', '—')} |"
            )
    return lines


def _apply_lines(results: dict[str, Any]) -> list[str]:
    apply = results["apply"]
    sizes = results["config"]["batch_sizes"]
    lines = [
        "| kernel | " + " | ".join(f"B={b} µs/row p50" for b in sizes) + " |",
        "|---|" + "--:|" * len(sizes),
    ]
    for name, by_size in apply["kernels"].items():
        cells = []
        for size in sizes:
            entry = by_size.get(str(size), {})
            cells.append(_us(entry["per_row_seconds"]["p50"]) if entry.get("status") == "ok"
                         else entry.get("status", "—"))  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _model_lines(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    overlap = results.get("overlap")
    if overlap:
        serial, over = overlap["serial"], overlap["overlap"]
        hidden = overlap.get("hidden_fraction")
        lines += [
            "",
            f"**Overlap** (`fill_async`, SmolLM2 through `TransformersLM`, {overlap['rows']} "
            f"JSON Schema rows, up to {overlap['steps']} greedy tokens, schemas compiled cold; "
            f"same tokens both ways: {overlap['same_tokens']}): serial — mask fill "
            f"{serial['fill_seconds']:.3f} s, forward {serial['forward_seconds']:.2f} s, total "
            f"{serial['seconds']:.2f} s; overlapped — fills took {over['fill_seconds']:.3f} s on "
            f"the background thread, the main thread waited {over['exposed_fill_seconds']:.4f} s "
            f"for them (hidden: {'—' if hidden is None else f'{hidden:.1%}'}), total "
            f"{over['seconds']:.2f} s.",
        ]
    e2e = results.get("e2e")
    if e2e and e2e["summary"]:
        config = results["config"]
        lines += [
            "",
            f"**End to end** (SmolLM2-135M-Instruct on the CPU, greedy, "
            f"{config['e2e_schemas']} schemas, `max_new_tokens={config['e2e_max_new_tokens']}`, "
            f"torch threads {config['torch_threads']}, llama.cpp `n_threads=1`; the schema in "
            "the prompt; each processor's JSON Schema defaults (structgen's "
            "`compile_json_schema`, llama-cpp's `make_logits_processor`, xgrammar's "
            "`compile_json_schema`); compiles before the timed runs; the prompt evaluated "
            "afresh in every "
            "run; *decode*: a one-token run's time (the prefill) left out; *valid*: the output "
            "parses and validates — a constrained run cut by `max_new_tokens` is not):",
            "",
            "| generator | processor | runs | tokens | tokens/s | decode tokens/s "
            "| decode slowdown vs none | added ms / token | valid |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for generator, configs in e2e["summary"].items():
            for name, row in configs.items():
                speed = row["tokens_per_s"]
                valid = "—" if name == "none" else f"{row['valid']}/{row['runs']}"
                lines.append(
                    f"| {generator} | {name} | {row['runs']} | {row['tokens']} "
                    f"| {'—' if speed is None else f'{speed:.1f}'} "
                    f"| {row['decode_tokens_per_s']:.1f} | {_ratio(row['slowdown'])} "
                    f"| {_ratio(row['added_ms_per_token'])} | {valid} |"
                )
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    """The report section: how it was run, fill, apply, overlap and end-to-end figures."""
    config = results["config"]
    fill_rows = len(results["rows"])
    examples: dict[str, dict[str, Any]] = {}
    for record in results["fill"]:
        for data in record.get("passes", {}).values():
            for example in data["agreement"]["examples"]:
                examples.setdefault(example["row"], example)
    rejected = sum(
        len(p["rejected"]) for r in results["fill"] for p in r.get("passes", {}).values()
    )
    machine = results["machine"]
    load = (machine.get("load_average_start"), machine.get("load_average_end"))
    lines = [
        "## Batch (`structgen bench batch`)",
        "",
        run_line(results),
        "",
        f"Machine: {machine.get('cpu_count', os.cpu_count())} cores shared with other work "
        f"(one-minute load average {_load(load[0])} at the start, {_load(load[1])} at the end; "
        f"above 1 means other processes competed for the cores); the whole run took "
        f"{machine.get('wall_seconds', 0.0) / 60:.1f} min. Figures are noisy: the engines are "
        "timed back to back on each step so that a busy moment slows both.",
        "",
        f"{results['tokenizer']['title']} vocabulary ({results['tokenizer']['vocab_size']} "
        f"tokens). **Mask fill**: {fill_rows} rows, each a different JSONSchemaBench schema "
        f"(the MaskBench subsets in turn, seed {config['seed']}, schemas up to "
        f"{config['max_schema_bytes']} bytes that both engines compile, one valid MaskBench "
        f"instance per row that xgrammar accepts), batch size B = the first B rows; "
        f"{config['steps']} steps per pass, a step being one fill call for the whole batch "
        "(structgen: `fill_next_token_bitmasks`, threads "
        f"{results['engines']['structgen']['threads']}; xgrammar "
        f"{results['engines']['xgrammar']['version']}: `BatchGrammarMatcher("
        f"max_threads={results['engines']['xgrammar']['threads']!r})"
        f".batch_fill_next_token_bitmask`{_auto_threads(results['engines']['xgrammar'])}), "
        "every row then taking its instance's next token "
        "(a finished row starts its instance again). *first*: new matchers on schemas just "
        "compiled (structgen recompiles per batch size with its memo caches dropped; xgrammar, "
        "which precomputes masks at compile time, reuses its compiles); *warm*: new matchers "
        "walking the same steps again. Whitespace mode "
        f"`{config['whitespace']}` (options {config['schema_options']}). Times per call "
        "for the whole batch; ratio = structgen / xgrammar (below 1: structgen faster). "
        "*masks equal*: rows × steps whose bitmasks are identical bit for bit, Llama-3's "
        "reserved special tokens aside (xgrammar reads them as text).",
        "",
        *_fill_lines(results),
    ]
    if examples:
        first = list(examples.values())[:4]
        shown = "; ".join(
            f"{e['row']} at token {e['position']}: only structgen {e['only_structgen_count']}, "
            f"only xgrammar {e['only_xgrammar_count']}"
            for e in first
        )
        lines += ["", f"Where the masks differ (first step of the first rows): {shown} (counts "
                  "of tokens allowed by one side only). The languages differ by design, not by "
                  "timing: structgen allows `\\u` escapes in property names and enum strings, "
                  "an undeclared property where the schema allows one (xgrammar's compact mode "
                  "offers only the declared names), `-0` and `1.0` as integers; xgrammar "
                  "allows raw control characters in length-bounded strings and `\\u` escapes of "
                  "lone surrogates (`\\udc00` alone), which structgen refuses (it takes "
                  "surrogate pairs). "
                  "`tests/test_bench_batch.py` checks the two bit for bit where the languages "
                  "are the same."]  # fmt: skip
    attribution = results.get("first_visit_rows")
    if attribution and attribution["top"]:
        top = "; ".join(
            f"{t['row']} {t['seconds']:.2f} s ({t['share']:.0%}; slowest fill "
            f"{t['slowest_fill_seconds'] * 1e3:.0f} ms at token {t['slowest_fill_position']})"
            for t in attribution["top"]
        )
        largest = [r for r in results["fill"] if r.get("batch") == attribution["rows"]]
        batch_first = ""
        if largest and "passes" in largest[0]:
            mean = largest[0]["passes"]["first"]["engines"]["structgen"]["seconds"]["mean"]
            batch_first = (f" against {mean * attribution['steps']:.2f} s in the batch's first "
                           "pass: the process-wide walks shared by every compiled schema stay "
                           "warm, so this pass is a lower bound")  # fmt: skip
        lines += ["", f"Which rows pay structgen's first visit (a separate pass over the "
                  f"{attribution['rows']} rows, compiled cold again, each row's fill timed on "
                  f"its own; {attribution['seconds']:.2f} s in all{batch_first}): "
                  f"{top}."]  # fmt: skip
    if rejected:
        lines += ["", f"Instance tokens an engine refused during the passes: {rejected} (the "
                  "row then restarted in both)."]  # fmt: skip
    apply = results["apply"]
    lines += [
        "",
        f"**Apply kernels**: float32 logits [B, {apply['vocab_size']}] masked in place, "
        f"{apply['repeat']} calls per size (fresh logits each, not timed), every kernel's "
        "output equal to the numpy reference first; µs per row (call time / B), p50; torch "
        f"on {config['torch_threads']} thread(s) (with torch's default two threads on this "
        "busy machine the torch apply took ~100 ms per call).",
        "",
        *_apply_lines(results),
        *_model_lines(results),
        "",
        f"![fill time against batch size]({config.get('out', 'benchmarks/results')}/batch.png)",
    ]
    return "\n".join(lines) + "\n"


def plot_results(results: dict[str, Any], path: Path) -> Path | None:
    """Fill time per call (p50, with p99 as a dotted line) against batch size, log axes."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    records = [r for r in results["fill"] if "passes" in r]
    if not records:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    colors = {"structgen": "#d62728", "xgrammar": "#1f77b4"}
    sizes = [r["batch"] for r in records]
    for engine, color in colors.items():
        for name, style, marker in (("first", "-", "^"), ("warm", "--", "v")):
            seconds = [r["passes"][name]["engines"][engine]["seconds"] for r in records]
            ax.plot(sizes, [s["p50"] * 1e3 for s in seconds], style, marker="o", color=color,
                    label=f"{engine} {name} p50")  # fmt: skip
            ax.plot(sizes, [s["p99"] * 1e3 for s in seconds], ":", marker=marker, color=color,
                    alpha=0.5, label=f"{engine} {name} p99")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(size) for size in sizes])
    ax.set_yscale("log")
    ax.set_xlabel("batch size (rows, one schema each)")
    ax.set_ylabel("fill time per call (ms)")
    ax.set_title(f"batch mask fill, {results['tokenizer']['title']}", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    return save_figure(fig, path)
