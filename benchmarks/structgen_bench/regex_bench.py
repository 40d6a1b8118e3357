"""``structgen bench regex``: compile time, per-token mask time and memory, engine by engine.

For each vocabulary, engine and pattern the run

1. compiles the pattern cold (the engine's caches off or cleared; see each adapter's note),
2. **checks correctness first**: walks every example string of the pattern, tokenized by the
   real tokenizer, and asserts that each token is allowed by the engine's mask at its step and
   that EOS is allowed at the end; any failure is recorded as an error for that engine and the
   pattern is not timed,
3. times the mask fill alone (``perf_counter_ns`` around the call, garbage collector paused)
   over ``repeat`` walks of all examples, a fresh matcher per example,
4. measures memory as the C heap's growth from before the compile to after the walks,
5. compiles ``repeat - 1`` more times, cold, each followed by one timed first mask.

Masks of the first walk are compared across engines (``mask_agreement``); tokens that only
one engine allows are judged by an independent oracle (``regex`` partial matching).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from structgen.errors import ConfigurationError, StructgenError
from structgen_bench import vocabs
from structgen_bench.masks import allowed_ids, mask_bit, new_bitmask
from structgen_bench.patterns import QUICK_PATTERNS, BenchPattern, select_patterns
from structgen_bench.peers import ENGINES, EngineAdapter, make_engine
from structgen_bench.runs import (
    MemoryProbe,
    for_each_tokenizer,
    recompile,
    record_compiles,
    set_up,
    timed_walk,
)
from structgen_bench.timing import gc_frozen, gc_paused, machine_info, summarize_ns

__all__ = ["RegexBenchConfig", "run_regex_benchmark", "engine_info", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
HEAP_METHOD = (
    "C-heap growth (glibc mallinfo2) from before the compile to after the example walks, "
    "compiled object alive: the compiled object plus any state built lazily while masking"
)
QUICK_TOKENIZER_PREFERENCE = ("smollm2", "gpt2")


@dataclass
class RegexBenchConfig:
    """What to run; the CLI fills it from its options."""

    tokenizers: list[str] = field(default_factory=lambda: list(vocabs.TOKENIZERS))
    engines: list[str] = field(default_factory=lambda: list(ENGINES))
    patterns: list[str] | None = None
    repeat: int = 5
    vocab_dir: Path | None = None
    quick: bool = False
    progress: bool = True
    max_examples: int | None = None

    def validate(self) -> None:
        if self.repeat < 1:
            raise ConfigurationError(f"--repeat must be at least 1, got {self.repeat}")
        unknown = [t for t in self.tokenizers if t not in vocabs.TOKENIZERS]
        if unknown:
            raise ConfigurationError(
                f"unknown tokenizer(s) {', '.join(unknown)}; "
                f"expected some of: {', '.join(vocabs.TOKENIZERS)}"
            )
        for name in self.engines:
            make_engine(name)
        select_patterns(self.patterns)


@dataclass
class _Walks:
    """Token ids of a pattern's examples under one tokenizer."""

    pattern: BenchPattern
    examples: list[tuple[str, list[int]]]
    dropped: list[dict[str, str]]


def _tokenize_examples(
    tokenizer: vocabs.LoadedTokenizer, pattern: BenchPattern, limit: int | None
) -> _Walks:
    examples: list[tuple[str, list[int]]] = []
    dropped: list[dict[str, str]] = []
    for text in pattern.examples[:limit]:
        try:
            ids = vocabs.tokenize_exact(tokenizer.hf, tokenizer.token_bytes, text)
            examples.append((text, ids))
        except StructgenError as error:
            dropped.append({"text": text, "reason": str(error)})
    return _Walks(pattern, examples, dropped)


class _CheckFailed(Exception):
    pass


def _first_walk(
    engine: EngineAdapter, compiled: Any, walks: _Walks, tokenizer: vocabs.LoadedTokenizer
) -> tuple[list[int], list[np.ndarray]]:
    """Walk every example once, checking each mask; returns fill times (ns) and the masks."""
    words = engine.mask_words
    times: list[int] = []
    masks: list[np.ndarray] = []
    eos = tokenizer.eos_id
    for text, ids in walks.examples:
        matcher = engine.matcher(compiled)
        for step in range(len(ids) + 1):
            bitmask = new_bitmask(words)
            started = time.perf_counter_ns()
            engine.fill(matcher, bitmask)
            times.append(time.perf_counter_ns() - started)
            masks.append(bitmask)
            if step == len(ids):
                if not mask_bit(bitmask, eos):
                    raise _CheckFailed(
                        f"EOS (id {eos}) not allowed after the complete string {text!r}"
                    )
                break
            token = ids[step]
            shown = tokenizer.token_bytes[token]
            if not mask_bit(bitmask, token):
                raise _CheckFailed(
                    f"valid token {token} ({shown!r}) masked out at step {step} of {text!r} "
                    f"({allowed_ids(bitmask, tokenizer.vocab_size).size} tokens allowed)"
                )
            if not engine.advance(matcher, token):
                raise _CheckFailed(
                    f"valid token {token} ({shown!r}) rejected by advance at step {step} "
                    f"of {text!r}"
                )
    return times, masks


def _timed_walks(
    engine: EngineAdapter, compiled: Any, walks: _Walks, repeat: int
) -> list[int]:
    bitmask = new_bitmask(engine.mask_words)
    samples: list[int] = []
    with gc_paused():
        for _ in range(repeat):
            for _text, ids in walks.examples:
                timed_walk(engine, compiled, ids, bitmask, samples)
    return samples


def _run_pattern(
    engine: EngineAdapter,
    walks: _Walks,
    tokenizer: vocabs.LoadedTokenizer,
    repeat: int,
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Compile, check, time one (engine, pattern); never raises for an engine's failure."""
    record: dict[str, Any] = {
        "status": "ok",
        "error": None,
        "memory_method": f"own report: {engine.own_memory}",
    }
    masks: list[np.ndarray] = []
    memory = MemoryProbe()
    compile_times: list[float] = []
    try:
        with gc_paused():
            started = time.perf_counter()
            compiled = engine.compile(walks.pattern.regex)
            compile_times.append(time.perf_counter() - started)
    except Exception as error:  # an engine's failure is a result, not a crash
        record.update(status="error", error=f"compile: {type(error).__name__}: {error}")
        return record, masks
    memory.compiled()
    try:
        record["memory_own_bytes"] = engine.memory_bytes(compiled)
        first_times, masks = _first_walk(engine, compiled, walks, tokenizer)
        steps = len(first_times)
        record["correctness"] = {"checked_steps": steps, "passed": True}
        first_masks = [first_times[0] / 1e9]
        record["first_walk"] = summarize_ns(first_times)
        record["mask"] = summarize_ns(
            _timed_walks(engine, compiled, walks, repeat)
        )
    except _CheckFailed as failure:
        record.update(status="error", error=f"correctness: {failure}")
        record["correctness"] = {"passed": False, "failure": str(failure)}
        return record, []
    except Exception as error:
        record.update(status="error", error=f"run: {type(error).__name__}: {error}")
        return record, []
    # The first walk's masks are kept for the agreement check: not part of the engine.
    if memory.finish(record, sum(int(mask.nbytes) for mask in masks), HEAP_METHOD):
        record["heap_after_walks_bytes"] = record["memory_bytes"]
    del compiled
    failed = recompile(engine, lambda: engine.compile(walks.pattern.regex), repeat - 1,
                       compile_times, first_masks)  # fmt: skip
    if failed is not None:
        record.update(status="error", error=f"recompile: {failed}")
    record_compiles(record, compile_times, first_masks)
    return record, masks


class _PrefixOracle:
    """Is ``text`` a prefix of some string of the pattern?  (the ``regex`` package's partial
    match: independent of every engine measured; ``None`` when that package is missing)."""

    def __init__(self, pattern: str) -> None:
        try:
            import regex  # transformers' dependency, not the harness's: optional here
        except ImportError:
            self._compiled = None
        else:
            self._compiled = regex.compile(pattern)

    def __call__(self, data: bytes) -> bool | None:
        if self._compiled is None:
            return None
        # The patterns are ASCII: latin-1 maps every byte to one character that only an
        # ASCII class could match when the byte itself is ASCII.
        return self._compiled.fullmatch(data.decode("latin-1"), partial=True) is not None


_ORACLE_LIMIT = 400  # differing tokens checked per (engine, pattern)


def _agreement(
    per_engine: dict[str, list[np.ndarray]], tokenizer: vocabs.LoadedTokenizer, walks: _Walks
) -> dict[str, dict[str, Any]]:
    """Compare each engine's first-walk masks with a reference engine's, step by step.

    EOS and special ids are ignored. Tokens allowed by only one side are judged by an
    independent oracle (is the text so far plus the token still a prefix of the language?),
    so a difference reads as a soundness error (an invalid token allowed), a completeness gap
    (a valid token masked) or a deliberate narrowing (e.g. canonical tokenization only).
    """
    usable = {name: masks for name, masks in per_engine.items() if masks}
    if len(usable) < 2:
        return {}
    reference = "structgen" if "structgen" in usable else next(iter(usable))
    ignore = np.array(sorted({tokenizer.eos_id} | tokenizer.special_ids), dtype=np.int64)
    positions: list[tuple[str, int, bytes]] = []
    for text, ids in walks.examples:
        prefix = b""
        for step in range(len(ids) + 1):
            positions.append((text, step, prefix))
            if step < len(ids):
                prefix += tokenizer.token_bytes[ids[step]] or b""
    oracle = _PrefixOracle(walks.pattern.regex)

    def allowed(mask: np.ndarray) -> np.ndarray:
        ids = allowed_ids(mask, tokenizer.vocab_size)
        return np.setdiff1d(ids, ignore, assume_unique=True)

    out: dict[str, dict[str, Any]] = {}
    for name, masks in usable.items():
        if name == reference:
            continue
        tally = {"equal": 0, "narrower": 0, "wider": 0, "incomparable": 0}
        judged = {
            f"only_{reference}": {"valid": 0, "invalid": 0},
            f"only_{name}": {"valid": 0, "invalid": 0},
        }
        invalid_examples: list[dict[str, Any]] = []
        budget = _ORACLE_LIMIT
        first: dict[str, Any] | None = None
        for index, (ours, theirs) in enumerate(zip(usable[reference], masks)):
            a, b = allowed(ours), allowed(theirs)
            only_ref = np.setdiff1d(a, b, assume_unique=True)
            only_other = np.setdiff1d(b, a, assume_unique=True)
            if only_ref.size == 0 and only_other.size == 0:
                tally["equal"] += 1
                continue
            if only_other.size == 0:
                tally["narrower"] += 1
            elif only_ref.size == 0:
                tally["wider"] += 1
            else:
                tally["incomparable"] += 1
            text, step, prefix = positions[index]
            if first is None:
                first = {
                    "example": text,
                    "step": step,
                    f"allowed_{reference}": int(a.size),
                    f"allowed_{name}": int(b.size),
                    f"only_{reference}": [
                        [int(i), repr(tokenizer.token_bytes[i])] for i in only_ref[:5]
                    ],
                    f"only_{name}": [
                        [int(i), repr(tokenizer.token_bytes[i])] for i in only_other[:5]
                    ],
                }
            for side, tokens in ((f"only_{reference}", only_ref), (f"only_{name}", only_other)):
                for token in tokens[: max(0, budget)]:
                    budget -= 1
                    data = tokenizer.token_bytes[token]
                    verdict = oracle(prefix + data) if data is not None else None
                    if verdict is None:
                        continue
                    judged[side]["valid" if verdict else "invalid"] += 1
                    if not verdict and len(invalid_examples) < 5:
                        invalid_examples.append(
                            {"side": side, "example": text, "step": step,
                             "token": int(token), "bytes": repr(data)}
                        )  # fmt: skip
        out[name] = {
            "reference": reference,
            "steps": len(masks),
            **tally,
            "oracle": "regex partial match" if oracle(b"") is not None else None,
            "judged": judged,
            "invalid_examples": invalid_examples,
            "first_difference": first,
        }
    return out


def engine_info(engine: EngineAdapter) -> dict[str, Any]:
    """What the regex benchmark records about ``engine`` (status, version, its cold compile)."""
    return {**engine.info(), "cold_compile": engine.cold_compile, "own_memory": engine.own_memory}


def _pick_quick_tokenizer(vocab_dir: Path | None) -> str:
    for key in QUICK_TOKENIZER_PREFERENCE:
        try:
            vocabs.gguf_path(vocabs.TOKENIZERS[key], vocab_dir)
        except StructgenError:
            continue
        return key
    return QUICK_TOKENIZER_PREFERENCE[-1]


def run_regex_benchmark(config: RegexBenchConfig) -> dict[str, Any]:
    """Run the regex benchmark; returns the JSON-able results (see the module docstring)."""
    config.validate()
    vocab_dir = vocabs.resolve_vocab_dir(config.vocab_dir, download=False)
    tokenizer_keys = list(config.tokenizers)
    pattern_names = config.patterns
    if config.quick:
        if len(tokenizer_keys) != 1:
            tokenizer_keys = [_pick_quick_tokenizer(vocab_dir)]
        pattern_names = pattern_names or list(QUICK_PATTERNS)
    vocab_dir, download_error = vocabs.vocab_dir_for(tokenizer_keys, vocab_dir)
    patterns = select_patterns(pattern_names)
    for pattern in patterns:
        pattern.check()

    engines = {name: make_engine(name) for name in config.engines}
    results: dict[str, Any] = {
        "benchmark": "regex",
        "schema_version": SCHEMA_VERSION,
        "machine": machine_info(),
        "config": {
            "tokenizers": tokenizer_keys,
            "engines": list(engines),
            "patterns": [p.name for p in patterns],
            "repeat": config.repeat,
            "quick": config.quick,
            "vocab_dir": str(vocab_dir) if vocab_dir else None,
        },
        "engines": {name: engine_info(engine) for name, engine in engines.items()},
        "patterns": {
            p.name: {"description": p.description, "regex": p.regex, "examples": list(p.examples)}
            for p in patterns
        },
        "tokenizers": {},
        "setup": [],
        "results": [],
    }
    runnable = [n for n, info in results["engines"].items() if info["status"] == "ok"]
    for_each_tokenizer(
        tokenizer_keys, vocab_dir, download_error, results, steps=len(runnable) * len(patterns),
        unit="run", progress=config.progress,
        run=lambda tokenizer, bar: _run_tokenizer(tokenizer, engines, patterns, config, results,
                                                  bar),
    )  # fmt: skip
    return results


def _run_tokenizer(
    tokenizer: vocabs.LoadedTokenizer,
    engines: dict[str, EngineAdapter],
    patterns: list[BenchPattern],
    config: RegexBenchConfig,
    results: dict[str, Any],
    bar: Any,
) -> None:
    """Every engine on every pattern for one vocabulary; appends to ``results``."""
    key = tokenizer.spec.key
    walks = [_tokenize_examples(tokenizer, p, config.max_examples) for p in patterns]
    results["tokenizers"][key] = {
        **vocabs.tokenizer_facts(tokenizer),
        "examples": {
            w.pattern.name: {"tokens": [len(ids) for _t, ids in w.examples], "dropped": w.dropped}
            for w in walks
        },
    }
    masks: dict[str, dict[str, list[np.ndarray]]] = {w.pattern.name: {} for w in walks}
    for name, engine in engines.items():
        rows: list[dict[str, Any]] = []
        if results["engines"][name]["status"] != "ok":
            for w in walks:
                rows.append({"tokenizer": key, "engine": name, "pattern": w.pattern.name,
                             "status": "not installed", "error": None})  # fmt: skip
            results["results"].extend(rows)
            continue
        bar.set_description(f"{key}: {name} setup")
        setup = {"tokenizer": key, "engine": name, **set_up(engine, tokenizer, engine.warm_up)}
        results["setup"].append(setup)
        # Freezing the tokenizer's millions of objects keeps collections short.
        with gc_frozen():
            for w in walks:
                bar.set_description(f"{key}: {name} {w.pattern.name}")
                engine_masks: list[np.ndarray] = []
                if setup["status"] != "ok":
                    reason = f"setup: {setup['error']}"
                    record: dict[str, Any] = {"status": "error", "error": reason}
                elif not w.examples:
                    record = {"status": "error", "error": "no example could be tokenized"}
                else:
                    record, engine_masks = _run_pattern(engine, w, tokenizer, config.repeat)
                masks[w.pattern.name][name] = engine_masks
                rows.append({"tokenizer": key, "engine": name, "pattern": w.pattern.name, **record})
                bar.update(1)
        engine.release()
        results["results"].extend(rows)
        gc.collect()
    for w in walks:
        agreement = _agreement(masks[w.pattern.name], tokenizer, w)
        for row in results["results"]:
            if row["tokenizer"] == key and row["pattern"] == w.pattern.name:
                if row["engine"] in agreement:
                    row["mask_agreement"] = agreement[row["engine"]]

