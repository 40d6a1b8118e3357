"""MaskBench's report sections for issue 11: the second compile and memory, the first compile
in a fresh process, and the targets checked against the run's figures.

Each ``render_*`` takes the results and an ``add(line)`` callable and writes nothing when the
run has no figures for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from structgen_bench.fresh_start import PRIMED
from structgen_bench.report import OURS, fmt_value

__all__ = [
    "render_second_and_memory",
    "render_fresh_start",
    "render_targets",
    "spread",
    "TARGETS",
]

Add = Callable[[str], None]
_KEYS3 = ("p50", "p99", "max")
_KEYS4 = ("p50", "p90", "p99", "max")
GIB_IN_MIB = 1024.0

# Issue 11's targets (Llama-3 vocabulary): TTFM in ms, TBM in µs, memory in MiB.
TARGETS = {
    "ttfm_p50_ms": 20.0,
    "ttfm_p99_ms": 500.0,
    "ttfm_max_ms": 2000.0,
    "warm_ttfm_p50_ms": 5.0,
    "fresh_total_ms": 300.0,
    "tbm_p50_us": 3.0,
    "tbm_max_us": 20_000.0,
    "peak_rss_max_mib": GIB_IN_MIB,
}


def spread(entry: dict[str, Any] | None, unit: str, keys: tuple[str, ...]) -> str:
    """``a / b / c`` of the percentiles ``keys`` (e.g. "p50") of one summary, "—" when none."""
    entry = entry or {}
    if not entry.get("n"):
        return "—"
    return " / ".join(fmt_value(entry.get(f"{key}_{unit}")) for key in keys)


def _engines(results: dict[str, Any]) -> list[str]:
    return [e for e in results["config"]["engines"] if results["engines"][e]["status"] == "ok"]


def _second_label(engine: str) -> str:
    if engine == OURS:
        return "warm disk cache, memo caches dropped"
    return "cold again in the same process (no disk cache)"


def render_second_and_memory(results: dict[str, Any], add: Add) -> None:
    """The second compile's TTFM next to the first, cache hits, and peak memory per schema."""
    summary = results.get("summary", {}).get("all")
    if not summary or not results["config"].get("repeat", False):
        return
    engines = [e for e in _engines(results) if e in summary]
    add("### Second compile and memory per schema (all subsets)")
    add("")
    add("| engine | second compile | TTFM first p50 / p90 / p99 / max (ms) | TTFM second p50 / "
        "p90 / p99 / max (ms) | second from cache | peak RSS growth p50 / p99 / max (MiB) | "
        "worker peak RSS p50 / p99 / max (MiB) | tracemalloc peak p50 / p99 / max (MiB) |")
    add("|---|---|---:|---:|---:|---:|---:|---:|")
    for engine in engines:
        entry = summary[engine]
        second = entry.get("repeat_ttfm", {})
        hits = f"{entry.get('repeat_from_cache', 0)} / {second.get('n', 0)}"
        if engine != OURS and not entry.get("repeat_from_cache"):
            hits = "— (no cache)"
        add(f"| {engine} | {_second_label(engine)} | {spread(entry.get('ttfm'), 'ms', _KEYS4)} "
            f"| {spread(second, 'ms', _KEYS4)} | {hits} "
            f"| {spread(entry.get('peak_rss_growth'), 'mib', _KEYS3)} "
            f"| {spread(entry.get('peak_rss'), 'mib', _KEYS3)} "
            f"| {spread(entry.get('traced_peak'), 'mib', _KEYS3)} |")  # fmt: skip
    add("")
    ours = summary.get(OURS, {})
    methods = sorted({m for e in engines for m in summary[e].get("peak_rss_methods", [])})
    add("- **Second compile**: after each schema's walks, the same worker compiles it again and"
        " computes the first mask. structgen: its memo caches (the functools caches of its "
        "modules that memoise per-input work) are dropped first, untimed, and the cache entry "
        "the first compile wrote (into a new empty directory of the schema's own, so that the "
        "first compile is always cold, duplicates included) is kept: this is its warm-cache "
        "TTFM where the compiled schema was cached (`from_cache`, counted in the column); the "
        "vocabulary and its token trie stay, as in any server. The peers keep no disk cache: "
        "their second compile is a second cold one in a warmed-up process, shown for comparison"
        " only.")
    if ours.get("cold_from_cache"):
        add(f"- {ours['cold_from_cache']} of structgen's *first* compiles were read from the "
            "run's disk cache (the same schema text compiled earlier in the run).")
    what = {"VmHWM reset": "the worker's RSS high-water mark reset before the compile "
                           "(`/proc/self/clear_refs`) and read after the walks: the peak RSS "
                           "during this schema",
            "ru_maxrss growth": "how far the worker's `ru_maxrss` high-water mark rose during "
                                "this schema (zero unless it set a new peak for the process)"}
    for method in methods:
        add(f"- **Peak RSS** ({method}): {what.get(method, method)}, over the compile, the "
            "first mask and the walks; *growth* is that peak less the RSS at the start (memory "
            "the allocator reuses from earlier schemas is not counted), *worker peak* is the "
            "absolute figure (tokenizer and vocabulary tables included).")
    if ours.get("traced_peak", {}).get("n"):
        add("- **tracemalloc peak** (structgen only): the most Python and numpy memory held at "
            "once during an extra, untimed cold compile and walk of the schema (empty disk "
            "cache, memo caches dropped); native allocations of other libraries and arrays "
            "allocated inside numba kernels are not seen.")
    worst = max((summary[e].get("peak_rss_growth", {}).get("max_mib") or 0.0 for e in engines),
                default=0.0)  # fmt: skip
    errors = {e: summary[e]["repeat_errors"] for e in engines if summary[e].get("repeat_errors")}
    if errors:
        add("- Second compile or memory pass failed on: "
            + ", ".join(f"{e} {n} schemas" for e, n in errors.items()) + ".")
    add(f"- Largest peak RSS growth of any schema and engine: {fmt_value(worst)} MiB.")
    add("")


def render_fresh_start(results: dict[str, Any], add: Add) -> None:
    """The first compile of a small schema in fresh processes, per engine."""
    fresh = results.get("fresh_start")
    if not fresh or not fresh.get("engines"):
        return
    add("### First compile in a fresh process")
    add("")
    add(f"A new `python` process per run imports the engine, builds its tokenizer or "
        f"vocabulary, compiles `{json.dumps(fresh['schema'])}` and computes the first mask "
        f"(checked to allow some but not all tokens); medians of {fresh['runs']} runs. "
        "(b) is paid once per model and left out of (d) = (a) + (c). Each process has a new "
        "disk cache directory, so the schema itself is never read back compiled: for the row "
        f"`{PRIMED}` it is a copy of what one untimed process left after compiling another "
        f"schema (`{json.dumps(fresh.get('priming_schema'))}`) — the per-vocabulary files every "
        "later process finds (token trie and the like); for the row `structgen` it is empty, "
        "as for the first process ever. numba's compiled kernels come from numba's own cache, "
        "as after installation. For structgen, (b) is `Vocabulary.from_gguf` and its token "
        "trie (built, or read from the disk cache); for the peers, (b) includes importing "
        "transformers and loading the Hugging Face tokenizer (cached by the harness) and their "
        "own vocabulary tables (llguidance's token trie, xgrammar's TokenizerInfo).")
    add("")
    add("| engine | (a) import (ms) | (b) tokenizer / vocabulary (ms) | (c) compile + first mask "
        "(ms) | (d) total without (b) (ms) | runs ok | first mask allows (tokens) |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for engine, entry in fresh["engines"].items():
        if not entry.get("ok"):
            add(f"| {engine} | failed: {entry.get('error', '')[:120]} | | | | 0 / {entry['runs']} "
                "| |")
            continue
        figures = ("import_ms", "tokenizer_ms", "compile_first_mask_ms", "total_ms")
        cells = [fmt_value(entry.get(k)) for k in figures]
        allowed = ", ".join(f"{n:,}" for n in entry.get("allowed", []))
        add(f"| {engine} | " + " | ".join(cells) + f" | {entry['ok']} / {entry['runs']} | "
            f"{allowed} |")
    add("")


def _check(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "**not met**")


def _at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def render_targets(results: dict[str, Any], add: Add) -> None:
    """Issue 11's targets beside this run's figures for structgen."""
    summary = results.get("summary", {}).get("all", {})
    ours = summary.get(OURS)
    if not ours:
        return
    peers = {e: v for e, v in summary.items() if e != OURS}
    ttfm, tbm = ours.get("ttfm", {}), ours.get("tbm", {})
    rows: list[tuple[str, str, bool | None]] = []
    timeouts = ours.get("timeouts", 0)
    for key, label in (("p50", "TTFM p50 ≤ 20 ms"), ("p99", "TTFM p99 ≤ 500 ms")):
        value = ttfm.get(f"{key}_ms")
        rows.append((label, f"{fmt_value(value)} ms", _at_most(value, TARGETS[f"ttfm_{key}_ms"])))
    worst = ttfm.get("max_ms")
    over = _at_most(worst, TARGETS["ttfm_max_ms"])
    rows.append(("no schema's TTFM over 2 s", f"max {fmt_value(worst)} ms, {timeouts} timeouts",
                 None if over is None else over and not timeouts))  # fmt: skip
    second = ours.get("repeat_ttfm", {})
    if ours.get("repeat_from_cache"):
        value = second.get("p50_ms")
        rows.append(("warm-cache TTFM p50 ≤ 5 ms",
                     f"{fmt_value(value)} ms ({ours['repeat_from_cache']} / {second['n']} from "
                     "cache)", _at_most(value, TARGETS["warm_ttfm_p50_ms"])))  # fmt: skip
    elif second.get("n"):
        rows.append(("warm-cache TTFM p50 ≤ 5 ms",
                     f"no second compile read the disk cache (second TTFM p50 "
                     f"{fmt_value(second.get('p50_ms'))} ms)", None))  # fmt: skip
    fresh = results.get("fresh_start", {}).get("engines", {})
    for name, how in ((PRIMED, "vocabulary cached on disk"), (OURS, "empty disk cache")):
        if fresh.get(name, {}).get("ok"):
            value = fresh[name].get("total_ms")
            rows.append((f"first compile in a fresh process ≤ 300 ms ({how})",
                         f"{fmt_value(value)} ms", _at_most(value, TARGETS["fresh_total_ms"])))
    value = tbm.get("p50_us")
    rows.append(("TBM p50 ≤ 3 µs", f"{fmt_value(value)} µs",
                 _at_most(value, TARGETS["tbm_p50_us"])))  # fmt: skip
    theirs = peers.get("llguidance", {}).get("tbm", {}).get("p99_us")
    value = tbm.get("p99_us")
    rows.append(("TBM p99 ≤ llguidance's p99 (same run)",
                 f"{fmt_value(value)} µs vs {fmt_value(theirs)} µs",
                 None if theirs is None else _at_most(value, theirs)))  # fmt: skip
    value = tbm.get("max_us")
    rows.append(("TBM max ≤ 20 ms", f"{fmt_value(value)} µs",
                 _at_most(value, TARGETS["tbm_max_us"])))  # fmt: skip
    best_peer = max((v.get("passing", 0) for v in peers.values()), default=None)
    rows.append(("passing schemas above every peer",
                 f"{ours['passing']} vs best peer {best_peer if best_peer is not None else '—'}",
                 None if best_peer is None else ours["passing"] > best_peer))  # fmt: skip
    clean = not ours["validation_errors"] and not ours["invalidation_errors"]
    rows.append(("zero validation and invalidation errors",
                 f"{ours['validation_errors']} / {ours['invalidation_errors']} schemas", clean))
    growth = ours.get("peak_rss_growth", {})
    if growth.get("n"):
        value = growth.get("max_mib")
        rows.append(("memory: peak RSS per schema reported, none over 1 GB",
                     f"growth p50 {fmt_value(growth.get('p50_mib'))} / p99 "
                     f"{fmt_value(growth.get('p99_mib'))} / max {fmt_value(value)} MiB",
                     _at_most(value, TARGETS["peak_rss_max_mib"])))  # fmt: skip
    add("### Issue 11 targets (structgen, this run)")
    add("")
    add("| target | this run | |")
    add("|---|---|---|")
    for label, value, met in rows:
        add(f"| {label} | {value} | {_check(met)} |")
    add("")
