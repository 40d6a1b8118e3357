"""The batch benchmark on a tiny configuration (three schemas, batch sizes 1 and 2, the SmolLM2
vocabulary, no model): its JSON document, its report, and xgrammar's masks as an independent
oracle of structgen's — bit for bit on every row and step, where both compile the schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from structgen_bench import cli as bench_cli
from structgen_bench.batch_apply import APPLY_KERNELS, measure_apply
from structgen_bench.batch_bench import BatchBenchConfig, fill_ratios, run_batch_benchmark
from structgen_bench.batch_e2e import summarise_e2e
from structgen_bench.batch_fill import compare_bitmasks
from structgen_bench.batch_report import render_markdown

# Schemas whose language is the same in both engines in compact mode, with one valid instance
# each; the third has no valid instance, so it is never a row; structgen refuses the fourth
# (its oneOf branches overlap), so it is left out. Elsewhere the languages differ
# by design: structgen also allows a property name or an enum string spelled with escapes
# ("\u0078" for "x") and the integer -0; xgrammar refuses escapes in enum strings and in
# length-bounded strings, where it allows raw control characters.
SCHEMAS: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    "Github_trivial/words.json": (
        {"type": "array", "items": {"type": "string"}},
        [{"valid": True, "data": ["ab", 'x"y', "é"]}, {"valid": False, "data": [1]}],
    ),
    "Glaiveai2K/numbers.json": (
        {"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "boolean"}]}},
        [{"valid": True, "data": [1.5, -2, True, 3e-05]}],
    ),
    "Github_trivial/overlapping.json": (
        {"type": "array", "items": {"oneOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}},
            {"type": "object", "properties": {"a": {"type": "string"}}},
        ]}},
        [{"valid": True, "data": [{"a": 1}]}],
    ),
    "Glaiveai2K/empty.json": (
        {"type": "object", "properties": {"a": {"type": "null"}}, "additionalProperties": False},
        [{"valid": False, "data": {"a": 1}}],
    ),
}  # fmt: skip


def write_data(root: Path) -> Path:
    for name, (schema, tests) in SCHEMAS.items():
        subset, file = name.split("/")
        path = root / "jsonschemabench" / subset / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema))
        lines = root / "maskbench-tests" / f"{subset}.jsonl"
        lines.parent.mkdir(parents=True, exist_ok=True)
        with lines.open("a") as handle:
            handle.write(json.dumps({"file": file, "tests": tests}) + "\n")
    return root


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = write_data(tmp_path_factory.mktemp("data"))
    config = BatchBenchConfig(data_dir=data, tokenizer="smollm2", batch_sizes=[1, 2], steps=12,
                              apply_repeat=3, model=False, progress=False)  # fmt: skip
    return run_batch_benchmark(config)


def test_the_document_has_every_part(results: dict[str, Any]) -> None:
    assert results["benchmark"] == "batch"
    rows = sorted(r["row"] for r in results["rows"])
    assert rows == ["Github_trivial/words.json", "Glaiveai2K/numbers.json"]
    assert [r["batch"] for r in results["fill"]] == [1, 2]
    for record in results["fill"]:
        assert set(record["compile_seconds"]) == {"structgen", "xgrammar"}
        assert set(record["passes"]) == {"first", "warm"}
        for data in record["passes"].values():
            for engine in ("structgen", "xgrammar"):
                seconds = data["engines"][engine]["seconds"]
                assert 0 < seconds["p50"] <= seconds["p99"] <= seconds["max"]
            assert data["rejected"] == []  # both engines take every instance token
    assert {(r["batch"], r["pass"]) for r in results["fill_ratios"]} == {
        (b, p) for b in (1, 2) for p in ("first", "warm")
    }
    assert [r["row"] for r in results["left_out"]] == ["Github_trivial/overlapping.json"]
    assert results["left_out"][0]["reason"].startswith("structgen: UnsupportedSchemaError")
    assert results["overlap"] is None and results["e2e"] is None
    attribution = results["first_visit_rows"]
    assert attribution["rows"] == 2 and len(attribution["top"]) == 2
    assert sum(t["share"] for t in attribution["top"]) == pytest.approx(1.0)
    kernels = results["apply"]["kernels"]
    assert set(kernels) == set(APPLY_KERNELS)
    assert all(kernels[k][s]["status"] == "ok" for k in kernels for s in ("1", "2"))
    json.dumps(results)  # the document is plain JSON


def test_structgen_and_xgrammar_masks_agree_bit_for_bit(results: dict[str, Any]) -> None:
    """Every step of every row, both passes: the two engines' bitmasks are identical."""
    for record in results["fill"]:
        for data in record["passes"].values():
            agreement = data["agreement"]
            assert agreement["rows"] == record["batch"] * 12
            assert agreement["equal_rows"] == agreement["rows"], agreement["examples"]


def test_a_differing_mask_is_reported_with_the_tokens_of_each_side() -> None:
    ours = np.zeros(2, dtype=np.int32)
    theirs = np.zeros(2, dtype=np.int32)
    ours[0], theirs[1] = 0b101, 0b1
    found = compare_bitmasks(ours, theirs, 64)
    assert found["only_structgen"] == [0, 2] and found["only_xgrammar"] == [32]


def test_apply_kernels_are_checked_against_the_reference_before_timing() -> None:
    out = measure_apply(vocab_size=1000, batch_sizes=[3], repeat=2)
    assert out["missing"] == []
    for entry in out["kernels"].values():
        assert entry["3"]["status"] == "ok"
        assert entry["3"]["per_row_seconds"]["p50"] * 3 == pytest.approx(
            entry["3"]["seconds"]["p50"]
        )


def test_ratios_and_end_to_end_summary() -> None:
    fill = [{"batch": 4, "passes": {"warm": {"engines": {
        "structgen": {"seconds": {"p50": 1.0, "p99": 4.0, "mean": 2.0}},
        "xgrammar": {"seconds": {"p50": 2.0, "p99": 2.0, "mean": 2.0}},
    }}}}]  # fmt: skip
    assert fill_ratios(fill) == [{"batch": 4, "pass": "warm", "p50_ratio": 0.5, "p99_ratio": 2.0,
                                  "mean_ratio": 1.0}]  # fmt: skip
    runs = [
        {"generator": "g", "config": "none", "tokens": 10, "seconds": 1.0, "valid": None},
        {"generator": "g", "config": "structgen", "tokens": 10, "seconds": 2.0, "valid": True},
    ]
    summary = summarise_e2e(runs)["g"]
    assert summary["none"]["tokens_per_s"] == 10 and summary["structgen"]["slowdown"] == 2.0
    assert summary["structgen"]["valid"] == 1
    assert summary["structgen"]["added_ms_per_token"] == pytest.approx(100.0)


def test_the_command_writes_json_plot_and_section(
    tmp_path: Path, results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from structgen_bench import cli

    seen: list[BatchBenchConfig] = []

    def fake_run(config: BatchBenchConfig) -> dict[str, Any]:
        seen.append(config)
        return json.loads(json.dumps(results))

    monkeypatch.setattr(cli, "run_batch_benchmark", fake_run)
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# structgen benchmarks\n\nintro\n")
    status = bench_cli.main(["batch", "--batch-sizes", "1,2", "--steps", "12", "--no-model",
                             "--xgrammar-threads", "1", "--out", str(tmp_path / "out"),
                             "--markdown", str(markdown), "--no-progress"])  # fmt: skip
    assert status == 0
    assert (seen[0].batch_sizes, seen[0].steps, seen[0].model) == ([1, 2], 12, False)
    assert seen[0].xgrammar_threads == 1
    assert json.loads((tmp_path / "out" / "batch.json").read_text())["benchmark"] == "batch"
    assert (tmp_path / "out" / "batch.png").stat().st_size > 0
    page = markdown.read_text()
    assert page.startswith("# structgen benchmarks\n\nintro\n")
    assert "structgen-bench:batch:begin" in page and "## Batch" in page
    section = render_markdown(results)
    assert "| 2 | warm |" in section and "24 / 24 |" in section


def test_the_report_shows_the_model_parts(results: dict[str, Any]) -> None:
    document = json.loads(json.dumps(results))
    document["config"].update(model=True)
    timing = {"seconds": 2.0, "forward_seconds": 1.5, "fill_seconds": 0.2}
    document["overlap"] = {
        "rows": 4, "steps": 8, "same_tokens": True, "hidden_fraction": 0.95,
        "serial": {**timing, "exposed_fill_seconds": 0.2},
        "overlap": {**timing, "exposed_fill_seconds": 0.01},
    }  # fmt: skip
    runs = [
        {"generator": "llama-cpp-python", "config": "none", "tokens": 8, "seconds": 1.0,
         "prefill_seconds": 0.2, "valid": None},
        {"generator": "llama-cpp-python", "config": "structgen", "tokens": 8, "seconds": 1.4,
         "prefill_seconds": 0.2, "valid": True},
    ]  # fmt: skip
    document["e2e"] = {"runs": runs, "summary": summarise_e2e(runs)}
    section = render_markdown(document)
    assert "hidden: 95.0%" in section and "same tokens both ways: True" in section
    # decode: 8 tokens in 0.8 s against 1.2 s: 10 and 6.7 tokens/s, 1.5x, 50 ms per token more
    assert "| llama-cpp-python | structgen | 1 | 8 | 5.7 | 6.7 | 1.50 | 50.00 | 1/1 |" in section
