"""``structgen bench maskbench``: the MaskBench protocol on JSONSchemaBench, engine by engine.

The data is a directory in the layout of ``shared/data`` (read by
:mod:`structgen_bench.maskbench_data`): schemas in ``jsonschemabench/<subset>/<name>.json`` and
their test instances in ``maskbench-tests/<subset>.jsonl``. For every sampled schema and every
engine the run (see :mod:`structgen_bench.maskbench_worker`)

1. compiles the schema cold and computes the first mask: the **time to first mask** (TTFM); an
   engine past ``timeout_s`` is stopped and has a compile error "timeout";
2. serialises each instance with ``json.dumps(instance, ensure_ascii=False)`` (MaskBench's
   serialisation), tokenizes it once for every engine (the Hugging Face tokenizer of the GGUF
   file, ``add_special_tokens=False``) and feeds it token by token: fill the mask (timed: the
   **time between masks**, TBM), check the token is in it, advance; at the end EOS must be in
   the mask for the instance to be accepted.

3. compiles it a second time in the same worker (for structgen after its memo caches are
   dropped, reading the cache entry the first compile wrote into the schema's own new
   directory, so a warm-cache compile — :mod:`structgen_bench.structgen_caches`; for the
   peers, which have no disk cache, a second cold compile) and
   computes the first mask; for structgen, it also compiles and walks once more, untimed, under
   tracemalloc. The worker's peak RSS over step 1 and 2 is read for every engine
   (:mod:`structgen_bench.memory`).

Before the schemas, :mod:`structgen_bench.fresh_start` measures the first compile of a small
schema in fresh processes (import, tokenizer, compile + first mask).

Per schema and engine: a **compile error** (the engine refused the schema or ran out of time), a
**validation error** (a valid instance rejected, or not accepted at its end), an **invalidation
error** (an invalid instance accepted to its end), and *other errors* (mask and advance
disagreeing, an exception while walking, instances left unwalked). A schema **passes** when it
compiled with none of these. Summaries are per subset and over all subsets; ratios to a peer are
taken over the schemas both engines passed, so they compare the same token walks.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from structgen.errors import ConfigurationError
from structgen_bench import vocabs
from structgen_bench.fresh_start import measure_fresh_start
from structgen_bench.grammar_docs import default_data_dir
from structgen_bench.maskbench_data import (
    SERIALISATION,
    Case,
    TokenizerRef,
    load_cases,
    load_tokenizer,
    resolve_tokenizer,
    tokenize_cases,
)
from structgen_bench.maskbench_worker import (
    EngineWorker,
    Job,
    repeat_schema,
    run_schema,
    schema_set_up,
)
from structgen_bench.peers import EngineAdapter, make_engine
from structgen_bench.runs import progress_bar
from structgen_bench.structgen_caches import fresh_cache_dir
from structgen_bench.timing import gc_frozen, machine_info, summarize_ns

__all__ = [
    "MaskBenchConfig",
    "MASKBENCH_ENGINES",
    "DEFAULT_TOKENIZER",
    "classify",
    "summarise",
    "describe_sample",
    "run_maskbench",
]

SCHEMA_VERSION = 2  # 2: second compile, memory, fresh start, TTFM p90
MASKBENCH_ENGINES = ("structgen", "llguidance", "xgrammar", "outlines-core")
DEFAULT_TOKENIZER = "llama3"
WALK_GRACE_S = 30.0  # beyond the walk budget, before a worker is deemed stuck
_MAX_FAILURES = 5  # described per (engine, schema)


@dataclass
class MaskBenchConfig:
    """What to run; the CLI fills it from its options."""

    data_dir: Path | None = None
    tokenizer: str = DEFAULT_TOKENIZER  # a key of vocabs.TOKENIZERS or a GGUF file
    engines: list[str] = field(default_factory=lambda: list(MASKBENCH_ENGINES))
    subsets: list[str] | None = None  # None: every subset found
    sample: int | None = None  # schemas per subset (None: all)
    seed: int = 0
    timeout_s: float = 30.0  # per schema, on compile + first mask
    walk_budget_s: float = 120.0  # per schema, on walking all its instances
    in_process: bool = False  # no worker processes: timeouts counted, not enforced
    memory_limit_gb: float = 8.0  # address-space cap of each worker process (0: none)
    vocab_dir: Path | None = None
    progress: bool = True
    repeat: bool = True  # the second compile of every schema (structgen: warm disk cache)
    trace_memory: bool = True  # structgen's tracemalloc pass (an untimed cold compile + walks)
    fresh_runs: int = 5  # fresh processes per engine for the first-compile figure (0: none)

    def validate(self) -> None:
        if self.sample is not None and self.sample < 1:
            raise ConfigurationError(f"--sample must be at least 1, got {self.sample}")
        if self.fresh_runs < 0:
            raise ConfigurationError(f"--fresh-runs must be ≥ 0, got {self.fresh_runs}")
        if self.timeout_s <= 0:
            raise ConfigurationError(f"--timeout must be positive, got {self.timeout_s:g}")
        if self.walk_budget_s <= 0:
            raise ConfigurationError(f"--walk-budget must be positive, got {self.walk_budget_s:g}")
        if self.memory_limit_gb < 0:
            raise ConfigurationError(f"--memory-limit must be ≥ 0, got {self.memory_limit_gb:g}")
        if not self.engines:
            raise ConfigurationError("--engines is empty")
        for name in self.engines:
            make_engine(name)
        if len(set(self.engines)) != len(self.engines):
            raise ConfigurationError(f"--engines names an engine twice: {','.join(self.engines)}")


# -- one engine's answers, classified -------------------------------------------------------------


def _describe(case: Case, index: int, outcome: dict[str, Any], kind: str,
              token_bytes: list[bytes | None]) -> dict[str, Any]:  # fmt: skip
    test = case.tests[index]
    ids = case.ids[index] or []
    step = outcome.get("step")
    detail: dict[str, Any] = {
        "test": index,
        "valid": bool(test["valid"]),
        "kind": kind,
        "what": outcome.get("exception") or outcome.get("disagreement") or outcome.get("why")
        or "accepted to the end",
        "instance": case.texts[index][:300],
        "description": str(test.get("description", ""))[:200],
    }
    if step is not None:
        prefix = b"".join(token_bytes[t] or b"" for t in ids[:step])
        detail["step"] = step
        detail["token"] = repr(token_bytes[ids[step]]) if step < len(ids) else "EOS"
        detail["prefix_tail"] = prefix[-80:].decode("utf-8", "replace")
    return detail


def _second_compile_and_memory(raw: dict[str, Any]) -> dict[str, Any]:
    """The record's fields from the cache flags, the second compile and the memory readings
    (``None`` where the run did not get them)."""

    def ms(key: str) -> float | None:
        value = raw.get(key)
        return None if value is None else value * 1e3

    repeat_c, repeat_f = ms("repeat_compile_s"), ms("repeat_first_mask_s")
    return {
        "from_cache": raw.get("from_cache"),
        "repeat_compile_ms": repeat_c,
        "repeat_first_mask_ms": repeat_f,
        "repeat_ttfm_ms": None if repeat_c is None or repeat_f is None else repeat_c + repeat_f,
        "repeat_from_cache": raw.get("repeat_from_cache"),
        "repeat_error": raw.get("repeat_error"),
        "peak_rss_bytes": raw.get("peak_rss_bytes"),
        "peak_rss_growth_bytes": raw.get("peak_rss_growth_bytes"),
        "peak_rss_method": raw.get("peak_rss_method"),
        "traced_peak_bytes": raw.get("traced_peak_bytes"),
        "traced_tests": raw.get("traced_tests"),
        "traced_error": raw.get("traced_error"),
    }


def classify(raw: dict[str, Any], case: Case, engine: str,
             token_bytes: list[bytes | None]) -> dict[str, Any]:  # fmt: skip
    """The per-schema record of one engine from :func:`~maskbench_worker.run_schema`'s answer."""
    compile_s, first_s = raw.get("compile_s"), raw.get("first_mask_s")
    status = raw["status"]
    compiled = compile_s is not None and status not in ("compile error", "timeout")
    walkable = case.walkable()
    record: dict[str, Any] = {
        "engine": engine,
        "subset": case.subset,
        "file": case.file,
        "status": status,
        "error": raw.get("error"),
        "compiled": compiled,
        "compile_ms": None if compile_s is None else compile_s * 1e3,
        "first_mask_ms": None if first_s is None else first_s * 1e3,
        "ttfm_ms": None if compile_s is None or first_s is None else (compile_s + first_s) * 1e3,
        "tests": len(walkable),
        "valid_tests": sum(1 for _i, valid, _ids in walkable if valid),
        "invalid_tests": sum(1 for _i, valid, _ids in walkable if not valid),
        "validation_errors": 0,
        "invalidation_errors": 0,
        "disagreements": 0,
        "exceptions": 0,
        "unwalked": 0,
        "tokens": len(raw.get("mask_ns", ())),
        "failures": [],
    }
    record.update(_second_compile_and_memory(raw))
    if raw.get("warnings"):
        record["warnings"] = raw["warnings"]
    failures: list[dict[str, Any]] = record["failures"]

    def note(index: int, outcome: dict[str, Any], kind: str) -> None:
        if len(failures) < _MAX_FAILURES:
            failures.append(_describe(case, index, outcome, kind, token_bytes))

    outcomes = raw.get("outcomes", [])
    if compiled:
        record["unwalked"] = len(walkable) - sum(1 for o in outcomes if not o.get("skipped"))
    for (index, valid, _ids), outcome in zip(walkable, outcomes):
        if outcome.get("skipped"):
            continue
        if outcome.get("exception"):
            record["exceptions"] += 1
            note(index, outcome, "exception")
        if outcome.get("disagreement"):
            record["disagreements"] += 1
            note(index, outcome, "mask/advance disagreement")
        if valid and not outcome["accepted"]:
            record["validation_errors"] += 1
            if not outcome.get("exception"):
                note(index, outcome, "validation")
        elif not valid and outcome["accepted"]:
            record["invalidation_errors"] += 1
            note(index, outcome, "invalidation")
    mask_ns = raw.get("mask_ns") or []
    if mask_ns:
        record["mask"] = summarize_ns(mask_ns)
    record["passing"] = bool(
        compiled and status == "ok"
        and not any(record[k] for k in ("validation_errors", "invalidation_errors",
                                         "disagreements", "exceptions", "unwalked"))
    )  # fmt: skip
    return record


# -- summaries ----------------------------------------------------------------------------------

# Percentiles kept of the pooled mask times (for the plots): every whole one, then the tail.
_QUANTILES = [float(q) for q in range(100)] + [99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100.0]
_MIB = 1.0 / 2**20


def _percentiles(values: Any, scale: float, unit: str) -> dict[str, Any]:
    """n, p50, p90, p99, max and mean of ``values × scale``, keys suffixed with ``unit``."""
    data = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if data.size == 0:
        return {"n": 0}
    data = data * scale
    p50, p90, p99 = np.percentile(data, [50, 90, 99])
    return {"n": int(data.size), f"p50_{unit}": float(p50), f"p90_{unit}": float(p90),
            f"p99_{unit}": float(p99), f"max_{unit}": float(data.max()),
            f"mean_{unit}": float(data.mean())}  # fmt: skip


def _second_and_memory_summary(mine: list[dict[str, Any]]) -> dict[str, Any]:
    """Over an engine's compiled schemas: the second compile's TTFM and cache hits, cold
    compiles that hit the cache, peak RSS (growth and absolute) and tracemalloc's peak."""
    compiled = [r for r in mine if r["compiled"]]
    methods = sorted({r["peak_rss_method"] for r in compiled if r.get("peak_rss_method")})
    return {
        "repeat_ttfm": _percentiles([r.get("repeat_ttfm_ms") for r in compiled], 1.0, "ms"),
        "repeat_from_cache": sum(1 for r in compiled if r.get("repeat_from_cache")),
        "repeat_errors": sum(1 for r in compiled if r.get("repeat_error")),
        "cold_from_cache": sum(1 for r in compiled if r.get("from_cache")),
        "peak_rss_growth": _percentiles([r.get("peak_rss_growth_bytes") for r in compiled],
                                        _MIB, "mib"),  # fmt: skip
        "peak_rss": _percentiles([r.get("peak_rss_bytes") for r in compiled], _MIB, "mib"),
        "peak_rss_methods": methods,
        "traced_peak": _percentiles([r.get("traced_peak_bytes") for r in compiled], _MIB, "mib"),
    }


def _counts(records: list[dict[str, Any]]) -> dict[str, int]:
    def schemas(key: str) -> int:
        return sum(1 for r in records if r[key])

    return {
        "schemas": len(records),
        "compiled": schemas("compiled"),
        "compile_errors": sum(1 for r in records if not r["compiled"]),
        "timeouts": sum(1 for r in records if r["status"] == "timeout"),
        "validation_errors": schemas("validation_errors"),
        "invalidation_errors": schemas("invalidation_errors"),
        "other_errors": sum(
            1 for r in records
            if r["compiled"] and (r["disagreements"] or r["exceptions"] or r["unwalked"]
                                  or r["status"] != "ok")
        ),  # fmt: skip
        "passing": schemas("passing"),
        "tests": sum(r["tests"] for r in records if r["compiled"]),
        "validation_error_tests": sum(r["validation_errors"] for r in records),
        "invalidation_error_tests": sum(r["invalidation_errors"] for r in records),
        "disagreement_tests": sum(r["disagreements"] for r in records),
    }


def summarise(
    records: list[dict[str, Any]],
    samples: dict[tuple[str, str, str], Any],
    engines: list[str],
    subsets: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per subset (and ``"all"``) and engine: counts, TTFM and TBM percentiles; and per peer,
    ``structgen ÷ peer`` over the schemas both passed. ``samples[(engine, subset, file)]``
    holds each walk's mask times (ns)."""
    summary: dict[str, Any] = {}
    comparisons: dict[str, Any] = {}
    for group in [*subsets, "all"]:
        rows = [r for r in records if group == "all" or r["subset"] == group]
        summary[group] = {}
        for engine in engines:
            mine = [r for r in rows if r["engine"] == engine]
            entry: dict[str, Any] = _counts(mine)
            entry["ttfm"] = _percentiles([r["ttfm_ms"] for r in mine if r["compiled"]], 1.0, "ms")
            entry.update(_second_and_memory_summary(mine))
            pooled = [samples[(engine, r["subset"], r["file"])] for r in mine
                      if (engine, r["subset"], r["file"]) in samples]  # fmt: skip
            times = np.concatenate(pooled) if pooled else np.zeros(0)
            entry["tbm"] = _percentiles(times, 1e-3, "us")
            if group == "all" and times.size:
                entry["tbm_quantiles"] = {
                    "q": _QUANTILES,
                    "us": [float(v) for v in np.percentile(times * 1e-3, _QUANTILES)],
                }
            summary[group][engine] = entry
        if "structgen" not in engines:
            continue
        comparisons[group] = {}
        by_key = {(r["engine"], r["subset"], r["file"]): r for r in rows}
        ours = [r for r in rows if r["engine"] == "structgen" and r["passing"]]
        for peer in (e for e in engines if e != "structgen"):
            common = [r for r in ours
                      if by_key.get((peer, r["subset"], r["file"]), {}).get("passing")]  # fmt: skip
            entry = {"schemas": len(common)}
            for engine, side in (("structgen", "structgen"), (peer, "peer")):
                chosen = [by_key[(engine, r["subset"], r["file"])] for r in common]
                pooled = [samples[(engine, r["subset"], r["file"])] for r in chosen
                          if (engine, r["subset"], r["file"]) in samples]  # fmt: skip
                entry[side] = {
                    "ttfm": _percentiles([r["ttfm_ms"] for r in chosen], 1.0, "ms"),
                    "tbm": _percentiles(np.concatenate(pooled) if pooled else [], 1e-3, "us"),
                }
            for metric, key in (("ttfm", "p50_ms"), ("ttfm", "p99_ms"), ("tbm", "p50_us"),
                                ("tbm", "p99_us")):  # fmt: skip
                a = entry["structgen"][metric].get(key)
                b = entry["peer"][metric].get(key)
                entry[f"{metric}_{key.split('_')[0]}_ratio"] = a / b if a and b else None
            comparisons[group][peer] = entry
    return summary, comparisons


# -- the run --------------------------------------------------------------------------------------


class InProcessRunner:
    """An engine run in this process: same protocol, but a compile past the timeout is only
    counted (it cannot be interrupted) and a crash of the engine ends the run."""

    def __init__(self, engine: EngineAdapter, tokenizer: vocabs.LoadedTokenizer) -> None:
        self.engine = engine
        self.tokenizer = tokenizer
        self.starts = 0

    def start(self) -> dict[str, Any]:
        self.starts += 1
        return schema_set_up(self.engine, self.tokenizer)

    def run(self, job: Job, *, walk_timeout_s: float) -> dict[str, Any]:
        with self.engine.schema_scope():
            result = run_schema(self.engine, job)
            if job.repeat and result["status"] == "ok":
                result.update(repeat_schema(self.engine, job))
        return result

    def stop(self) -> None:
        self.engine.release()


def _engine_info(engine: EngineAdapter) -> dict[str, Any]:
    return {
        **engine.info(),
        "cold_compile": engine.cold_compile_schema,
        "second_compile": engine.repeat_compile_schema,
        "traced_memory": engine.traces_memory,
        "options": dict(engine.schema_options),
    }


def run_maskbench(config: MaskBenchConfig) -> dict[str, Any]:
    """Run MaskBench; returns the JSON-able results (see the module docstring)."""
    config.validate()
    data_dir = config.data_dir or default_data_dir()
    cases, subset_info = load_cases(data_dir, subsets=config.subsets, sample=config.sample,
                                    seed=config.seed)  # fmt: skip
    print(describe_sample(subset_info), file=sys.stderr)
    ref = resolve_tokenizer(config.tokenizer, data_dir, config.vocab_dir)
    tokenizer = load_tokenizer(ref.path, key=ref.key, title=ref.title)
    tokenize_cases(cases, tokenizer, subset_info)
    adapters = {name: make_engine(name) for name in config.engines}
    results: dict[str, Any] = {
        "benchmark": "maskbench",
        "schema_version": SCHEMA_VERSION,
        "machine": machine_info(),
        "config": {
            "data_dir": str(data_dir),
            "tokenizer": config.tokenizer,
            "engines": list(adapters),
            "subsets": list(cases),
            "sample": config.sample,
            "seed": config.seed,
            "timeout_s": config.timeout_s,
            "walk_budget_s": config.walk_budget_s,
            "isolation": "in-process" if config.in_process else "one worker process per engine",
            "memory_limit_gb": None if config.in_process else config.memory_limit_gb,
            "serialisation": SERIALISATION,
            "tokenization": "tokenizer.encode(text, add_special_tokens=False) of the Hugging Face "
            "tokenizer built from the GGUF file, checked to reproduce the text's bytes",
        },
        "engines": {name: _engine_info(engine) for name, engine in adapters.items()},
        "tokenizer": {
            "key": ref.key, "title": ref.title, "file": Path(ref.path).name,
            "vocab_size": tokenizer.vocab_size, "eos_id": tokenizer.eos_id,
            "load_seconds": tokenizer.load_seconds,
        },  # fmt: skip
        "subsets": subset_info,
        "setup": [],
        "results": [],
    }
    results["config"].update(repeat=config.repeat, trace_memory=config.trace_memory,
                             fresh_runs=config.fresh_runs)  # fmt: skip
    runnable = [n for n, info in results["engines"].items() if info["status"] == "ok"]
    started = time.perf_counter()
    if config.fresh_runs:
        if config.progress:
            print(f"first compile in a fresh process: {config.fresh_runs} runs of "
                  f"{', '.join(runnable)}", file=sys.stderr)  # fmt: skip
        results["fresh_start"] = measure_fresh_start(
            runnable, ref.path, ref.key, runs=config.fresh_runs, vocab_size=tokenizer.vocab_size
        )
    fresh_s = time.perf_counter() - started
    with fresh_cache_dir():  # inherited by the workers: one empty disk cache for the run
        _run_all(results, cases, adapters, tokenizer, ref, config)
    results["wall_seconds"] = {"fresh_start": fresh_s,
                               "schemas": time.perf_counter() - started - fresh_s}  # fmt: skip
    del tokenizer
    gc.collect()
    return results


def describe_sample(subset_info: dict[str, Any]) -> str:
    """How many schemas and test instances the run covers, for the terminal."""
    schemas = sum(i["schemas"] for i in subset_info.values())
    tests = sum(i["tests_valid"] + i["tests_invalid"] for i in subset_info.values())
    return (f"MaskBench: {schemas} schemas ({tests:,} test instances) from "
            f"{len(subset_info)} subsets")  # fmt: skip


def _run_all(results: dict[str, Any], cases: dict[str, list[Case]],
             adapters: dict[str, EngineAdapter], tokenizer: vocabs.LoadedTokenizer,
             ref: TokenizerRef, config: MaskBenchConfig) -> None:  # fmt: skip
    """Every schema on every runnable engine; fills ``results``' set-up, records and summary."""
    runners = _start_runners(results, adapters, tokenizer, ref, config)
    all_cases = [case for found in cases.values() for case in found]
    samples: dict[tuple[str, str, str], Any] = {}
    bar = progress_bar(len(all_cases) * len(runners), config.progress, "schema")
    try:
        with gc_frozen():
            for case in all_cases:
                _run_case(case, runners, tokenizer, config, results["results"], samples, bar)
    finally:
        bar.close()
        for runner in runners.values():
            runner.stop()
    for setup in results["setup"]:
        runner = runners.get(setup["engine"])
        setup["starts"] = getattr(runner, "starts", 1)
    results["summary"], results["comparisons"] = summarise(
        results["results"], samples, list(runners), list(cases)
    )


def _start_runners(results: dict[str, Any], adapters: dict[str, EngineAdapter],
                   tokenizer: vocabs.LoadedTokenizer, ref: TokenizerRef,
                   config: MaskBenchConfig) -> dict[str, Any]:  # fmt: skip
    """A runner per installed engine, set up (worker processes start side by side)."""
    runnable = [n for n, info in results["engines"].items() if info["status"] == "ok"]
    runners: dict[str, Any] = {}
    if config.in_process:
        runners = {name: InProcessRunner(adapters[name], tokenizer) for name in runnable}
        setups = {name: runner.start() for name, runner in runners.items()}
    else:
        limit = int(config.memory_limit_gb * 2**30)
        runners = {name: EngineWorker(name, ref, memory_limit_bytes=limit) for name in runnable}
        for runner in runners.values():
            runner.launch()
        setups = {name: runner.wait_ready() for name, runner in runners.items()}
    for name, setup in setups.items():
        results["setup"].append({"engine": name, **setup})
        if setup["status"] == "ok":
            results["engines"][name]["options"] = setup.get("options")
        else:
            results["engines"][name].update(status="error", reason=setup.get("error"))
            runners.pop(name).stop()
    return runners


def _run_case(case: Case, runners: dict[str, Any], tokenizer: vocabs.LoadedTokenizer,
              config: MaskBenchConfig, records: list[dict[str, Any]],
              samples: dict[tuple[str, str, str], Any], bar: Any) -> None:  # fmt: skip
    """Every engine on one schema, one after the other (so a load change hits all alike)."""
    job = Job(case.schema_text, [(valid, ids) for _i, valid, ids in case.walkable()],
              tokenizer.eos_id, config.timeout_s, config.walk_budget_s, repeat=config.repeat,
              trace_memory=config.trace_memory)  # fmt: skip
    for name, runner in runners.items():
        bar.set_description(f"{case.subset}/{case.file} {name}")
        raw = runner.run(job, walk_timeout_s=config.walk_budget_s + WALK_GRACE_S)
        record = classify(raw, case, name, tokenizer.token_bytes)
        records.append(record)
        if record["compiled"] and raw.get("mask_ns"):
            samples[(name, case.subset, case.file)] = np.asarray(raw["mask_ns"], dtype=np.int64)
        bar.update(1)
