"""The regex benchmark's markdown section (``BENCHMARKS.md``) and plot.

The JSON file and the marked-section mechanics are :mod:`structgen_bench.report`'s. Ratios are
``structgen ÷ best peer`` of the same run (below 1 means structgen is faster or smaller).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from structgen_bench.report import (
    ENGINE_COLORS,
    OURS,
    fmt_value,
    run_line,
    save_figure,
    short_text,
)

__all__ = ["render_markdown", "plot_results", "summary_rows", "common_patterns", "METRICS"]

# metric key -> (label, unit)
METRICS: dict[str, tuple[str, str]] = {
    "mask_p50": ("mask p50", "µs"),
    "mask_p99": ("mask p99", "µs"),
    "compile": ("cold compile", "ms"),
    "ttfm": ("compile + first mask", "ms"),
    "memory": ("memory", "KiB"),
}


def _metric(row: dict[str, Any], metric: str) -> float | None:
    if row.get("status") != "ok":
        return None
    if metric == "mask_p50":
        return row.get("mask", {}).get("p50_us")
    if metric == "mask_p99":
        return row.get("mask", {}).get("p99_us")
    if metric == "compile":
        return row.get("compile", {}).get("median_ms")
    if metric == "ttfm":
        return row.get("time_to_first_mask", {}).get("median_ms")
    if metric == "memory":
        value = row.get("memory_bytes")
        return None if value is None or value <= 0 else value / 1024.0
    raise KeyError(metric)


def _geomean(values: Iterable[float | None]) -> float | None:
    logs = [math.log(v) for v in values if v is not None and v > 0]
    return math.exp(sum(logs) / len(logs)) if logs else None


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _index(results: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["tokenizer"], r["engine"], r["pattern"]): r for r in results["results"]}


def _engines(results: dict[str, Any]) -> list[str]:
    return list(results["config"]["engines"])


def _peers(results: dict[str, Any]) -> list[str]:
    return [e for e in _engines(results) if e != OURS]


def common_patterns(results: dict[str, Any], tokenizer: str) -> list[str]:
    """Patterns on which every engine that succeeded at least once on ``tokenizer`` succeeded.

    Summaries are taken over these only, so that an engine failing a pattern does not shift
    its average against the others'.
    """
    index = _index(results)
    patterns = results["config"]["patterns"]

    def ok(engine: str, pattern: str) -> bool:
        return index.get((tokenizer, engine, pattern), {}).get("status") == "ok"

    active = [e for e in _engines(results) if any(ok(e, p) for p in patterns)]
    return [p for p in patterns if active and all(ok(e, p) for e in active)]


def summary_rows(results: dict[str, Any], metric: str) -> dict[str, dict[str, Any]]:
    """Per tokenizer: geometric mean over the common patterns per engine, and the ratio.

    The ratio is the geometric mean over the same patterns of structgen's value divided by the
    best peer's value on that pattern.
    """
    index = _index(results)
    out: dict[str, dict[str, Any]] = {}
    for tokenizer in results["config"]["tokenizers"]:
        patterns = common_patterns(results, tokenizer)
        per_engine: dict[str, Any] = {}
        for engine in _engines(results):
            values = [_metric(index.get((tokenizer, engine, p), {}), metric) for p in patterns]
            complete = all(v is not None for v in values)
            per_engine[engine] = {"value": _geomean(values) if complete else None}
        ratios = []
        for p in patterns:
            ours = _metric(index.get((tokenizer, OURS, p), {}), metric)
            peers = [_metric(index.get((tokenizer, e, p), {}), metric) for e in _peers(results)]
            peers = [v for v in peers if v is not None]
            if ours is not None and peers:
                ratios.append(ours / min(peers))
        out[tokenizer] = {
            "engines": per_engine,
            "ratio": _geomean(ratios),
            "patterns": patterns,
        }
    return out


def _cell(entry: dict[str, Any]) -> str:
    return fmt_value(entry["value"])


def _status_cell(row: dict[str, Any] | None) -> str | None:
    if row is None:
        return "—"
    if row.get("status") == "not installed":
        return "n/i"
    if row.get("status") != "ok":
        return "error"
    return None


def render_markdown(results: dict[str, Any]) -> str:
    """The markdown section (without its markers) for one regex benchmark run."""
    config = results["config"]
    engines = _engines(results)
    lines: list[str] = []
    add = lines.append
    add("## Regex benchmark")
    add("")
    add(run_line(results))
    add(
        f"Command: `{config.get('command') or 'structgen bench regex'}` "
        f"(repeat {config['repeat']}; patterns: {', '.join(config['patterns'])}). "
        "Raw numbers: `benchmarks/results/regex.json`; plot: `benchmarks/results/regex.png`."
    )
    add("")
    add(
        "Mask time is one `fill_next_token_bitmask` (or the engine's equivalent) into an int32 "
        "`[1, ceil(V/32)]` numpy array, per token of valid example strings tokenized by the real "
        "tokenizer, plus the final (EOS) step; the garbage collector is paused; each engine is "
        "driven through its lowest-overhead call. Every token was first checked to be allowed "
        "by each engine's mask (and EOS at the end) before anything was timed. Values are "
        "geometric means over the patterns that every engine passed; `structgen ÷ best peer` "
        "is the geometric mean over those patterns of structgen's value divided by the best "
        "peer's on that pattern (below 1: structgen is faster/smaller)."
    )
    add("")
    methods = {r.get("memory_method") for r in results["results"] if r.get("status") == "ok"}
    add(
        "Memory: "
        + ("; ".join(sorted(m for m in methods if m)) or "not measured")
        + ". Compile times are medians of repeated cold compiles."
    )
    add("")
    header = "| vocabulary | metric | " + " | ".join(engines) + " | structgen ÷ best peer |"
    add(header)
    add("|---|---|" + "---:|" * len(engines) + "---:|")
    summaries = {m: summary_rows(results, m) for m in METRICS}
    for tokenizer in config["tokenizers"]:
        info = results["tokenizers"].get(tokenizer, {})
        title = info.get("title", tokenizer)
        if info.get("status") != "ok":
            add(f"| {title} | — | " + " | ".join("—" for _ in engines) + " | — |")
            continue
        shared = summaries["mask_p50"][tokenizer]["patterns"]
        if len(shared) < len(config["patterns"]):
            title = f"{title} ({len(shared)} of {len(config['patterns'])} patterns)"
        for metric, (label, unit) in METRICS.items():
            row = summaries[metric][tokenizer]
            cells = [_cell(row["engines"][e]) for e in engines]
            ratio = _ratio(row["ratio"]) if OURS in engines else "—"
            add(f"| {title} | {label} ({unit}) | " + " | ".join(cells) + f" | {ratio} |")
    add("")
    add(
        "Summaries cover the patterns on which every engine that ran succeeded (`k of n "
        "patterns` when some failed: see the failures below and the per-pattern table)."
    )
    add("")

    add("<details><summary>Per pattern: mask time p50 / p99 (µs), cold compile median (ms), "
        "memory (KiB)</summary>")  # fmt: skip
    add("")
    index = _index(results)
    add("| vocabulary | pattern | " + " | ".join(engines) + " | p50 ÷ best peer |")
    add("|---|---|" + "---|" * len(engines) + "---:|")
    for tokenizer in config["tokenizers"]:
        title = results["tokenizers"].get(tokenizer, {}).get("title", tokenizer)
        for pattern in config["patterns"]:
            cells = []
            for engine in engines:
                row = index.get((tokenizer, engine, pattern))
                status = _status_cell(row)
                if status is not None or row is None:
                    cells.append(status or "—")
                    continue
                p50, p99, compile_ms, memory = (
                    fmt_value(_metric(row, key))
                    for key in ("mask_p50", "mask_p99", "compile", "memory")
                )
                cells.append(f"{p50} / {p99} · {compile_ms} ms · {memory} KiB")
            ours = _metric(index.get((tokenizer, OURS, pattern), {}), "mask_p50")
            peers = [
                v for e in _peers(results)
                if (v := _metric(index.get((tokenizer, e, pattern), {}), "mask_p50")) is not None
            ]  # fmt: skip
            ratio = _ratio(ours / min(peers)) if ours is not None and peers else "—"
            add(f"| {title} | {pattern} | " + " | ".join(cells) + f" | {ratio} |")
    add("")
    add("</details>")
    add("")

    setups = {(s["tokenizer"], s["engine"]): s for s in results.get("setup", [])}
    if setups:
        add("Vocabulary set-up, once per vocabulary and not part of compile time (s):")
        add("")
        add("| vocabulary | V | " + " | ".join(engines) + " |")
        add("|---|---:|" + "---:|" * len(engines))
        for tokenizer in config["tokenizers"]:
            info = results["tokenizers"].get(tokenizer, {})
            if info.get("status") != "ok":
                continue
            cells = []
            for engine in engines:
                setup = setups.get((tokenizer, engine))
                value = setup.get("prepare_s") if setup and setup.get("status") == "ok" else None
                cells.append(fmt_value(value) if value is not None else "—")
            add(f"| {info['title']} | {info['vocab_size']:,} | " + " | ".join(cells) + " |")
        add("")
        checks = [s["vocab_check"] for s in setups.values() if s.get("vocab_check")]
        if checks and not any(c["differing_token_bytes"] for c in checks):
            add("structgen's `Vocabulary.from_gguf` gave the same bytes as the Hugging Face "
                "tokenizer for every non-special token id of every vocabulary.")  # fmt: skip
            add("")
    add("What each measure means per engine:")
    add("")
    for name, info in results["engines"].items():
        add(
            f"- **{name}**: cold compile = {info['cold_compile']}. Vocabulary set-up "
            f"(not in compile time): {info['prepare']}. Its own size report (`memory_own_bytes` "
            f"in the JSON): {info['own_memory']}."
        )
    add(
        "- Before measuring, every engine compiles and masks a trivial regex once per vocabulary "
        "(warm-up), so one-time library initialisation and JIT compilation are not counted."
    )
    add("")
    problems = [r for r in results["results"] if r.get("status") == "error"]
    disagreements = [
        r for r in results["results"]
        if r.get("mask_agreement") and r["mask_agreement"]["equal"] != r["mask_agreement"]["steps"]
    ]  # fmt: skip
    dropped = [
        (tokenizer, pattern, d)
        for tokenizer, info in results["tokenizers"].items()
        for pattern, ex in info.get("examples", {}).items()
        for d in ex.get("dropped", [])
    ]
    vocab_mismatches = [
        setup for setup in results.get("setup", [])
        if setup.get("vocab_check", {}).get("differing_token_bytes")
    ]  # fmt: skip
    if problems or dropped or vocab_mismatches:
        add("**Failures** (vocabulary / engine / pattern: what went wrong):")
        add("")
        for r in problems:
            add(f"- {r['tokenizer']} / {r['engine']} / {r['pattern']}: {short_text(r['error'])}")
        for setup in vocab_mismatches:
            check = setup["vocab_check"]
            add(
                f"- {setup['tokenizer']}: structgen's Vocabulary differs from the tokenizer's "
                f"bytes at {check['differing_token_bytes']} ids "
                f"(e.g. {short_text(json.dumps(check['differing_examples'][:2]))})"
            )
        for tokenizer, pattern, d in dropped:
            reason = short_text(d["reason"])
            add(f"- {tokenizer} / {pattern}: example {d['text']!r} skipped: {reason}")
        add("")
    else:
        add("**Failures**: none; every engine allowed every token of every example.")
        add("")
    if disagreements:
        add("**Mask differences** (vocabulary / pattern: engine against the reference; tokens "
            "allowed by one side only are judged by the oracle):")  # fmt: skip
        add("")
        for r in disagreements:
            line = _describe_agreement(r["engine"], r["mask_agreement"])
            add(f"- {r['tokenizer']} / {r['pattern']}: {line}")
    else:
        add("**Mask differences**: none; all engines allowed the same tokens at every step "
            "(EOS and special tokens aside).")  # fmt: skip
    return "\n".join(lines) + "\n"


def _describe_agreement(engine: str, a: dict[str, Any]) -> str:
    """One line on how ``engine``'s masks differ from the reference engine's."""
    ref = a["reference"]
    parts = [f"{engine}'s masks equal {ref}'s at {a['equal']} of {a['steps']} steps"]
    words = {"narrower": "fewer tokens", "wider": "more tokens", "incomparable": "other tokens"}
    shape = [f"{words[k]} at {a[k]}" for k in words if a.get(k)]
    if shape:
        parts.append(f"{engine} allows " + ", ".join(shape))
    judged = a.get("judged") or {}
    if a.get("oracle"):
        for side, who in ((f"only_{ref}", ref), (f"only_{engine}", engine)):
            counts = judged.get(side, {})
            total = counts.get("valid", 0) + counts.get("invalid", 0)
            if total:
                verdict = (
                    "all valid continuations" if not counts.get("invalid")
                    else f"**{counts['invalid']} invalid**: {who} allows tokens it must not"
                )  # fmt: skip
                parts.append(f"tokens only {who} allowed (checked {total}): {verdict}")
    first = a.get("first_difference")
    if first:
        parts.append(f"first at {first['example']!r} step {first['step']}: "
                     f"only {ref} {first.get(f'only_{ref}')}, only {engine} "
                     f"{first.get(f'only_{engine}')}")  # fmt: skip
    return short_text("; ".join(parts), 600)


def plot_results(results: dict[str, Any], path: Path) -> Path | None:
    """Grouped bars per vocabulary (one bar per engine), log scale; ``None`` without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engines = _engines(results)
    tokenizers = [t for t in results["config"]["tokenizers"]
                  if results["tokenizers"].get(t, {}).get("status") == "ok"]  # fmt: skip
    if not tokenizers:
        return None
    titles = [results["tokenizers"][t]["title"] for t in tokenizers]
    fig, axes = plt.subplots(2, 3, figsize=(18, 8.5))
    width = 0.8 / max(1, len(engines))
    colors = ENGINE_COLORS
    for ax, (metric, (label, unit)) in zip(axes.flat, METRICS.items()):
        unit = unit.split(";")[0]
        summary = summary_rows(results, metric)
        for i, engine in enumerate(engines):
            values = [summary[t]["engines"][engine]["value"] for t in tokenizers]
            xs = [k + (i - (len(engines) - 1) / 2) * width for k in range(len(tokenizers))]
            heights = [v if v is not None else 0 for v in values]
            ax.bar(xs, heights, width, label=engine, color=colors.get(engine))
        ax.set_yscale("log")
        ax.set_title(f"{label} ({unit}) — lower is better", fontsize=10)
        ax.set_xticks(range(len(tokenizers)))
        ax.set_xticklabels(titles, rotation=15, fontsize=8)
        ax.grid(axis="y", which="both", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    spare = list(axes.flat)[len(METRICS) :]
    for ax in spare:
        ax.axis("off")
    if spare:
        notes = [f"{name} {info['version'] or '(not installed)'}"
                 for name, info in results["engines"].items()]  # fmt: skip
        notes += ["", f"repeat {results['config']['repeat']}; patterns: "
                  + ", ".join(results["config"]["patterns"]),
                  "memory: C-heap growth over compile + walks",
                  "errors and mask differences: BENCHMARKS.md"]  # fmt: skip
        spare[0].text(0.02, 0.95, "\n".join(notes), va="top", fontsize=9, family="monospace")
    machine = results["machine"]
    fig.suptitle(
        f"structgen bench regex — geometric means over the patterns all engines passed — "
        f"{machine['timestamp']} — {machine['cpu']}",
        fontsize=10,
    )
    return save_figure(fig, path, dpi=110)
