"""MaskBench's issue-11 measures: peak memory, the second compile and its cache flag, the first
compile in a fresh process, the percentile columns, the targets table and the log-axis plot."""

from __future__ import annotations

import inspect
import json
import mmap
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from structgen_bench import vocabs
from structgen_bench.fresh_start import PRIMED, measure_fresh_start
from structgen_bench.fresh_start_child import SMALL_SCHEMA
from structgen_bench.maskbench import classify, describe_sample, summarise
from structgen_bench.maskbench_data import Case, load_cases, load_tokenizer, resolve_tokenizer
from structgen_bench.maskbench_plots import ecdf, plot_distributions
from structgen_bench.maskbench_report import render_markdown
from structgen_bench.maskbench_sections import render_targets
from structgen_bench.maskbench_worker import EngineWorker, Job, repeat_schema, run_schema
from structgen_bench.memory import RssPeak, traced_peak
from structgen_bench.structgen_caches import CACHE_ENV, drop_memo_caches, fresh_cache_dir
from structgen_bench.timing import gc_paused
from tests.test_bench_maskbench import EOS, SAMPLE, TOKEN_BYTES, ToyEngine

MIB = 2**20


# -- memory ---------------------------------------------------------------------------------------


def _peak_over_a_freed_block(probe: RssPeak) -> dict[str, Any]:
    # A new anonymous mapping, touched, then unmapped: an allocation from the allocator could
    # reuse pages an earlier test freed but the process kept resident (np.ones of 96 MiB raised
    # no RSS at all in a worker holding 1.5 GB), and a collection inside the window could free
    # an earlier test's garbage: neither must hide the block.
    with gc_paused():
        probe.start()
        block = mmap.mmap(-1, 96 * MIB)
        view = np.frombuffer(block, dtype=np.uint8)
        view[:] = 1  # every page written: resident
        del view
        block.close()
        return probe.stop()


def test_peak_rss_sees_memory_freed_before_the_reading() -> None:
    probe = RssPeak()
    seen = _peak_over_a_freed_block(probe)
    # the high-water mark covers the block however it is read
    assert seen["peak_rss_bytes"] >= probe.start_bytes + 90 * MIB
    if seen["peak_rss_method"] == "VmHWM reset":
        assert seen["peak_rss_growth_bytes"] >= 90 * MIB
        probe.start()  # a new window forgets the old peak
        quiet = probe.stop()
        assert quiet["peak_rss_growth_bytes"] < 32 * MIB
    else:  # where the reset is refused (some sandboxes): only a new process-wide peak counts
        assert seen["peak_rss_growth_bytes"] == max(0, seen["peak_rss_bytes"] - probe.peak_before)


def test_peak_rss_falls_back_to_the_high_water_mark_where_the_reset_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from structgen_bench import memory

    monkeypatch.setattr(memory, "reset_peak_rss", lambda: False)
    probe = RssPeak()
    seen = _peak_over_a_freed_block(probe)
    assert seen["peak_rss_method"] == "ru_maxrss growth"
    assert seen["peak_rss_bytes"] >= probe.start_bytes + 90 * MIB
    # growth is how far the process's mark rose: none when an earlier peak was higher
    assert seen["peak_rss_growth_bytes"] == max(0, seen["peak_rss_bytes"] - probe.peak_before)
    assert seen["peak_rss_growth_bytes"] <= seen["peak_rss_bytes"] - probe.start_bytes


def test_traced_peak_counts_numpy_buffers_and_returns_the_result() -> None:
    def work() -> int:
        block = np.zeros(40 * MIB, dtype=np.uint8)
        return int(block.size)

    result, peak = traced_peak(work)
    assert result == 40 * MIB
    assert 40 * MIB <= peak < 48 * MIB
    _, small = traced_peak(lambda: sum(range(100)))
    assert small < MIB


# -- structgen's caches ---------------------------------------------------------------------


def test_a_fresh_cache_dir_is_empty_and_temporary_and_keeps_the_harness_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "user"))
    monkeypatch.delenv(vocabs.BENCH_CACHE_ENV, raising=False)
    harness = vocabs.cache_root()
    with fresh_cache_dir() as path:
        assert os.environ[CACHE_ENV] == str(path) and path.is_dir()
        assert list(path.iterdir()) == []
        assert vocabs.cache_root() == harness  # tokenizers are not rebuilt per run
    assert not path.exists()
    assert os.environ[CACHE_ENV] == str(tmp_path / "user")
    assert vocabs.BENCH_CACHE_ENV not in os.environ


def _structgen_memos() -> list[Any]:
    """Every functools cache in a loaded structgen module (found independently of the code
    under test: by the ``cache_info`` that functools gives its wrappers)."""
    return [value for name, module in list(sys.modules.items())
            if module is not None and name.startswith("structgen.")
            for value in vars(module).values()
            if callable(getattr(value, "cache_info", None))]  # fmt: skip


def test_dropping_memo_caches_empties_the_per_input_ones_and_keeps_process_constants() -> None:
    from structgen.runtime.cache import code_digest
    from structgen.validation import ecma_search

    assert ecma_search("^[A-Z]\\d+$", "A1")  # memoises the compiled pattern
    digest = code_digest()  # an argument-less cache: a process-wide constant
    memos = _structgen_memos()
    per_input = [m for m in memos if inspect.signature(m).parameters]
    assert any(m.cache_info().currsize for m in per_input)
    assert drop_memo_caches() == len({id(m) for m in per_input})
    assert all(m.cache_info().currsize == 0 for m in per_input)
    assert code_digest.cache_info().currsize == 1 and code_digest() == digest
    assert ecma_search("^[A-Z]\\d+$", "A1")  # and they fill again on use


# -- the second compile, peak RSS, and what the record and summary make of them -------------------


def _toy_case() -> Case:
    tests = [(True, 12), (False, 5)]
    case = Case("Toy", "toy.json", json.dumps({"enum": [12, 34]}),
                [{"valid": v, "data": d} for v, d in tests])  # fmt: skip
    case.texts = [json.dumps(d) for _v, d in tests]
    case.ids = [list(t.encode()) for t in case.texts]
    return case


class CachingToy(ToyEngine):
    """A toy whose second compile reads a dict standing in for a disk cache."""

    def __init__(self) -> None:
        super().__init__()
        self.disk: dict[str, Any] = {}

    def compile_schema(self, schema: Any) -> Any:
        compiled = super().compile_schema(schema)
        self.disk[json.dumps(schema)] = compiled
        return compiled

    def compile_schema_again(self, schema: Any) -> Any:
        return ("hit", self.disk[json.dumps(schema)])

    def matcher(self, compiled: Any) -> Any:
        language = compiled[1] if isinstance(compiled, tuple) else compiled
        return super().matcher(language)

    def from_cache(self, compiled: Any) -> bool | None:
        return isinstance(compiled, tuple)


@pytest.mark.parametrize("engine", [ToyEngine(), CachingToy()], ids=["no cache", "cache"])
def test_the_second_compile_is_timed_and_its_cache_flag_reported(engine: ToyEngine) -> None:
    case = _toy_case()
    job = Job(case.schema_text, [(v, ids) for _i, v, ids in case.walkable()], EOS, 10.0, 60.0)
    raw = run_schema(engine, job)
    assert raw["status"] == "ok"
    assert raw["peak_rss_bytes"] > 0 and raw["peak_rss_growth_bytes"] >= 0
    raw.update(repeat_schema(engine, job))
    record = classify(raw, case, engine.name, TOKEN_BYTES)
    assert record["passing"] is True
    assert record["repeat_compile_ms"] > 0 and record["repeat_first_mask_ms"] > 0
    assert record["repeat_ttfm_ms"] == pytest.approx(
        record["repeat_compile_ms"] + record["repeat_first_mask_ms"]
    )
    cached = isinstance(engine, CachingToy)
    assert record["repeat_from_cache"] is (True if cached else None)
    assert record["traced_peak_bytes"] is None  # the toy does not ask for tracemalloc
    summary, _ = summarise([record], {}, ["toy"], ["Toy"])
    entry = summary["all"]["toy"]
    assert entry["repeat_ttfm"]["n"] == 1
    assert entry["repeat_from_cache"] == int(cached)
    assert entry["peak_rss"]["n"] == 1 and entry["peak_rss"]["p50_mib"] > 0


def test_what_precedes_the_second_compile_is_not_timed() -> None:
    """``before_compile_again`` (structgen: dropping its memo caches, a scan of every module)
    is the harness's work: it runs before the clock starts."""

    class SlowToPrepare(CachingToy):
        def before_compile_again(self) -> None:
            time.sleep(0.2)

    engine = SlowToPrepare()
    case = _toy_case()
    job = Job(case.schema_text, [(v, ids) for _i, v, ids in case.walkable()], EOS, 10.0, 60.0)
    run_schema(engine, job)
    repeated = repeat_schema(engine, job)
    assert repeated["repeat_compile_s"] < 0.1


def test_a_failed_second_compile_keeps_the_first_results() -> None:
    class Flaky(ToyEngine):
        def compile_schema_again(self, schema: Any) -> Any:
            raise RuntimeError("second compile broke")

    case = _toy_case()
    job = Job(case.schema_text, [(v, ids) for _i, v, ids in case.walkable()], EOS, 10.0, 60.0)
    raw = run_schema(Flaky(), job)
    raw.update(repeat_schema(Flaky(), job))
    record = classify(raw, case, "toy", TOKEN_BYTES)
    assert record["passing"] is True and "second compile broke" in record["repeat_error"]
    assert record["repeat_ttfm_ms"] is None
    summary, _ = summarise([record], {}, ["toy"], ["Toy"])
    assert summary["all"]["toy"]["repeat_errors"] == 1
    assert summary["all"]["toy"]["repeat_ttfm"] == {"n": 0}


def test_ttfm_summary_has_p50_p90_p99_and_max() -> None:
    records = []
    for i in range(1, 101):  # TTFM 1..100 ms
        records.append({"engine": "toy", "subset": "Toy", "file": f"{i}.json", "compiled": True,
                        "status": "ok", "ttfm_ms": float(i), "passing": True, "tests": 0,
                        "validation_errors": 0, "invalidation_errors": 0, "disagreements": 0,
                        "exceptions": 0, "unwalked": 0})  # fmt: skip
    summary, _ = summarise(records, {}, ["toy"], ["Toy"])
    ttfm = summary["all"]["toy"]["ttfm"]
    expected = np.percentile(np.arange(1, 101, dtype=float), [50, 90, 99])
    assert [ttfm["p50_ms"], ttfm["p90_ms"], ttfm["p99_ms"]] == pytest.approx(list(expected))
    assert ttfm["max_ms"] == 100.0


def test_a_structgen_worker_reports_its_second_compile_and_memory() -> None:
    ref = resolve_tokenizer("smollm2", SAMPLE)
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    tokenizer = load_tokenizer(ref.path, key=ref.key, title=ref.title)
    ids = vocabs.tokenize_exact(tokenizer.hf, tokenizer.token_bytes, '{"n": 1}')
    job = Job(json.dumps(schema), [(True, ids)], tokenizer.eos_id, 60.0, 60.0)
    with fresh_cache_dir():
        worker = EngineWorker("structgen", ref)
        try:
            assert worker.start()["status"] == "ok"
            raw = worker.run(job, walk_timeout_s=60.0)
            again = worker.run(job, walk_timeout_s=60.0)  # the same schema text once more
        finally:
            worker.stop()
    assert raw["status"] == "ok" and raw["outcomes"][0]["accepted"] is True
    # Each schema's entries have a directory of their own: a first compile is always cold.
    assert raw["from_cache"] is False and again["from_cache"] is False
    assert isinstance(raw["repeat_from_cache"], bool)  # a hit once schemas are cached on disk
    assert raw["repeat_compile_s"] > 0 and raw["repeat_first_mask_s"] > 0
    assert raw["traced_peak_bytes"] > 0 and raw["traced_tests"] == 1
    assert raw["peak_rss_bytes"] >= raw["peak_rss_growth_bytes"] >= 0


# -- the first compile in a fresh process ---------------------------------------------------------


def test_the_first_compile_in_a_fresh_process_adds_up() -> None:
    ref = resolve_tokenizer("smollm2", SAMPLE)
    fresh = measure_fresh_start(["structgen"], ref.path, ref.key, runs=1, vocab_size=49152)
    assert fresh["schema"] == SMALL_SCHEMA
    for row in ("structgen", PRIMED):
        entry = fresh["engines"][row]
        assert entry["ok"] == 1 and "error" not in entry, entry
        assert entry["import_ms"] > 0 and entry["tokenizer_ms"] > 0
        assert entry["total_ms"] == pytest.approx(entry["import_ms"]
                                                  + entry["compile_first_mask_ms"])  # fmt: skip
        assert all(0 < n < 49152 for n in entry["allowed"])


def test_a_failing_fresh_process_is_reported_not_raised() -> None:
    fresh = measure_fresh_start(["structgen"], "/nonexistent.gguf", "nothing", runs=1,
                                vocab_size=10)  # fmt: skip
    entry = fresh["engines"]["structgen"]
    assert entry["ok"] == 0 and entry["error"]


# -- sample size, report and plot -------------------------------------------------------------


def test_the_sample_size_is_the_sum_over_subsets() -> None:
    cases, info = load_cases(SAMPLE, sample=1)
    assert sum(len(found) for found in cases.values()) == len(info) == 15
    tests = sum(len(case.tests) for found in cases.values() for case in found)
    assert describe_sample(info) == (f"MaskBench: 15 schemas ({tests:,} test instances) from "
                                     "15 subsets")  # fmt: skip


def _results(structgen_p50: float, llg_tbm_p99: float) -> dict[str, Any]:
    def entry(ttfm: float, tbm_p99: float, passing: int) -> dict[str, Any]:
        return {"schemas": 10, "compiled": 10, "compile_errors": 0, "timeouts": 0,
                "validation_errors": 0, "invalidation_errors": 0, "other_errors": 0,
                "passing": passing,
                "ttfm": {"n": 10, "p50_ms": ttfm, "p90_ms": ttfm * 2, "p99_ms": ttfm * 3,
                         "max_ms": ttfm * 4},
                "tbm": {"n": 1000, "p50_us": 2.0, "p99_us": tbm_p99, "max_us": 900.0},
                "tbm_quantiles": {"q": [0.0, 50.0, 99.0, 100.0],
                                  "us": [1.0, 2.0, tbm_p99, 900.0]},
                "repeat_ttfm": {"n": 10, "p50_ms": 1.5, "p90_ms": 2, "p99_ms": 3, "max_ms": 4},
                "repeat_from_cache": 10, "repeat_errors": 0, "cold_from_cache": 0,
                "peak_rss_growth": {"n": 10, "p50_mib": 5.0, "p99_mib": 40.0, "max_mib": 50.0},
                "peak_rss": {"n": 10, "p50_mib": 300.0, "p99_mib": 340.0, "max_mib": 350.0},
                "peak_rss_methods": ["VmHWM reset"], "traced_peak": {"n": 0}}  # fmt: skip

    records = [{"engine": e, "subset": "Toy", "file": f"{i}.json", "compiled": True,
                "ttfm_ms": 1.0 + i, "repeat_ttfm_ms": 0.5 + i, "passing": True, "failures": [],
                "status": "ok", "validation_errors": 0, "invalidation_errors": 0,
                "disagreements": 0, "exceptions": 0, "unwalked": 0}
               for e in ("structgen", "llguidance") for i in range(10)]  # fmt: skip
    return {
        "machine": {"timestamp": "2026-12-06T00:00:00", "cpu": "test", "cpu_count": 2,
                    "python": "3", "git_revision": "abc"},
        "config": {"engines": ["structgen", "llguidance"], "subsets": ["Toy"], "sample": 10,
                   "seed": 0, "data_dir": "d", "timeout_s": 30, "isolation": "workers",
                   "serialisation": "json.dumps", "repeat": True, "out": "outdir"},
        "engines": {e: {"status": "ok", "version": "1", "options": {}, "cold_compile": "c",
                        "prepare": "p"} for e in ("structgen", "llguidance")},
        "tokenizer": {"title": "Toy", "vocab_size": 257},
        "subsets": {"Toy": {"tests_valid": 5, "tests_invalid": 5}},
        "summary": {"all": {"structgen": entry(structgen_p50, 50.0, 10),
                            "llguidance": entry(2.0, llg_tbm_p99, 9)},
                    "Toy": {"structgen": entry(structgen_p50, 50.0, 10),
                            "llguidance": entry(2.0, llg_tbm_p99, 9)}},
        "comparisons": {},
        "results": records,
        "fresh_start": {"schema": SMALL_SCHEMA, "runs": 5, "engines": {
            "structgen": {"runs": 5, "ok": 5, "import_ms": 100.0, "tokenizer_ms": 50.0,
                          "compile_first_mask_ms": 150.0, "total_ms": 250.0, "allowed": [7]},
            "llguidance": {"runs": 5, "ok": 0, "error": "exit 1: boom"}}},
    }  # fmt: skip


def test_the_report_shows_the_new_columns_sections_and_plot_link() -> None:
    page = render_markdown(_results(structgen_p50=12.0, llg_tbm_p99=100.0))
    assert "TTFM p50 / p90 / p99 / max (ms)" in page and "TBM p50 / p99 / max (µs)" in page
    assert "| 12.0 / 24.0 / 36.0 / 48.0 | 2 / 50.0 / 900 |" in page
    assert "### Second compile and memory per schema" in page
    assert "| structgen | warm disk cache, memo caches dropped |" in page
    assert "| 10 / 10 |" in page and "| 5 / 40.0 / 50.0 | 300 / 340 / 350 |" in page
    assert "### First compile in a fresh process" in page
    assert "| structgen | 100 | 50.0 | 150 | 250 | 5 / 5 | 7 |" in page
    assert "| llguidance | failed: exit 1: boom |" in page
    assert "](outdir/maskbench_distributions.png)" in page


def test_the_targets_table_says_met_or_not_met() -> None:
    lines: list[str] = []
    render_targets(_results(structgen_p50=12.0, llg_tbm_p99=100.0), lines.append)
    table = "\n".join(lines)
    assert "| TTFM p50 ≤ 20 ms | 12.0 ms | met |" in table
    assert "| TTFM p99 ≤ 500 ms | 36.0 ms | met |" in table
    assert "| TBM p99 ≤ llguidance's p99 (same run) | 50.0 µs vs 100 µs | met |" in table
    assert "| warm-cache TTFM p50 ≤ 5 ms | 1.5 ms (10 / 10 from cache) | met |" in table
    assert "(empty disk cache) | 250 ms | met |" in table
    assert "| passing schemas above every peer | 10 vs best peer 9 | met |" in table
    lines.clear()
    render_targets(_results(structgen_p50=30.0, llg_tbm_p99=20.0), lines.append)
    table = "\n".join(lines)
    assert "| TTFM p50 ≤ 20 ms | 30.0 ms | **not met** |" in table
    assert "| TBM p99 ≤ llguidance's p99 (same run) | 50.0 µs vs 20.0 µs | **not met** |" in table


def test_ecdf_and_the_distribution_plot(tmp_path: Path) -> None:
    xs, ys = ecdf([3.0, 1.0, 2.0, 2.0])
    assert xs == [1.0, 2.0, 2.0, 3.0] and ys == [0.25, 0.5, 0.75, 1.0]
    path = plot_distributions(_results(12.0, 100.0), tmp_path / "d.png")
    assert path is not None and path.stat().st_size > 10_000
