"""The decode benchmark's markdown section (``BENCHMARKS.md``) and plot (tokens per second per
configuration). The JSON file and the marked-section mechanics are
:mod:`structgen_bench.report`'s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from structgen_bench.report import fmt_value, run_line, save_figure, short_text

__all__ = ["plot_results", "render_markdown"]

HEADER = (
    "| configuration | schemas | valid | incomplete | tokens | tokens/s | decode tokens/s "
    "| forward passes / token | constraint evaluations / token | jumped | speculated: kept "
    "| p50 s / schema | p99 s / schema |\n"
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def _cell(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if digits is not None else fmt_value(value)


def _speculated(row: dict[str, Any]) -> str:
    drafted = row.get("tokens_speculated", 0)
    return f"{drafted}: {row.get('tokens_accepted', 0)}" if drafted else "—"


def render_markdown(results: dict[str, Any]) -> str:
    """The report section: how it was run, the table per configuration, what was left out."""
    config = results["config"]
    summary = results["summary"]
    lines = [
        "## Decoding end to end (`structgen bench decode`)",
        "",
        run_line(results),
        "",
        f"{Path(str(config.get('model'))).name} on the CPU "
        f"({config.get('torch_threads')} torch thread(s)), "
        f"{len(results['schemas'])} JSONSchemaBench schemas "
        f"of the development split (seed {config['seed']}, the subsets taken in turn, schemas "
        f"up to {config['max_schema_bytes']} bytes), `max_new_tokens={config['max_new_tokens']}`."
        f" Prompt: `{config['prompt']}` (JSONSchemaBench's zero-shot wording; its system line "
        "and the schema go into one user message). Before a schema's timed runs, one untimed "
        "greedy run compiles it and builds the masks of its greedy path, and one free "
        "one-token run times the prompt's forward pass (*prefill*). *tokens/s*: output tokens "
        "(end of sequence included) over wall time; *decode tokens/s* leaves the prefill out. "
        "*valid*: the output parses and validates (structgen's DocumentValidator); "
        "*incomplete*: `max_new_tokens` ran out first (its tokens are still counted); "
        "*jumped*: forced tokens fed ahead and kept; *speculated: kept*: drafted tokens "
        "verified, and those kept.",
        "",
        HEADER,
    ]
    for name, info in results["configurations"].items():
        if "unavailable" in info:
            continue
        row = summary.get(name)
        if not row:
            continue
        lines.append(
            f"| {name}: {info['label']} | {row['runs']} | {row['valid']} | {row['incomplete']} "
            f"| {row['tokens']} | {_cell(row['tokens_per_s'])} "
            f"| {_cell(row['decode_tokens_per_s'])} "
            f"| {_cell(row['forward_passes_per_token'], 2)} "
            f"| {_cell(row['evaluations_per_token'])} | {row.get('tokens_jumped', 0)} "
            f"| {_speculated(row)} | {_cell(row['p50_s'], 2)} "
            f"| {_cell(row['p99_s'], 2)} |"
        )
    unavailable = {n: i for n, i in results["configurations"].items() if "unavailable" in i}
    if unavailable:
        lines += ["", "Not run: " + "; ".join(
            f"{name} (`generate_result` takes no {', '.join(map(repr, info['unavailable']))} yet)"
            for name, info in unavailable.items()
        ) + "."]  # fmt: skip
    errors = [r for r in results["runs"] if r["status"] == "error"]
    if errors:
        lines += ["", "Errors: " + "; ".join(
            f"{r['config']} on {r['schema']}: {short_text(r.get('error'), 160)}" for r in errors
        ) + "."]  # fmt: skip
    if results.get("refused"):
        refused = "; ".join(
            f"{r['schema']} ({short_text(r['error'], 120)})" for r in results["refused"]
        )
        lines += ["", f"Schemas structgen refused (the next in the sample taken): {refused}."]
    schemas = ", ".join(
        f"{s['schema']} ({s['prompt_tokens']} prompt tokens)" for s in results["schemas"]
    )
    out = config.get("out", "benchmarks/results")
    lines += [
        "",
        f"Schemas: {schemas}.",
        "",
        f"![tokens per second per configuration]({out}/decode.png)",
    ]
    return "\n".join(lines) + "\n"


def plot_results(results: dict[str, Any], path: Path) -> Path | None:
    """A bar per configuration: output tokens per second (wall, and without the prefill)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    summary = results["summary"]
    names = [n for n in summary if summary[n]["tokens_per_s"] is not None]
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 * len(names) + 2), 4.2))
    positions = range(len(names))
    wall = [summary[n]["tokens_per_s"] for n in names]
    decode = [summary[n]["decode_tokens_per_s"] or 0.0 for n in names]
    ax.bar([p - 0.2 for p in positions], wall, width=0.4, label="tokens/s", color="#d62728")
    ax.bar([p + 0.2 for p in positions], decode, width=0.4, label="decode tokens/s (no prefill)",
           color="#ff9896")  # fmt: skip
    free = summary.get("unconstrained", {}).get("tokens_per_s")
    if free:
        ax.axhline(free, color="#444444", linestyle="--", linewidth=1, label="unconstrained")
    ax.set_xticks(list(positions))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.set_ylabel("output tokens per second")
    config = results["config"]
    ax.set_title(f"structgen decode: {len(results['schemas'])} JSONSchemaBench schemas, "
                 f"max_new_tokens={config['max_new_tokens']}", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    return save_figure(fig, path)
