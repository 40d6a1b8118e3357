"""The decode benchmark: its sample, its counters and report on a stand-in generator (fast),
and a tiny real run (SmolLM2, one schema, 8 tokens)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from structgen.decoding import DecodingStats
from structgen.errors import ConfigurationError, UnsupportedFeatureError
from structgen.generation import GenerationResult, IncompleteGenerationError
from structgen_bench import cli as bench_cli
from structgen_bench import decode_bench
from structgen_bench.decode_bench import (
    CONFIGURATIONS,
    DecodeBenchConfig,
    prompt_for,
    run_decode_benchmark,
    sample_schemas,
)
from structgen_bench.decode_report import render_markdown

SMALL = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
LONG = {"title": "long", "type": "object", "properties": {"a": {"type": "integer"}}}
BIG = {"type": "object", "description": "x" * 5000}
REFUSED = {"title": "refused", "type": "string"}


def write_data(root: Path) -> Path:
    """Github_easy: a schema whose runs run out of tokens, and one too big to prompt with;
    Glaiveai2K: a schema whose runs succeed; Snowplow: one structgen refuses."""
    files = {
        "Github_easy/long.json": LONG,
        "Github_easy/big.json": BIG,
        "Glaiveai2K/small.json": SMALL,
        "Snowplow/refused.json": REFUSED,
    }
    for name, schema in files.items():
        path = root / "jsonschemabench" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, indent=4))
    return root


def fake_generate(
    prompt: str,
    *,
    schema: Any = None,
    model: Any,
    tokenizer: Any,
    max_new_tokens: int,
    sampler: str | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    jump_forward: bool = True,
) -> GenerationResult:
    """Four tokens per run; two forward passes with jump-forward, else four; a full mask
    (100 evaluations) per token for greedy, two checks per token for AWRS, none free."""
    assert model == "model" and tokenizer == "tokenizer" and "matches the schema" in prompt
    evaluations = 0 if schema is None else (400 if sampler == "greedy" else 8)
    stats = DecodingStats(
        tokens=min(4, max_new_tokens),
        forward_passes=min(2 if jump_forward else 4, max_new_tokens),
        constraint_evaluations=evaluations,
        tokens_jumped=2 if jump_forward and schema is not None else 0,
        model_seconds=0.001,
    )
    if schema is None:
        return GenerationResult("Sure! Here is JSON", [1, 2, 3], stats)
    if schema.get("title") == "refused":
        raise UnsupportedFeatureError("a keyword", pattern="", position=None)
    if schema.get("title") == "long":
        error = IncompleteGenerationError(max_new_tokens, '{"a"')
        error.stats = stats
        raise error
    return GenerationResult('{"a":1}', [1, 2, 3], stats)


def test_the_sample_takes_subsets_in_turn_and_leaves_big_schemas_out(tmp_path):
    data = write_data(tmp_path)
    cases = sample_schemas(data, subsets=None, seed=0, max_schema_bytes=4000)
    assert [c.key for c in cases] == [
        "Github_easy/long.json",
        "Glaiveai2K/small.json",
        "Snowplow/refused.json",
    ]
    assert json.dumps(SMALL) in prompt_for(SMALL)
    with pytest.raises(ConfigurationError, match="no subset"):
        sample_schemas(data, subsets=["Nope"], seed=0, max_schema_bytes=4000)


def test_a_run_counts_each_configuration_and_reports_what_it_could_not_run(tmp_path):
    config = DecodeBenchConfig(
        data_dir=write_data(tmp_path),
        sample=3,
        max_new_tokens=8,
        progress=False,
        generate=fake_generate,
        load_model=lambda: ("model", "tokenizer"),
    )
    results = run_decode_benchmark(config)
    # The refused schema is left out (and there is no other to take its place).
    assert [s["schema"] for s in results["schemas"]] == [
        "Github_easy/long.json",
        "Glaiveai2K/small.json",
    ]
    assert results["refused"][0]["schema"] == "Snowplow/refused.json"
    # fake_generate takes no ``speculative``: those configurations are listed, not run.
    spec = [c.name for c in CONFIGURATIONS if "speculative" in c.options]
    assert spec and all(results["configurations"][n]["unavailable"] == ["speculative"]
                        for n in spec)  # fmt: skip
    summary = results["summary"]
    assert set(summary) == {c.name for c in CONFIGURATIONS} - set(spec)
    mask, awrs_jf, free = summary["mask"], summary["awrs-t1+jf"], summary["unconstrained"]
    assert (mask["runs"], mask["valid"], mask["incomplete"], mask["errors"]) == (2, 1, 1, 0)
    assert mask["tokens"] == 8 and mask["forward_passes_per_token"] == 1.0
    assert mask["evaluations_per_token"] == 100.0
    assert awrs_jf["forward_passes_per_token"] == 0.5 and awrs_jf["evaluations_per_token"] == 2
    assert (free["valid"], free["evaluations_per_token"]) == (0, 0)  # prose is not JSON
    assert mask["tokens_per_s"] > 0 and mask["p50_s"] <= mask["p99_s"]
    # Sampling runs are seeded, differently per schema and configuration.
    seeds = [r for r in results["runs"] if r["config"].startswith("awrs-t1")]
    assert seeds and all(r["stats"] is not None for r in seeds)

    section = render_markdown(results)
    assert "| mask: mask-then-sample (greedy, full mask) | 2 | 1 | 1 | 8 |" in section
    assert mask["tokens_jumped"] == mask["tokens_speculated"] == 0
    assert summary["mask+jf"]["tokens_jumped"] == 4  # two schemas, two forced tokens kept each
    assert "awrs-t0+jf+spec (`generate_result` takes no 'speculative' yet)" in section
    assert "Snowplow/refused.json" in section


def test_unknown_configurations_are_refused(tmp_path):
    config = DecodeBenchConfig(data_dir=write_data(tmp_path), configs=["mask", "beam"],
                               generate=fake_generate)  # fmt: skip
    with pytest.raises(ConfigurationError, match="unknown configuration"):
        run_decode_benchmark(config)


def test_the_command_writes_json_plot_and_section(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(decode_bench, "generate_result", fake_generate)
    monkeypatch.setattr(decode_bench, "_load_smollm2", lambda threads: ("model", "tokenizer"))
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# structgen benchmarks\n\nintro\n")
    status = bench_cli.main([
        "decode", "--data", str(write_data(tmp_path / "data")), "--sample", "1",
        "--configs", "unconstrained,mask,awrs-t0+jf", "--max-new-tokens", "8",
        "--out", str(tmp_path / "out"), "--markdown", str(markdown), "--no-progress",
    ])  # fmt: skip
    assert status == 0
    results = json.loads((tmp_path / "out" / "decode.json").read_text())
    assert list(results["summary"]) == ["unconstrained", "mask", "awrs-t0+jf"]
    assert (tmp_path / "out" / "decode.png").stat().st_size > 0
    page = markdown.read_text()
    assert page.startswith("# structgen benchmarks\n\nintro\n")
    assert "structgen-bench:decode:begin" in page and "| awrs-t0+jf: AWRS t=0" in page
    assert "decode.png" in capsys.readouterr().out


@pytest.mark.slow
def test_a_tiny_real_run_on_smollm2(tmp_path):
    data = tmp_path / "jsonschemabench" / "Glaiveai2K"
    data.mkdir(parents=True)
    (data / "count.json").write_text(json.dumps(SMALL))
    config = DecodeBenchConfig(data_dir=tmp_path, sample=1, max_new_tokens=8, progress=False,
                               configs=["unconstrained", "mask", "awrs-t0+jf"])  # fmt: skip
    results = run_decode_benchmark(config)
    summary = results["summary"]
    vocab_size = 49152
    assert summary["mask"]["evaluations_per_token"] == vocab_size  # a full mask per token
    assert summary["awrs-t0+jf"]["evaluations_per_token"] < vocab_size / 100
    assert summary["awrs-t0+jf"]["forward_passes_per_token"] <= 1.0
    assert summary["unconstrained"]["evaluations_per_token"] == 0
    runs = {r["config"]: r for r in results["runs"]}
    # Greedy decoding both ways: the same text ({"a": then digits), valid when it closed.
    assert runs["mask"]["text"] == runs["awrs-t0+jf"]["text"]
    assert runs["mask"]["text"].startswith('{"a":')
    assert runs["mask"]["valid"] == (runs["mask"]["status"] == "ok")
