"""MaskBench's distribution plot: TTFM and TBM of every engine on log axes.

Top row: the empirical CDFs (x log, share of the engine's compiled schemas or masks on y), the
second compile of each schema dashed. Bottom row: the same as tails (1 − ECDF, both axes
log), where p99 and the max are read off. TTFM curves are drawn from every schema's time; TBM
curves from the percentiles of the pooled mask times kept in the summary (every whole
percentile, then 99.5 … 99.999 and the max).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from structgen_bench.report import ENGINE_COLORS, save_figure

__all__ = ["DISTRIBUTIONS_PNG", "plot_distributions", "ecdf"]

DISTRIBUTIONS_PNG = "maskbench_distributions.png"


def ecdf(values: list[float]) -> tuple[list[float], list[float]]:
    """Sorted ``values`` and the share (0–1] of values at most each one."""
    xs = sorted(values)
    n = len(xs)
    return xs, [(i + 1) / n for i in range(n)]


def _ttfm(results: dict[str, Any], engine: str, key: str) -> list[float]:
    return [r[key] for r in results["results"]
            if r["engine"] == engine and r["compiled"] and r.get(key)]  # fmt: skip


def plot_distributions(results: dict[str, Any], path: Path) -> Path | None:
    """Draw the four panels into ``path``; ``None`` without matplotlib or without engines."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = results.get("summary", {}).get("all", {})
    engines = [e for e in results["config"]["engines"]
               if results["engines"][e]["status"] == "ok" and e in summary]  # fmt: skip
    if not engines:
        return None
    fig, axes = plt.subplots(2, 2, figsize=(15, 10))
    for engine in engines:
        color = ENGINE_COLORS.get(engine)
        first = _ttfm(results, engine, "ttfm_ms")
        if first:
            xs, ys = ecdf(first)
            axes[0][0].step(xs, ys, where="post", color=color,
                            label=f"{engine} ({len(xs)} schemas)")  # fmt: skip
            axes[1][0].step(xs, [1 - y + 1 / len(xs) for y in ys], where="post", color=color,
                            label=engine)  # fmt: skip
        second = _ttfm(results, engine, "repeat_ttfm_ms")
        if second:
            xs, ys = ecdf(second)
            axes[0][0].step(xs, ys, where="post", color=color, linestyle="--", alpha=0.7,
                            label=f"{engine}, second compile")  # fmt: skip
        quantiles = summary[engine].get("tbm_quantiles")
        if quantiles:
            us, q = quantiles["us"], quantiles["q"]
            n = max(1, summary[engine].get("tbm", {}).get("n", 1))
            axes[0][1].plot(us, [v / 100 for v in q], color=color,
                            label=f"{engine} ({n:,} masks)")  # fmt: skip
            tail = [max(1 - v / 100, 1 / n) for v in q]
            axes[1][1].plot(us, tail, color=color, label=engine)
    titles = (
        ("time to first mask (ms)", "TTFM: share of compiled schemas within x (dashed: second "
         "compile)"),
        ("time between masks (µs)", "TBM: share of masks within x"),
    )  # fmt: skip
    for column, (xlabel, title) in enumerate(titles):
        top, bottom = axes[0][column], axes[1][column]
        top.set_xscale("log")
        top.set_ylim(0, 1.02)
        top.set_ylabel("ECDF")
        top.set_title(title + " — further left is better", fontsize=10)
        bottom.set_xscale("log")
        bottom.set_yscale("log")
        bottom.set_ylabel("share at least x (1 − ECDF, floored at 1/n)")
        bottom.set_title("tail of the same, log–log — lower and further left is better",
                         fontsize=10)  # fmt: skip
        for ax in (top, bottom):
            ax.set_xlabel(xlabel + ", log scale")
            ax.grid(which="both", alpha=0.3)
            ax.legend(fontsize=8)
    machine = results["machine"]
    fig.suptitle(f"MaskBench TTFM and TBM — {results['tokenizer']['title']} — "
                 f"{machine['timestamp']} — {machine['cpu']}", fontsize=10)  # fmt: skip
    return save_figure(fig, path)
