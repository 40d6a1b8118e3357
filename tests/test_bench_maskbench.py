"""MaskBench: its error classification on a toy engine, its worker timeouts, and a small run
through the CLI on the vendored sample (``tests/data/maskbench-sample``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from structgen_bench import cli as bench_cli
from structgen_bench.maskbench import classify, summarise
from structgen_bench.maskbench_data import Case, resolve_tokenizer
from structgen_bench.maskbench_worker import EngineWorker, Job, run_schema
from structgen_bench.peers import EngineAdapter

SAMPLE = Path(__file__).resolve().parent / "data" / "maskbench-sample"
EOS = 256
TOKEN_BYTES: list[bytes | None] = [bytes([i]) for i in range(256)] + [None]


class ToyEngine(EngineAdapter):
    """Token ``i < 256`` is byte ``i``, 256 is EOS; the schema ``{"enum": [...]}`` accepts
    exactly the ``json.dumps`` of its values. ``lax`` makes ``advance`` take any token (a mask
    and an advance that disagree); a schema with ``"boom"`` does not compile; ``"sleep"``
    seconds are spent compiling."""

    name = "toy"
    distribution = "toy"
    module = "json"
    cold_compile = own_memory = prepare_does = ""

    def __init__(self, *, lax: bool = False) -> None:
        super().__init__()
        self.lax = lax

    @property
    def mask_words(self) -> int:
        return (EOS + 1 + 31) // 32

    def prepare(self, tokenizer: Any) -> None:
        pass

    def compile(self, regex: str) -> Any:
        raise NotImplementedError

    def compile_schema(self, schema: Any) -> Any:
        if "boom" in schema:
            raise ValueError("keyword boom is not supported")
        time.sleep(schema.get("sleep", 0))
        return [json.dumps(value) for value in schema["enum"]]

    def matcher(self, compiled: Any) -> Any:
        return {"language": compiled, "prefix": ""}

    def fill(self, matcher: Any, bitmask: np.ndarray) -> None:
        bitmask[:] = 0
        prefix = matcher["prefix"]
        allowed = {ord(s[len(prefix)]) for s in matcher["language"]
                   if s.startswith(prefix) and len(s) > len(prefix)}  # fmt: skip
        if prefix in matcher["language"]:
            allowed.add(EOS)
        words = bitmask.view(np.uint32)
        for token in allowed:
            words[0, token >> 5] |= np.uint32(1 << (token & 31))

    def advance(self, matcher: Any, token_id: int) -> bool:
        following = matcher["prefix"] + chr(token_id)
        ok = any(s.startswith(following) for s in matcher["language"])
        if ok or self.lax:
            matcher["prefix"] = following
        return ok or self.lax

    def is_accepting(self, matcher: Any) -> bool:
        return matcher["prefix"] in matcher["language"]


def _case(schema: dict[str, Any], tests: list[tuple[bool, Any]]) -> Case:
    case = Case("Toy", "toy.json", json.dumps(schema),
                [{"valid": valid, "data": data} for valid, data in tests])  # fmt: skip
    case.texts = [json.dumps(data) for _valid, data in tests]
    case.ids = [list(text.encode()) for text in case.texts]
    return case


def _run(engine: EngineAdapter, case: Case, timeout_s: float = 10.0) -> dict[str, Any]:
    # The walk budget is generous: on a loaded machine a 10 s budget cut the toy walks short.
    walks = [(v, ids) for _i, v, ids in case.walkable()]
    job = Job(case.schema_text, walks, EOS, timeout_s, 3600.0)
    return classify(run_schema(engine, job), case, engine.name, TOKEN_BYTES)


def test_protocol_classifies_each_kind_of_error() -> None:
    case = _case(
        {"enum": [12, 123]},
        [
            (True, 123),  # accepted: fine
            (True, 1),  # every token allowed, but not accepting at its end: validation error
            (True, 14),  # "4" not in the mask: validation error
            (False, 12),  # accepted to its end: invalidation error
            (False, 5),  # rejected at once: fine
        ],
    )
    record = _run(ToyEngine(), case)
    assert record["status"] == "ok" and record["compiled"] is True
    assert (record["tests"], record["valid_tests"], record["invalid_tests"]) == (5, 3, 2)
    assert record["validation_errors"] == 2
    assert record["invalidation_errors"] == 1
    assert record["disagreements"] == record["exceptions"] == record["unwalked"] == 0
    assert record["passing"] is False
    kinds = {(f["test"], f["kind"]): f for f in record["failures"]}
    assert set(kinds) == {(1, "validation"), (2, "validation"), (3, "invalidation")}
    assert kinds[(1, "validation")]["what"].startswith("not accepting at the end")
    assert kinds[(1, "validation")]["token"] == "EOS"
    assert kinds[(2, "validation")]["step"] == 1 and kinds[(2, "validation")]["token"] == "b'4'"
    # 123: 4 masks; 1: 2; 14: 2 (stops at "4"); 12: 3; 5: 1.
    assert record["tokens"] == 12 and record["mask"]["n"] == 12
    assert record["compile_ms"] > 0 and record["ttfm_ms"] >= record["compile_ms"]


def test_a_clean_schema_passes_and_disagreeing_mask_and_advance_do_not() -> None:
    case = _case({"enum": ["ab", 7]}, [(True, "ab"), (True, 7), (False, "abc"), (False, 8)])
    clean = _run(ToyEngine(), case)
    assert clean["passing"] is True
    assert clean["validation_errors"] == clean["invalidation_errors"] == 0
    lax = _run(ToyEngine(lax=True), case)
    # The mask still decides (so no instance is misjudged), but advance took excluded tokens.
    assert lax["validation_errors"] == lax["invalidation_errors"] == 0
    assert lax["disagreements"] == 2 and lax["passing"] is False
    assert {f["kind"] for f in lax["failures"]} == {"mask/advance disagreement"}


def test_compile_errors_and_timeouts_are_results() -> None:
    case = _case({"enum": [1], "boom": True}, [(True, 1)])
    refused = _run(ToyEngine(), case)
    assert refused["status"] == "compile error" and refused["compiled"] is False
    assert "keyword boom is not supported" in refused["error"]
    slow = _run(ToyEngine(), _case({"enum": [1], "sleep": 0.05}, [(True, 1)]), timeout_s=0.01)
    assert slow["status"] == "timeout" and slow["compiled"] is False and slow["tokens"] == 0
    summary, _ = summarise([refused, slow], {}, ["toy"], ["Toy"])
    counts = summary["all"]["toy"]
    assert (counts["schemas"], counts["compile_errors"], counts["timeouts"]) == (2, 2, 1)
    assert counts["passing"] == 0 and counts["ttfm"] == {"n": 0}


def test_a_worker_past_the_timeout_is_killed_and_replaced() -> None:
    ref = resolve_tokenizer("smollm2", SAMPLE)
    worker = EngineWorker("structgen", ref)
    try:
        assert worker.start()["status"] == "ok"
        schema = json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}})
        ids = [[ord(c) for c in '{"n": 1}']]  # never walked: the compile cannot finish in time
        late = worker.run(Job(schema, [(True, ids[0])], 0, 0.001, 10.0), walk_timeout_s=10.0)
        assert late["status"] == "timeout" and "killed" in late["error"]
        assert not worker.alive()
        again = worker.run(Job(schema, [], 0, 60.0, 10.0), walk_timeout_s=30.0)
        assert again["status"] == "ok", again.get("error")
        assert again["compile_s"] > 0 and again["first_mask_s"] > 0
        assert worker.starts == 2
    finally:
        worker.stop()


def _imported_by_building_the_cli() -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c",
         "from structgen.cli.main import build_parser; build_parser()"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}


def test_registering_the_cli_imports_no_benchmark_module() -> None:
    assert not [m for m in _imported_by_building_the_cli() if m.startswith("structgen_bench")]


def test_registering_the_cli_imports_no_heavy_module() -> None:
    heavy = ("numpy", "torch", "transformers")
    imported = _imported_by_building_the_cli()
    assert not sorted(m for m in imported if m.split(".")[0] in heavy)[:5]


def test_without_the_harness_bench_exits_2_and_says_how_to_install_it() -> None:
    """A Python in which ``structgen_bench`` cannot be found, as after ``pip install .``."""
    script = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'structgen_bench':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from structgen.cli.main import main\n"
        "sys.exit(main(['bench', 'regex', '--quick']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "the benchmark harness is not installed" in done.stderr
    assert "make bench" in done.stderr and "pip install ./benchmarks" in done.stderr


def test_bench_hands_every_argument_to_the_harness(monkeypatch: pytest.MonkeyPatch) -> None:
    from structgen.cli.main import main

    seen: list[tuple[list[str], str]] = []
    monkeypatch.setattr(bench_cli, "main", lambda argv, prog: seen.append((argv, prog)) or 7)
    assert main(["bench", "regex", "--quick", "--out", "x", "--help"]) == 7
    assert seen == [(["regex", "--quick", "--out", "x", "--help"], "structgen bench")]


@pytest.mark.parametrize("name", ["regex", "grammar", "maskbench"])
def test_every_benchmark_has_the_common_options(name: str) -> None:
    parser = bench_cli.build_parser()
    args = parser.parse_args([name, "--engines", "structgen, llguidance", "--out", "o",
                              "--markdown", "m.md", "--no-markdown", "--no-plot",
                              "--no-progress"])  # fmt: skip
    assert args.engines == ["structgen", "llguidance"]
    assert (str(args.out), str(args.markdown)) == ("o", "m.md")
    assert args.no_markdown and args.no_plot and args.no_progress
    defaults = parser.parse_args([name])
    assert str(defaults.out) == "benchmarks/results" and str(defaults.markdown) == "BENCHMARKS.md"
    assert defaults.engines and defaults.engines[0] == "structgen"


SUBSETS = ("Github_easy", "Kubernetes", "Synthesized", "JME")


def test_a_small_maskbench_run_through_the_cli(tmp_path: Path) -> None:
    from structgen.cli.main import main

    out = tmp_path / "results"
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\nHand-written intro.\n")
    argv = [
        "bench", "maskbench", "--data", str(SAMPLE), "--tokenizer", "smollm2",
        "--engines", "structgen,llguidance", "--subsets", ",".join(SUBSETS), "--sample", "2",
        "--timeout", "60", "--no-progress", "--out", str(out), "--markdown", str(markdown),
        "--fresh-runs", "1",
    ]  # fmt: skip
    assert main(argv) == 0

    results = json.loads((out / "maskbench.json").read_text())
    assert results["benchmark"] == "maskbench"
    for key in ("machine", "config", "engines", "tokenizer", "subsets", "setup", "results",
                "summary", "comparisons"):  # fmt: skip
        assert key in results
    assert results["config"]["subsets"] == list(SUBSETS)
    assert results["tokenizer"]["key"] == "smollm2"
    assert [s["status"] for s in results["setup"]] == ["ok", "ok"]
    assert results["engines"]["structgen"]["options"]["whitespace"] == "flexible"
    assert results["engines"]["llguidance"]["options"]["whitespace_flexible"] is True
    rows = results["results"]
    assert len(rows) == 2 * 2 * len(SUBSETS)  # engines × schemas
    assert {(r["engine"], r["subset"]) for r in rows} == {
        (e, s) for e in ("structgen", "llguidance") for s in SUBSETS
    }
    for row in rows:
        assert row["status"] in ("ok", "compile error", "timeout")
        if not row["compiled"]:
            assert row["error"]

    ours = [r for r in rows if r["engine"] == "structgen"]
    assert sum(r["tests"] for r in ours) > 10
    for row in ours:
        assert row["compiled"], (row["file"], row["error"])
        assert row["validation_errors"] == 0, row["failures"]
        assert row["invalidation_errors"] == 0, row["failures"]
        assert row["disagreements"] == row["exceptions"] == row["unwalked"] == 0
        assert row["passing"] is True
        assert row["compile_ms"] > 0 and row["first_mask_ms"] > 0
        assert row["ttfm_ms"] >= row["compile_ms"]
        if row["tests"]:
            assert row["tokens"] > row["tests"]
            assert row["mask"]["p50_us"] > 0 and row["mask"]["max_us"] >= row["mask"]["p99_us"]
    mine = results["summary"]["all"]["structgen"]
    assert mine["schemas"] == mine["compiled"] == mine["passing"] == 2 * len(SUBSETS)
    assert mine["validation_errors"] == mine["invalidation_errors"] == 0
    assert 0 < mine["ttfm"]["p50_ms"] <= mine["ttfm"]["p99_ms"]
    assert 0 < mine["tbm"]["p50_us"] <= mine["tbm"]["p99_us"]
    assert mine["tbm"]["n"] == sum(r["tokens"] for r in ours)
    compared = results["comparisons"]["all"]["llguidance"]
    assert compared["schemas"] == results["summary"]["all"]["llguidance"]["passing"]

    page = markdown.read_text()
    assert page.startswith("# Benchmarks\n\nHand-written intro.")
    assert "structgen-bench:maskbench:begin" in page and "structgen-bench:maskbench:end" in page
    assert f"| all | structgen | {2 * len(SUBSETS)} | {2 * len(SUBSETS)} | 0 | 0 | 0 | 0 |" in page
    assert "| JME | llguidance |" in page
    assert (out / "maskbench.png").stat().st_size > 10_000
    assert (out / "maskbench_distributions.png").stat().st_size > 10_000

    # The second compile, memory and the first compile in a fresh process, for both engines.
    for row in rows:
        if row["compiled"]:
            assert row["repeat_ttfm_ms"] > 0 and row["peak_rss_bytes"] > 0
            traced = row["traced_peak_bytes"]
            assert traced > 0 if row["engine"] == "structgen" else traced is None
    assert all(r["from_cache"] is False for r in ours)  # each schema once: every first is cold
    assert sum(r["repeat_from_cache"] for r in ours) == mine["repeat_from_cache"]
    fresh = results["fresh_start"]["engines"]
    assert set(fresh) == {"structgen", "structgen, vocabulary cached", "llguidance"}
    assert all(entry["ok"] == 1 for entry in fresh.values()), fresh
    for heading in ("### Second compile and memory per schema", "### First compile in a fresh "
                    "process", "### Issue 11 targets"):  # fmt: skip
        assert heading in page
