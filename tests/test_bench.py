"""The regex benchmark: a tiny run end to end, and the report's pure parts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from structgen.errors import ConfigurationError
from structgen_bench.patterns import PATTERNS, select_patterns
from structgen_bench.peers import XGrammarEngine
from structgen_bench.regex_bench import engine_info
from structgen_bench.regex_report import render_markdown, summary_rows
from structgen_bench.report import replace_section

PEERS = ("xgrammar", "outlines-core", "llguidance")


def test_every_example_matches_its_pattern() -> None:
    for pattern in PATTERNS.values():
        pattern.check()
    assert len(PATTERNS["enum100"].regex.split("|")) == 100


def test_unknown_pattern_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown pattern"):
        select_patterns(["nope"])


def test_replace_section_appends_then_replaces() -> None:
    page = "# structgen benchmarks\n\nIntro.\n"
    once = replace_section(page, "## Regex\nfirst\n")
    assert once.startswith(page.rstrip("\n"))
    assert "first" in once
    twice = replace_section(once + "\n## Later\nkept\n", "## Regex\nsecond\n")
    assert "first" not in twice and "second" in twice
    assert twice.count("structgen-bench:regex:begin") == 1
    assert twice.rstrip().endswith("kept") and "Intro." in twice


def _row(tokenizer: str, engine: str, pattern: str, p50: float, ok: bool = True) -> dict[str, Any]:
    if not ok:
        return {"tokenizer": tokenizer, "engine": engine, "pattern": pattern,
                "status": "error", "error": "correctness: boom"}  # fmt: skip
    return {
        "tokenizer": tokenizer, "engine": engine, "pattern": pattern, "status": "ok",
        "mask": {"p50_us": p50, "p99_us": 2 * p50}, "compile": {"median_ms": 1.0},
        "time_to_first_mask": {"median_ms": 1.5}, "memory_bytes": 2048,
    }  # fmt: skip


def test_summary_uses_patterns_all_engines_passed_and_ratio_to_best_peer() -> None:
    results = {
        "config": {"tokenizers": ["t"], "engines": ["structgen", "a", "b"],
                   "patterns": ["p", "q"], "repeat": 1},  # fmt: skip
        "results": [
            _row("t", "structgen", "p", 2.0), _row("t", "a", "p", 4.0), _row("t", "b", "p", 8.0),
            _row("t", "structgen", "q", 1.0), _row("t", "a", "q", 1.0, ok=False),
            _row("t", "b", "q", 1.0),
        ],  # fmt: skip
    }
    summary = summary_rows(results, "mask_p50")["t"]
    assert summary["patterns"] == ["p"]  # "a" failed q, so q is left out of the summary
    assert summary["engines"]["structgen"]["value"] == pytest.approx(2.0)
    assert summary["ratio"] == pytest.approx(0.5)  # 2.0 against the best peer's 4.0


@pytest.mark.slow
def test_quick_benchmark_checks_correctness_and_writes_results(tmp_path: Path) -> None:
    from structgen.cli.main import main

    out = tmp_path / "results"
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\nHand-written intro.\n")
    argv = [
        "bench", "regex", "--quick", "--tokenizers", "smollm2", "--patterns", "ipv4",
        "--repeat", "1", "--max-examples", "2", "--no-progress",
        "--out", str(out), "--markdown", str(markdown),
    ]  # fmt: skip
    assert main(argv) == 0

    results = json.loads((out / "regex.json").read_text())
    assert results["benchmark"] == "regex"
    for key in ("machine", "config", "engines", "patterns", "tokenizers", "setup", "results"):
        assert key in results
    assert results["config"]["tokenizers"] == ["smollm2"]
    assert results["config"]["patterns"] == ["ipv4"]
    assert results["tokenizers"]["smollm2"]["status"] == "ok"
    assert results["machine"]["cpu_count"] >= 1
    assert set(results["engines"]) == {"structgen", *PEERS}

    rows = {row["engine"]: row for row in results["results"]}
    ours = rows["structgen"]
    assert ours["status"] == "ok", ours.get("error")
    assert ours["correctness"]["passed"] is True
    assert ours["correctness"]["checked_steps"] > 2
    assert ours["mask"]["n"] == ours["correctness"]["checked_steps"]
    for field in ("p50_us", "p99_us", "max_us"):
        assert ours["mask"][field] > 0
    assert ours["compile"]["median_ms"] > 0
    assert ours["memory_bytes"] > 0
    for peer in PEERS:
        row = rows[peer]
        if results["engines"][peer]["status"] == "not installed":
            assert row["status"] == "not installed"
            continue
        assert row["status"] == "ok", row.get("error")
        # Every peer allowed exactly the tokens structgen allowed, at every step.
        agreement = row["mask_agreement"]
        assert agreement["reference"] == "structgen"
        assert agreement["equal"] == agreement["steps"], agreement["first_difference"]

    page = markdown.read_text()
    assert page.startswith("# Benchmarks\n\nHand-written intro.")
    assert "structgen-bench:regex:begin" in page and "| mask p50 (µs) |" in page
    assert (out / "regex.png").stat().st_size > 0
    # A re-run replaces the section rather than appending a second one.
    markdown.write_text(replace_section(page, render_markdown(results)))
    assert markdown.read_text().count("structgen-bench:regex:begin") == 1


def test_a_missing_peer_is_reported_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(XGrammarEngine, "module", "structgen_no_such_module")
    info = engine_info(XGrammarEngine())
    assert info["status"] == "not installed"
    assert "pip install xgrammar" in info["reason"]
