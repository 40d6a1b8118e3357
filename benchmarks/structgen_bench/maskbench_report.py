"""MaskBench's markdown section (``BENCHMARKS.md``) and plot.

The JSON file and the marked-section mechanics are :mod:`structgen_bench.report`'s. Ratios are
``structgen ÷ peer`` over the schemas both engines passed (the same token walks on both sides).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from structgen_bench.maskbench_plots import DISTRIBUTIONS_PNG, plot_distributions
from structgen_bench.maskbench_sections import (
    render_fresh_start,
    render_second_and_memory,
    render_targets,
    spread,
)
from structgen_bench.report import (
    ENGINE_COLORS,
    OURS,
    run_line,
    save_figure,
    short_text,
)

__all__ = ["render_markdown", "plot_results"]

_ERROR_KINDS = (
    ("compile_errors", "compile"),
    ("validation_errors", "validation"),
    ("invalidation_errors", "invalidation"),
    ("other_errors", "other"),
)


def _ratio(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}×"
    if value >= 10:
        return f"{value:.1f}×"
    return f"{value:.2f}×" if value >= 0.1 else f"{value:.2g}×"


def _engines(results: dict[str, Any]) -> list[str]:
    """The engines that ran, in the configured order."""
    return [e for e in results["config"]["engines"] if results["engines"][e]["status"] == "ok"]


def _counts_cells(entry: dict[str, Any]) -> list[str]:
    compile_errors = str(entry["compile_errors"])
    if entry["timeouts"]:
        compile_errors += f" ({entry['timeouts']} t/o)"
    return [
        str(entry["schemas"]),
        str(entry["compiled"]),
        compile_errors,
        str(entry["validation_errors"]),
        str(entry["invalidation_errors"]),
        str(entry["other_errors"]),
        f"**{entry['passing']}**",
    ]


_TTFM_KEYS = ("p50", "p90", "p99", "max")
_TBM_KEYS = ("p50", "p99", "max")


def _time_cells(entry: dict[str, Any]) -> list[str]:
    return [spread(entry.get("ttfm"), "ms", _TTFM_KEYS), spread(entry.get("tbm"), "us", _TBM_KEYS)]


_HEADER = ("schemas", "compiled", "compile errors", "validation errors", "invalidation errors",
           "other errors", "passing", "TTFM p50 / p90 / p99 / max (ms)",
           "TBM p50 / p99 / max (µs)")  # fmt: skip


def _table(add: Any, first: str, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    add(f"| {first} | engine | " + " | ".join(_HEADER) + " |")
    add("|---|---|" + "---:|" * len(_HEADER))
    for group, engine, entry in rows:
        add(f"| {group} | {engine} | " + " | ".join(_counts_cells(entry) + _time_cells(entry))
            + " |")  # fmt: skip


def render_markdown(results: dict[str, Any]) -> str:
    """The markdown section (without its markers) for one MaskBench run."""
    config = results["config"]
    engines = _engines(results)
    summary = results.get("summary", {})
    lines: list[str] = []
    add = lines.append
    add("## MaskBench (JSON Schema)")
    add("")
    tokenizer = results["tokenizer"]
    add(run_line(results))
    sample = (f"{config['sample']} schemas per subset (seed {config['seed']})"
              if config.get("sample") else "every schema")  # fmt: skip
    out = config.get("out") or "benchmarks/results"
    add(f"Command: `{config.get('command') or 'structgen bench maskbench'}` ({sample} of "
        f"`{config['data_dir']}`; tokenizer {tokenizer['title']}, V = "
        f"{tokenizer['vocab_size']:,}; compile timeout {config['timeout_s']:g} s; "
        f"{config['isolation']}). Raw numbers: `{out}/maskbench.json`; plots: "
        f"`{out}/maskbench.png` and the TTFM and TBM distributions "
        f"`{out}/{DISTRIBUTIONS_PNG}` (below).{_wall_time(results)}")  # fmt: skip
    add("")
    add(
        f"The MaskBench protocol: each schema is compiled cold and its first mask computed — "
        f"together the **TTFM** (time to first mask) — then each test instance, serialised with "
        f"`{config['serialisation']}` and tokenized once for all engines (Hugging Face tokenizer "
        "of the GGUF file, `add_special_tokens=False`), is fed token by token: fill the mask "
        "(timed: **TBM**, time between masks, every fill including the final one), check that "
        "the token is in the mask, advance; at the end EOS must be in the mask. Per schema: "
        "**compile error** (the engine refused the schema, or its TTFM passed the timeout: the "
        "worker process is killed), **validation error** (a valid instance rejected, or not "
        "accepted at its end), **invalidation error** (an invalid instance accepted to its "
        "end), **other** (mask and `advance` disagreeing on a token — every token is also "
        "offered to `advance`, and at the end EOS is compared with the engine's own accepting "
        "query — an exception while walking, or the walk budget exhausted). **Passing** = "
        "compiled with none of these. Columns count schemas; TTFM percentiles are over the "
        "compiled schemas, TBM percentiles over every mask of their walks (an engine's own "
        "schemas: the `÷` rows compare like with like)."
    )
    add("")
    if "all" in summary:
        total_tests = sum(i["tests_valid"] + i["tests_invalid"]
                          for i in results["subsets"].values())  # fmt: skip
        add(f"### All subsets ({summary['all'][engines[0]]['schemas'] if engines else 0} "
            f"schemas, {total_tests:,} test instances)")  # fmt: skip
        add("")
        _table(add, "subsets", [("all", e, summary["all"][e]) for e in engines])
        add("")
        _ratios(results, add)
        add(f"![TTFM and TBM distributions, all engines, log axes]({out}/{DISTRIBUTIONS_PNG})")
        add("")
        render_second_and_memory(results, add)
    render_fresh_start(results, add)
    if "all" in summary:
        render_targets(results, add)
    add("### Per subset")
    add("")
    rows = [(subset, engine, summary[subset][engine])
            for subset in config["subsets"] if subset in summary for engine in engines]  # fmt: skip
    _table(add, "subset", rows)
    add("")
    add("<details><summary>structgen ÷ peer per subset, over the schemas both pass</summary>")
    add("")
    compared = results.get("comparisons", {})
    _ratio_table(results, add, [s for s in config["subsets"] if s in compared])
    add("</details>")
    add("")
    _options(results, add)
    _structgen_failures(results, add)
    _peer_failures(results, add)
    return "\n".join(lines) + "\n"


def _wall_time(results: dict[str, Any]) -> str:
    """The sentence on the run's wall time, or "" for a run that did not record it."""
    wall = results.get("wall_seconds")
    if not wall:
        return ""
    schemas = sum(1 for r in results["results"] if r["engine"] == results["config"]["engines"][0])
    each = wall["schemas"] / schemas if schemas else 0.0
    return (f" Wall time: {wall['schemas'] / 60:.1f} min for the schemas ({each:.1f} s per "
            f"schema, all engines, worker set-up included), {wall['fresh_start'] / 60:.1f} min "
            "for the fresh-process runs.")


def _ratio_table(results: dict[str, Any], add: Any, groups: list[str]) -> None:
    add("| subsets | peer | schemas both pass | TTFM p50 | TTFM p99 | TBM p50 | TBM p99 |")
    add("|---|---|---:|---:|---:|---:|---:|")
    for group in groups:
        for peer, entry in results["comparisons"][group].items():
            cells = [_ratio(entry.get(k)) for k in ("ttfm_p50_ratio", "ttfm_p99_ratio",
                                                    "tbm_p50_ratio", "tbm_p99_ratio")]  # fmt: skip
            add(f"| {group} | {peer} | {entry['schemas']} | " + " | ".join(cells) + " |")
    add("")


def _ratios(results: dict[str, Any], add: Any) -> None:
    comparisons = results.get("comparisons", {}).get("all")
    if not comparisons:
        return
    add("structgen ÷ peer over the schemas both engines pass (below 1: structgen is faster):")
    add("")
    _ratio_table(results, add, ["all"])


def _options(results: dict[str, Any], add: Any) -> None:
    add("What each engine ran with:")
    add("")
    for name, info in results["engines"].items():
        if info["status"] != "ok":
            add(f"- **{name}**: not run ({short_text(info.get('reason'))}).")
            continue
        options = ", ".join(f"{k}={v!r}" for k, v in (info.get("options") or {}).items())
        add(f"- **{name}** {info['version']}: options {options}. Cold compile = "
            f"{info['cold_compile']}. Vocabulary set-up (not timed): "
            f"{info['prepare']}.")  # fmt: skip
    where = ("in its own worker process" if results["config"]["isolation"] != "in-process"
             else "in the benchmark's process (timeouts counted, not enforced)")  # fmt: skip
    add(f"- Each engine runs {where}, set up and warmed up once (a small schema compiled and "
        "masked); each schema goes to the engines one after the other, so a change of load on "
        "the machine hits every engine alike. Times are taken around the engine calls alone, "
        "garbage collector paused.")  # fmt: skip
    dropped = sum(len(i.get("dropped_tests", ())) for i in results["subsets"].values())
    if dropped:
        add(f"- {dropped} test instances could not be tokenized to exactly their text and were "
            "left out for every engine.")  # fmt: skip
    add("")


def _failure_line(record: dict[str, Any], failure: dict[str, Any]) -> str:
    where = f"{record['subset']}/{record['file']} test {failure['test']}"
    validity = "valid" if failure["valid"] else "invalid"
    at = ""
    if "step" in failure:
        tail = failure["prefix_tail"][-50:]
        at = f" at token {failure['step']} {failure['token']} after …`{tail}`"
    return short_text(f"{where} ({validity}, {failure['kind']}): {failure['what']}{at}; instance "
                  f"`{failure['instance'][:160]}`", 700)  # fmt: skip


def _structgen_failures(results: dict[str, Any], add: Any) -> None:
    ours = [r for r in results["results"] if r["engine"] == OURS]
    if not ours:
        return
    broken = [r for r in ours if r["compiled"] and not r["passing"]]
    if broken:
        add("**structgen errors on compiled schemas** (schema, test: what happened):")
        add("")
        for record in broken:
            if not record["failures"]:
                add(f"- {record['subset']}/{record['file']}: {record['status']}: "
                    f"{short_text(record.get('error'))}")  # fmt: skip
            for failure in record["failures"]:
                add("- " + _failure_line(record, failure))
            if record.get("warnings"):
                add(f"  - structgen's warnings on this schema: "
                    f"{short_text('; '.join(record['warnings']), 400)}")  # fmt: skip
        add("")
    else:
        add("**structgen errors on compiled schemas**: none — every valid instance accepted, "
            "every invalid one rejected, mask and advance always agreeing.")  # fmt: skip
        add("")
    refused = [r for r in ours if not r["compiled"]]
    if refused:
        reasons = Counter(_reason(r) for r in refused)
        add(f"**structgen compile errors** ({len(refused)} schemas, by reason):")
        add("")
        for reason, count in reasons.most_common():
            files = [f"{r['subset']}/{r['file']}" for r in refused if _reason(r) == reason][:3]
            add(f"- {count} × {reason} (e.g. {', '.join(files)})")
        add("")


def _reason(record: dict[str, Any]) -> str:
    """A compile error's gist: its first line without the specifics after a colon."""
    error = (record.get("error") or record["status"]).split("\n", 1)[0]
    if record["status"] == "timeout":
        return "timeout"
    return short_text(error, 140)


def _error_kinds(record: dict[str, Any]) -> list[str]:
    """The kinds of error a compiled schema had (none when it did not compile)."""
    if not record["compiled"]:
        return []
    labels = (
        ("validation_errors", "validation"),
        ("invalidation_errors", "invalidation"),
        ("disagreements", "mask/advance disagreement"),
        ("exceptions", "exception while walking"),
        ("unwalked", "instances not walked"),
    )
    kinds = [label for key, label in labels if record[key]]
    if record["status"] not in ("ok", "walk timeout") and not kinds:
        kinds.append(record["status"])
    return kinds


def _peer_failures(results: dict[str, Any], add: Any) -> None:
    peers = [e for e in _engines(results) if e != OURS]
    if not peers:
        return
    add("**Peers' errors** (schemas with each kind of error; first examples):")
    add("")
    for peer in peers:
        records = [r for r in results["results"] if r["engine"] == peer]
        kinds = Counter(kind for r in records for kind in _error_kinds(r))
        refused = Counter(_reason(r) for r in records if not r["compiled"])
        parts = [f"{n} × {k}" for k, n in kinds.most_common()]
        head = f"- **{peer}**: " + (", ".join(parts) if parts else "no errors on compiled schemas")
        if refused:
            head += "; compile errors: " + "; ".join(
                f"{n} × {short_text(k, 90)}" for k, n in refused.most_common(4)
            )
        add(head)
        shown = [(r, r["failures"][0]) for r in records if r["failures"]][:3]  # 3 schemas
        for record, failure in shown:
            add("  - " + _failure_line(record, failure))
    add("")


def plot_results(results: dict[str, Any], path: Path) -> Path | None:
    """Passing schemas per subset, errors per engine, TTFM and TBM distributions into
    ``path``, and the distributions on log axes beside it (:data:`DISTRIBUTIONS_PNG`);
    ``None`` without matplotlib."""
    plot_distributions(results, path.with_name(DISTRIBUTIONS_PNG))
    return _plot_overview(results, path)


def _plot_overview(results: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    engines = _engines(results)
    summary = results.get("summary", {})
    subsets = [s for s in results["config"]["subsets"] if s in summary]
    if not engines or not subsets:
        return None
    fig, axes = plt.subplots(2, 2, figsize=(17, 10))
    width = 0.8 / len(engines)

    ax = axes[0][0]
    for i, engine in enumerate(engines):
        xs = [k + (i - (len(engines) - 1) / 2) * width for k in range(len(subsets))]
        shares = [100.0 * summary[s][engine]["passing"] / max(1, summary[s][engine]["schemas"])
                  for s in subsets]  # fmt: skip
        ax.bar(xs, shares, width, label=engine, color=ENGINE_COLORS.get(engine))
    ax.set_xticks(range(len(subsets)))
    ax.set_xticklabels(subsets, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("% of schemas")
    ax.set_ylim(0, 118)
    ax.set_yticks(range(0, 101, 20))
    ax.set_title("passing schemas (compiled, no error) — higher is better", fontsize=10)
    ax.legend(fontsize=8, ncol=len(engines), loc="upper center")
    ax.grid(axis="y", alpha=0.3)

    ax = axes[0][1]
    bottoms = np.zeros(len(engines))
    shades = ("#7f7f7f", "#ff7f0e", "#8c564b", "#bcbd22")
    for (key, label), shade in zip(_ERROR_KINDS, shades):
        values = np.array([summary["all"][e][key] for e in engines], dtype=float)
        ax.bar(range(len(engines)), values, 0.6, bottom=bottoms, label=label, color=shade)
        bottoms += values
    ax.set_ylim(0, max(1.0, float(bottoms.max())) * 1.12)
    ax.set_xticks(range(len(engines)))
    ax.set_xticklabels(engines, fontsize=9)
    ax.set_ylabel("schemas")
    total = summary["all"][engines[0]]["schemas"]
    ax.set_title(f"schemas with errors, all {total} schemas (a schema may count in several "
                 "kinds) — lower is better", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)

    ax = axes[1][0]
    for engine in engines:
        values = sorted(r["ttfm_ms"] for r in results["results"]
                        if r["engine"] == engine and r["compiled"] and r["ttfm_ms"])  # fmt: skip
        if values:
            ys = 100.0 * np.arange(1, len(values) + 1) / summary["all"][engine]["schemas"]
            ax.step(values, ys, where="post", label=f"{engine} ({len(values)} compiled)",
                    color=ENGINE_COLORS.get(engine))  # fmt: skip
    ax.set_xscale("log")
    ax.set_ylim(0, 102)
    ax.set_xlabel("time to first mask (ms), log scale")
    ax.set_ylabel("% of all schemas compiled within that time")
    ax.set_title("TTFM distribution (a curve ends at the engine's share of compiled schemas) "
                 "— higher and further left is better", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(which="both", alpha=0.3)

    ax = axes[1][1]
    for engine in engines:
        quantiles = summary["all"][engine].get("tbm_quantiles")
        if quantiles:
            ax.plot(quantiles["us"], quantiles["q"], label=engine,
                    color=ENGINE_COLORS.get(engine))  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("time between masks (µs), log scale")
    ax.set_ylabel("percentile of the engine's masks")
    ax.set_title("TBM distribution (every mask of every walk) — further left is better",
                 fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(which="both", alpha=0.3)

    machine, config = results["machine"], results["config"]
    sample = f"{config['sample']} per subset" if config.get("sample") else "all schemas"
    fig.suptitle(
        f"structgen bench maskbench — {results['tokenizer']['title']} — {sample} — "
        f"{machine['timestamp']} — {machine['cpu']}",
        fontsize=10,
    )
    return save_figure(fig, path)
