"""``structgen bench batch``: structgen inside a batched generator, in one run (issue 13).

1. **Fill** (:mod:`~structgen_bench.batch_fill`): mask fill time per batch size on the
   Llama-3 vocabulary, a different JSON Schema per row, structgen's
   ``fill_next_token_bitmasks`` against xgrammar's ``BatchGrammarMatcher`` on the same rows and
   steps, first visit and warm; the two engines' bitmasks compared at every step.
2. **Apply** (:mod:`~structgen_bench.batch_apply`): apply-kernel time per row on float32
   logits of the vocabulary's width.
3. **Overlap** (:mod:`~structgen_bench.batch_overlap`, needs the model): how much mask time
   ``fill_async`` hides behind SmolLM2's forward pass.
4. **End to end** (:mod:`~structgen_bench.batch_e2e`, needs the model): tokens per second of
   SmolLM2 through transformers and llama-cpp-python, constrained and not.

``model=False`` runs the first two only (the tests' size).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from structgen.errors import ConfigurationError
from structgen_bench.batch_apply import measure_apply
from structgen_bench.batch_attribution import attribute_first_visit
from structgen_bench.batch_e2e import measure_llama_cpp, measure_transformers, summarise_e2e
from structgen_bench.batch_fill import (
    compared_bits,
    measure_fill,
    select_rows,
    structgen_engine,
    xgrammar_engine,
)
from structgen_bench.batch_overlap import OVERLAP_SCHEMAS, measure_overlap
from structgen_bench.batch_rows import load_rows
from structgen_bench.grammar_docs import default_data_dir
from structgen_bench.maskbench_data import load_tokenizer, resolve_tokenizer
from structgen_bench.runs import progress_bar
from structgen_bench.timing import machine_info, package_version
from structgen_bench.vocabs import tokenizer_facts

__all__ = ["BatchBenchConfig", "DEFAULT_BATCH_SIZES", "fill_ratios", "run_batch_benchmark"]

DEFAULT_BATCH_SIZES = (1, 8, 32, 64)


@dataclass
class BatchBenchConfig:
    """What ``structgen bench batch`` runs (see the module docstring)."""

    data_dir: Path | None = None
    tokenizer: str = "llama3"
    vocab_dir: Path | None = None
    subsets: Sequence[str] | None = None
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES
    steps: int = 48
    seed: int = 0
    whitespace: str = "compact"
    max_schema_bytes: int = 6000
    structgen_threads: int = 1
    xgrammar_threads: int | str = "auto"
    apply_repeat: int = 50
    model: bool = True
    overlap_rows: int = 4
    overlap_steps: int = 24
    e2e_schemas: int = 3
    e2e_max_new_tokens: int = 48
    torch_threads: int = 1
    progress: bool = True


def fill_ratios(fill: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per batch size and pass: structgen's p50 and p99 over xgrammar's (below 1: faster)."""
    out: list[dict[str, Any]] = []
    for record in fill:
        for name, data in record.get("passes", {}).items():
            engines = data["engines"]
            if "structgen" not in engines or "xgrammar" not in engines:
                continue
            ours, theirs = engines["structgen"]["seconds"], engines["xgrammar"]["seconds"]
            out.append({
                "batch": record["batch"], "pass": name,
                **{f"{q}_ratio": ours[q] / theirs[q] if theirs[q] else None
                   for q in ("p50", "p99", "mean")},
            })  # fmt: skip
    return out


def run_batch_benchmark(config: BatchBenchConfig) -> dict[str, Any]:
    """Run the parts; the results document."""
    sizes = sorted(set(config.batch_sizes))
    if not sizes or sizes[0] < 1 or config.steps < 1:
        raise ConfigurationError("--batch-sizes must be positive and --steps at least 1")
    if config.whitespace not in ("compact", "flexible"):
        raise ConfigurationError(f"--whitespace must be compact or flexible, got "
                                 f"{config.whitespace!r}")  # fmt: skip
    _torch_threads(config.torch_threads)
    load_at_start = _load_average()
    started = time.perf_counter()
    data_dir = config.data_dir or default_data_dir()
    ref = resolve_tokenizer(config.tokenizer, data_dir, config.vocab_dir)
    tokenizer = load_tokenizer(ref.path, key=ref.key, title=ref.title)
    words = (tokenizer.vocab_size + 31) // 32
    bar = progress_bar(len(sizes) * 2 + 2 + (2 if config.model else 0), config.progress, "batch")
    try:
        bar.set_description("rows and compiles")
        candidates = load_rows(
            data_dir,
            tokenizer,
            count=4 * sizes[-1] + 8,
            seed=config.seed,
            max_schema_bytes=config.max_schema_bytes,
            compact=config.whitespace == "compact",
            subsets=list(config.subsets) if config.subsets else None,
        )
        engines = [
            structgen_engine(tokenizer, threads=config.structgen_threads,
                             whitespace=config.whitespace),
            xgrammar_engine(tokenizer, threads=config.xgrammar_threads,
                            whitespace=config.whitespace),
        ]  # fmt: skip
        rows, left_out = select_rows(engines, candidates, sizes[-1], checker=engines[1])
        bar.update(1)

        def step(description: str) -> None:
            bar.set_description(description)
            bar.update(1)

        fill = measure_fill(engines, rows, batch_sizes=sizes, steps=config.steps, words=words,
                            vocab_size=tokenizer.vocab_size,
                            compare=compared_bits(tokenizer, words), progress=step)  # fmt: skip
        bar.set_description("first-visit attribution (structgen)")
        attribution = attribute_first_visit(engines[0], rows, steps=config.steps, words=words)
        bar.set_description("apply kernels")
        apply = measure_apply(vocab_size=tokenizer.vocab_size, batch_sizes=sizes,
                              repeat=config.apply_repeat, seed=config.seed)  # fmt: skip
        bar.update(1)
        overlap: dict[str, Any] | None = None
        e2e_runs: list[dict[str, Any]] = []
        if config.model:
            bar.set_description("overlap (SmolLM2)")
            overlap, e2e_runs = _model_parts(config, bar)
    finally:
        bar.close()
    return {
        "benchmark": "batch",
        "machine": {
            **machine_info(),
            "load_average_start": load_at_start,
            "load_average_end": _load_average(),
            "wall_seconds": time.perf_counter() - started,
        },
        "engines": {
            "structgen": {
                "status": "ok",
                "version": package_version("structgen"),
                "threads": config.structgen_threads,
                "call": "structgen.runtime.batch.fill_next_token_bitmasks",
            },
            "xgrammar": {
                "status": "ok",
                "hardware_threads": os.cpu_count(),
                "version": package_version("xgrammar"),
                "threads": config.xgrammar_threads,
                "call": "xgrammar.BatchGrammarMatcher.batch_fill_next_token_bitmask",
            },
        },  # fmt: skip
        "tokenizer": tokenizer_facts(tokenizer),
        "config": {
            "data_dir": str(data_dir),
            "tokenizer": config.tokenizer,
            "batch_sizes": sizes,
            "steps": config.steps,
            "seed": config.seed,
            "whitespace": config.whitespace,
            "schema_options": {e.name: _jsonable(e.adapter.schema_options) for e in engines},
            "max_schema_bytes": config.max_schema_bytes,
            "apply_repeat": config.apply_repeat,
            "model": config.model,
            "overlap_rows": config.overlap_rows,
            "overlap_steps": config.overlap_steps,
            "e2e_schemas": config.e2e_schemas,
            "e2e_max_new_tokens": config.e2e_max_new_tokens,
            "torch_threads": config.torch_threads,
        },
        "rows": [{"row": row.key, "tokens": len(row.ids)} for row in rows],
        "left_out": left_out,
        "fill": fill,
        "fill_ratios": fill_ratios(fill),
        "first_visit_rows": attribution,
        "apply": apply,
        "overlap": overlap,
        "e2e": {"runs": e2e_runs, "summary": summarise_e2e(e2e_runs)} if config.model else None,
    }


def _load_average() -> float | None:
    """The one-minute load average (None where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _torch_threads(threads: int) -> None:
    """torch's intra-op threads for the apply kernels and the model (0: torch's default). One
    is the default: on this busy 2-core machine torch's two spinning threads made the torch
    apply 100 ms per call against 0.7 ms on one."""
    try:
        import torch
    except ImportError:
        return
    if threads > 0:
        torch.set_num_threads(threads)


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in options.items()}  # fmt: skip


def _model_parts(config: BatchBenchConfig, bar: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The overlap and the end-to-end runs with SmolLM2 on the CPU."""
    import torch

    from structgen.decoding import TransformersLM
    from structgen.models import load_default
    from structgen.vocab import Vocabulary

    torch.manual_seed(config.seed)
    model, hf_tokenizer = load_default(device="cpu")
    vocab = Vocabulary.from_tokenizer(hf_tokenizer, vocab_size=model.config.vocab_size)
    overlap = measure_overlap(TransformersLM(model), hf_tokenizer, vocab,
                              rows=config.overlap_rows, steps=config.overlap_steps)  # fmt: skip
    bar.update(1)
    bar.set_description("end to end (transformers, llama-cpp-python)")
    schemas = OVERLAP_SCHEMAS[: config.e2e_schemas]
    runs = measure_transformers(model, hf_tokenizer, schemas,
                                max_new_tokens=config.e2e_max_new_tokens)  # fmt: skip
    try:
        import llama_cpp

        from structgen.vocab.smollm2 import default_model_gguf
    except ImportError:
        return overlap, runs
    llama = llama_cpp.Llama(model_path=str(default_model_gguf()), n_ctx=1024, n_threads=1,
                            n_threads_batch=1, seed=config.seed, verbose=False)  # fmt: skip
    runs += measure_llama_cpp(llama, schemas, max_new_tokens=config.e2e_max_new_tokens)
    bar.update(1)
    return overlap, runs
