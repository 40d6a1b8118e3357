"""The grammar benchmark's markdown section (``BENCHMARKS.md``) and plot.

The JSON file and the marked-section mechanics are :mod:`structgen_bench.report`'s. Ratios are
``structgen ÷ best peer`` of the same run, the peers being xgrammar and llguidance on the same
grammar (their builtin JSON grammars are shown, not counted: another grammar).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from structgen_bench.report import OURS, fmt_value, run_line, save_figure, short_text

__all__ = ["render_markdown", "plot_results", "COLUMNS", "metric"]

PEERS = ("xgrammar", "llguidance")

# column key -> (header, unit)
COLUMNS: dict[str, tuple[str, str]] = {
    "compile": ("cold compile", "ms"),
    "ttfm": ("compile + 1st mask", "ms"),
    "p50": ("mask p50", "µs"),
    "p99": ("mask p99", "µs"),
    "max": ("mask max", "µs"),
    "mean": ("mask mean", "µs"),
    "doc": ("per-doc mean, median doc", "µs"),
    "warm": ("warm mean", "µs"),
    "memory": ("memory", "KiB"),
}


def metric(row: dict[str, Any] | None, key: str) -> float | None:
    """One column's value of a result row (``None`` when the row has none)."""
    if not row or row.get("status") != "ok" or not row.get("mask", {}).get("n"):
        return None
    if key == "compile":
        return row.get("compile", {}).get("median_ms")
    if key == "ttfm":
        return row.get("time_to_first_mask", {}).get("median_ms")
    if key in ("p50", "p99", "max", "mean"):
        return row["mask"].get(f"{key}_us")
    if key == "doc":
        return row.get("per_document", {}).get("p50_us")
    if key == "warm":
        return row.get("mask_warm", {}).get("mean_us")
    if key == "memory":
        value = row.get("memory_bytes")
        return None if value is None or value <= 0 else value / 1024.0
    raise KeyError(key)


def _ratio(value: float) -> str:
    return f"{value:.2f}×" if value >= 0.1 else f"{value:.2g}×"


def _index(results: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["tokenizer"], r["engine"], r["grammar"]): r for r in results["results"]}


def _best_peer(index: dict, tokenizer: str, grammar: str, key: str) -> float | None:
    values = [metric(index.get((tokenizer, p, grammar)), key) for p in PEERS]
    values = [v for v in values if v is not None]
    return min(values) if values else None


def _status(row: dict[str, Any] | None) -> str:
    if row is None:
        return "—"
    status = row.get("status")
    if status == "not installed":
        return "not installed"
    if status == "not expressible":
        return "grammar not expressible"
    if status == "n/a":
        return "n/a"
    return "error"


def _docs_cell(row: dict[str, Any]) -> str:
    check = row.get("correctness", {})
    text = f"{check.get('passed', 0)}/{check.get('documents', 0)}"
    if check.get("skipped_time_budget"):
        text += f" ({check['skipped_time_budget']} over budget)"
    return text


def render_markdown(results: dict[str, Any]) -> str:
    """The markdown section (without its markers) for one grammar benchmark run."""
    config = results["config"]
    engines = list(config["engines"])
    index = _index(results)
    lines: list[str] = []
    add = lines.append
    add("## Grammar benchmark")
    add("")
    add(run_line(results, hide="builtin"))
    add(f"Command: `{config.get('command') or 'structgen bench grammar'}` (cold compiles: "
        f"{config['repeat']}; time budget per pass: {config['budget_s']:g} s). Raw numbers: "
        "`benchmarks/results/grammar.json`; plot: `benchmarks/results/grammar.png`.")  # fmt: skip
    add("")
    add("Documents:")
    add("")
    for name, info in results["grammars"].items():
        kinds = info.get("kinds")
        if kinds:
            what = (f"{kinds['instance']} valid test instances and {kinds['schema']} schema "
                    f"files of JSONSchemaBench (≤ {info['max_bytes']} bytes, `json.dumps`, "
                    f"seed {info['seed']})")  # fmt: skip
        else:
            what = "hand-written corpus, each checked with lark's Earley parser"
        tokens = "; ".join(
            f"{results['tokenizers'][t]['title']}: "
            f"{results['tokenizers'][t]['documents'][name]['tokens_total']:,} tokens"
            for t in config["tokenizers"]
            if results["tokenizers"].get(t, {}).get("status") == "ok"
        )
        add(f"- **{name}**: {info['documents']} documents, {what}; mean {info['bytes_mean']:.0f} "
            f"bytes, max {info['bytes_max']:,}; {tokens}.")  # fmt: skip
    add("")
    add(
        "Each document is fed token by token (tokenized exactly as the regex benchmark does): "
        "fill the mask (timed: one `fill_next_token_bitmask` or the engine's equivalent into an "
        "int32 `[1, ceil(V/32)]` numpy array, garbage collector paused), check that the next "
        "token is allowed, advance; EOS must be allowed at the end. An engine that refuses a "
        "document's token has an error recorded for that document (see the failures) and the "
        "document leaves every row's statistics. **mask p50/p99/max/mean** are over every step "
        "of the first pass over the documents, on one compiled grammar: masks an engine computes "
        "once and memoises (structgen: the mask of each new parser configuration) are paid there, "
        "at their first use. **per-doc** is the median over documents of each document's mean "
        "mask time per token. **warm mean** is a second pass over the same documents on the same "
        "compiled grammar (memo tables warm). A slow engine stops after the time budget; its row "
        "then covers the first documents only (`over budget`)."
    )
    add("")
    for tokenizer in config["tokenizers"]:
        info = results["tokenizers"].get(tokenizer, {})
        title = info.get("title", tokenizer)
        if info.get("status") != "ok":
            add(f"### {title}: not run ({short_text(info.get('error'))})")
            add("")
            continue
        add(f"### {title} (V = {info['vocab_size']:,})")
        add("")
        header = ["grammar", "engine", "docs ok"] + [f"{h} ({u})" for h, u in COLUMNS.values()]
        add("| " + " | ".join(header) + " |")
        add("|---|---|---|" + "---:|" * len(COLUMNS))
        for grammar in config["grammars"]:
            for engine in engines:
                row = index.get((tokenizer, engine, grammar))
                if row is None or row.get("status") == "n/a":
                    continue
                label = engine if "builtin" not in engine else f"*{engine} (own JSON grammar)*"
                if metric(row, "p50") is None:
                    reason = _status(row)
                    add(f"| {grammar} | {label} | {reason} |" + " — |" * len(COLUMNS))
                    continue
                cells = [fmt_value(metric(row, key)) for key in COLUMNS]
                add(f"| {grammar} | {label} | {_docs_cell(row)} | " + " | ".join(cells) + " |")
            ours = index.get((tokenizer, OURS, grammar))
            if OURS in engines and metric(ours, "p50") is not None:
                ratios = []
                for key in COLUMNS:
                    value, best = metric(ours, key), _best_peer(index, tokenizer, grammar, key)
                    ratios.append(f"**{_ratio(value / best)}**" if value and best else "—")
                add(f"| {grammar} | structgen ÷ best peer | | " + " | ".join(ratios) + " |")
        add("")
    add("Ratios below 1: structgen is faster or smaller than the better of xgrammar and "
        "llguidance on that grammar (their builtin JSON grammars are shown for reference, not "
        "counted as peers: they are other grammars).")  # fmt: skip
    add("")
    _what_is_measured(results, add)
    _failures(results, add)
    _differences(results, add)
    return "\n".join(lines) + "\n"


def _what_is_measured(results: dict[str, Any], add: Any) -> None:
    add("What each engine compiles and what its cold compile means:")
    add("")
    for name, info in results["engines"].items():
        add(f"- **{name}**: reads {info['grammar_form']}. Cold compile = {info['cold_compile']}. "
            f"Vocabulary set-up (not in compile time): {info['prepare']}.")  # fmt: skip
    add("- Before measuring, each engine compiles and masks a tiny grammar once per vocabulary "
        "(warm-up: JIT compilation, token tries). Memory is the C heap's growth (glibc "
        "`mallinfo2`) from before the compile to after the first pass, compiled object "
        "alive.")  # fmt: skip
    changes = {n: g.get("llguidance_changes") for n, g in results["grammars"].items()}
    if any(changes.values()):
        add("- llguidance's Lark regexes are Unicode-aware (`\\w`, `\\d`, `\\s`, the `i` flag), "
            "the grammars' are ASCII: each `/regex/` literal is re-printed with explicit ASCII "
            "classes (e.g. `" + short_text(next(c for v in changes.values() if v for c in v), 160)
            + "`); nothing else of the files changes.")  # fmt: skip
    add("")


def _failures(results: dict[str, Any], add: Any) -> None:
    rows = [r for r in results["results"]
            if r.get("status") == "error" or r.get("correctness", {}).get("failed")]  # fmt: skip
    if not rows:
        add("**Failures**: none; every engine allowed every token of every document it walked, "
            "and EOS at the end.")  # fmt: skip
        add("")
        return
    add("**Failures** (vocabulary / grammar / engine: documents refused; first refusals):")
    add("")
    for r in rows:
        check = r.get("correctness", {})
        head = f"- {r['tokenizer']} / {r['grammar']} / {r['engine']}: "
        if not check:
            add(head + short_text(r.get("error")))
            continue
        examples = "; ".join(
            f"{f['source']} step {f.get('step', '?')}: {f['what']}"
            + (f" ({f['token_bytes']} after …{f['prefix_tail']})" if "token_bytes" in f else "")
            for f in check.get("failures", [])[:3]
        )
        refused = f"{check['failed']} of {check['documents']} refused: "
        add(head + refused + short_text(examples, 700))
    add("")


def _differences(results: dict[str, Any], add: Any) -> None:
    rows = [a for a in results.get("mask_agreement", []) if a["equal"] != a["steps"]]
    checked = {a["grammar"] for a in results.get("mask_agreement", [])}
    if not rows:
        if checked:
            add("**Mask differences**: none; every engine allowed the same tokens as structgen at "
                "every compared step (EOS and special tokens aside).")  # fmt: skip
        return
    add("**Mask differences** against structgen, over every step of the first "
        f"{results['config']['check_docs']} documents of each grammar (EOS and special tokens "
        "aside). Tokens allowed by one side only are judged by an independent oracle (a "
        "character-level Earley recogniser over the grammar IR, `structgen_bench.grammar_oracle`: "
        "is the text so far plus the token still a prefix of the language?). *valid* tokens "
        "that one side masks are completeness gaps of that side (or a deliberate narrowing); "
        "*invalid* tokens allowed are soundness errors.")  # fmt: skip
    add("")
    for a in rows:
        engine, ref = a["engine"], a["reference"]
        parts = [f"{a['equal']} of {a['steps']} steps equal"]
        for side, who in ((f"only_{ref}", ref), (f"only_{engine}", engine)):
            counts = a["judged"].get(side, {})
            if counts.get("valid") or counts.get("invalid") or counts.get("unjudged"):
                text = f"tokens only {who} allowed: {counts.get('valid', 0)} valid"
                if counts.get("valid_whitespace"):
                    text += f" ({counts['valid_whitespace']} of them whitespace only)"
                text += f", {counts.get('invalid', 0)} invalid"
                if counts.get("unjudged"):
                    text += f", {counts['unjudged']} not judged"
                parts.append(text)
        example = next(iter(a.get("invalid_examples") or []), None)
        if example:
            parts.append(f"**invalid** e.g. {example['bytes']} after …{example['prefix_tail']} "
                         f"({example['source']} step {example['step']})")  # fmt: skip
        first = (a.get("examples") or [None])[0]
        if first:
            shown = {k: [t[1] for t in v[:3]] for k, v in first.items() if k.startswith("only_")}
            parts.append(f"first at {first['source']} step {first['step']} after "
                         f"…{first['prefix_tail']}: {json.dumps(shown)}")  # fmt: skip
        add(f"- {a['tokenizer']} / {a['grammar']} / {engine}: " + short_text("; ".join(parts), 900))
    add("")


def plot_results(results: dict[str, Any], path: Path) -> Path | None:
    """Bars per grammar (one per engine), log scale: mask mean, p99, p50, compile; per
    vocabulary. ``None`` without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = results["config"]
    tokenizers = [t for t in config["tokenizers"]
                  if results["tokenizers"].get(t, {}).get("status") == "ok"]  # fmt: skip
    if not tokenizers:
        return None
    index = _index(results)
    engines = list(config["engines"])
    grammars = list(config["grammars"])
    keys = ("mean", "p99", "p50", "compile")
    fig, axes = plt.subplots(len(tokenizers), len(keys), figsize=(5.2 * len(keys),
                             3.8 * len(tokenizers)), squeeze=False)  # fmt: skip
    colors = {"structgen": "#d62728", "xgrammar": "#1f77b4", "llguidance": "#9467bd",
              "xgrammar-builtin": "#aec7e8", "llguidance-builtin": "#c5b0d5"}  # fmt: skip
    width = 0.8 / max(1, len(engines))
    for row_axes, tokenizer in zip(axes, tokenizers):
        for ax, key in zip(row_axes, keys):
            label, unit = COLUMNS[key]
            for i, engine in enumerate(engines):
                xs, heights = [], []
                for k, grammar in enumerate(grammars):
                    value = metric(index.get((tokenizer, engine, grammar)), key)
                    if value is not None and value > 0:
                        xs.append(k + (i - (len(engines) - 1) / 2) * width)
                        heights.append(value)
                ax.bar(xs, heights, width, label=engine, color=colors.get(engine))
            ax.set_yscale("log")
            ax.set_title(f"{results['tokenizers'][tokenizer]['title']}: {label} ({unit})",
                         fontsize=9)  # fmt: skip
            ax.set_xticks(range(len(grammars)))
            ax.set_xticklabels(grammars, rotation=15, fontsize=8)
            ax.grid(axis="y", which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(
        f"structgen bench grammar — lower is better — first pass over the documents "
        f"(memoised masks paid at first use) — {results['machine']['timestamp']} — "
        f"{results['machine']['cpu']}",
        fontsize=10,
    )
    return save_figure(fig, path)

