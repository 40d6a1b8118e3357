"""Batch mask fill: structgen's ``fill_next_token_bitmasks`` against xgrammar's
``BatchGrammarMatcher.batch_fill_next_token_bitmask`` on the same rows and the same steps.

For each batch size ``B`` the first ``B`` rows (:mod:`structgen_bench.batch_rows`) are
compiled cold in both engines (untimed; structgen's memo caches dropped first, xgrammar's
compiler cache cleared), then two passes of ``steps`` steps run on fresh matchers:

- *first*: every state is met for the first time by these compiled schemas (structgen builds
  masks lazily, xgrammar precomputed most at compile time);
- *warm*: new matchers on the same compiled schemas walk the same steps again (rows already
  visited).

A step is one fill call for the whole batch, per engine back to back (a busy machine slows both
alike); between steps every row takes its instance's next token in both engines (untimed),
a row that finished its instance (its last fill allows EOS) starts it again on a new matcher,
like a new request in a continuous batch. After each step (untimed) the two engines' bitmasks
are compared bit for bit, special tokens aside: xgrammar is the benchmark's independent oracle
(where the languages are the same; where they differ by design the report says how).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from structgen.runtime.batch import fill_next_token_bitmasks
from structgen.runtime.compiler import compile_json_schema
from structgen_bench.batch_rows import Row
from structgen_bench.peers import StructgenEngine, XGrammarEngine
from structgen_bench.structgen_caches import drop_memo_caches
from structgen_bench.vocabs import LoadedTokenizer

__all__ = [
    "FILL_ENGINES",
    "FillEngine",
    "compare_bitmasks",
    "compared_bits",
    "measure_fill",
    "percentiles",
    "select_rows",
    "structgen_engine",
    "xgrammar_engine",
]

FILL_ENGINES = ("structgen", "xgrammar")
_DIFFERENCE_EXAMPLES = 5


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p99, mean and max of ``values`` (None for none)."""
    if not len(values):
        return {"p50": None, "p99": None, "mean": None, "max": None}
    array = np.asarray(values, dtype=np.float64)
    return {
        "p50": float(np.percentile(array, 50)),
        "p99": float(np.percentile(array, 99)),
        "mean": float(array.mean()),
        "max": float(array.max()),
    }


@dataclass
class FillEngine:
    """One engine's batch: compiled schemas, live matchers and its batch fill."""

    name: str
    adapter: Any
    fill_batch: Callable[[list[Any], np.ndarray], None]
    recompile: bool = True  # compile again per batch size (else: the selection's compiles)
    compiled: list[Any] = field(default_factory=list)
    matchers: list[Any] = field(default_factory=list)
    kept: dict[str, tuple[Any, float]] = field(default_factory=dict)

    def compile_one(self, row: Row) -> tuple[Any, float]:
        """A cold compile of the row's schema (no disk cache), and its seconds."""
        started = time.perf_counter()
        compiled = self.compile_schema(row.schema)
        return compiled, time.perf_counter() - started

    def compile_schema(self, schema: Any) -> Any:
        if self.name == "structgen":  # no disk cache: neither read nor written
            return compile_json_schema(schema, self.adapter.vocab, cache=False,
                                       **self.adapter.schema_options)  # fmt: skip
        return self.adapter.compile_schema(schema)

    def compile(self, rows: Sequence[Row]) -> float:
        if not self.recompile:
            self.compiled = [self.kept[row.key][0] for row in rows]
            return sum(self.kept[row.key][1] for row in rows)
        started = time.perf_counter()
        self.compiled = [self.compile_one(row)[0] for row in rows]
        return time.perf_counter() - started

    def fresh(self) -> None:
        self.matchers = [self.adapter.matcher(compiled) for compiled in self.compiled]

    def restart(self, row: int) -> None:
        self.matchers[row] = self.adapter.matcher(self.compiled[row])

    def advance(self, row: int, token: int) -> bool:
        return bool(self.adapter.advance(self.matchers[row], token))


# Schema options per whitespace mode: the same language in both engines. "compact": no
# whitespace (instances serialised with separators (",", ":")); "flexible": MaskBench's
# options (json.dumps's ", " and ": " in the language; xgrammar's runs are unbounded).
SCHEMA_OPTIONS: dict[str, dict[str, dict[str, Any]]] = {
    "compact": {
        "structgen": {"whitespace": "compact"},
        "xgrammar": {"any_whitespace": False, "separators": (",", ":"), "strict_mode": False},
    },
    "flexible": {
        "structgen": dict(StructgenEngine.schema_options),
        "xgrammar": dict(XGrammarEngine.schema_options),
    },
}


def structgen_engine(tokenizer: LoadedTokenizer, *, threads: int = 1,
                     whitespace: str = "compact") -> FillEngine:  # fmt: skip
    """structgen with the mode's schema options, filling on ``threads`` threads; its schemas
    are compiled again (cold, memo caches dropped) for every batch size: its masks are built
    lazily, so the first pass is a first visit."""
    adapter = StructgenEngine()
    adapter.schema_options = SCHEMA_OPTIONS[whitespace]["structgen"]
    adapter.prepare(tokenizer)
    adapter.schema_warm_up()

    def fill(matchers: list[Any], bitmask: np.ndarray) -> None:
        fill_next_token_bitmasks(matchers, bitmask, threads=threads)

    return FillEngine("structgen", adapter, fill)


def xgrammar_engine(tokenizer: LoadedTokenizer, *, threads: int | str = "auto",
                    whitespace: str = "compact") -> FillEngine:  # fmt: skip
    """xgrammar with the mode's schema options and its batch matcher (``max_threads``). Its
    schemas are compiled once, in the row selection, and reused for every batch size: it
    precomputes its masks at compile time and its matchers share nothing."""
    import xgrammar as xgr

    adapter = XGrammarEngine()
    adapter.schema_options = SCHEMA_OPTIONS[whitespace]["xgrammar"]
    adapter.prepare(tokenizer)
    adapter.schema_warm_up()
    batch = xgr.BatchGrammarMatcher(max_threads=threads)

    def fill(matchers: list[Any], bitmask: np.ndarray) -> None:
        batch.batch_fill_next_token_bitmask(matchers, bitmask)

    return FillEngine("xgrammar", adapter, fill, recompile=False)


def select_rows(
    engines: Sequence[FillEngine], candidates: Sequence[Row], count: int,
    checker: FillEngine | None = None,
) -> tuple[list[Row], list[dict[str, Any]]]:  # fmt: skip
    """The first ``count`` candidates every engine compiles (and whose instance ``checker``, if
    given, accepts to the end); the others with the reason. Compiled objects are dropped: the
    measured compiles come later, cold."""
    kept: list[Row] = []
    left_out: list[dict[str, Any]] = []
    for row in candidates:
        if len(kept) == count:
            break
        reason = None
        for engine in engines:
            try:
                compiled, seconds = engine.compile_one(row)
            except Exception as error:  # an engine refusing a schema: the row is left out
                reason = f"{engine.name}: {type(error).__name__}: {str(error)[:160]}"
                break
            if not engine.recompile:
                engine.kept[row.key] = (compiled, seconds)
            if engine is checker:
                matcher = engine.adapter.matcher(compiled)
                if not all(engine.adapter.advance(matcher, t) for t in row.ids):
                    reason = f"{engine.name} rejects the instance"
                    break
        if reason is None:
            kept.append(row)
        else:
            left_out.append({"row": row.key, "reason": reason})
    return kept, left_out


def compare_bitmasks(ours: np.ndarray, theirs: np.ndarray, vocab_size: int) -> dict[str, Any]:
    """Token ids allowed by one side only (both ``[W]`` int32 rows), first few of each."""
    a = np.unpackbits(ours.view(np.uint8), bitorder="little")[:vocab_size].astype(bool)
    b = np.unpackbits(theirs.view(np.uint8), bitorder="little")[:vocab_size].astype(bool)
    only_ours = np.flatnonzero(a & ~b)
    only_theirs = np.flatnonzero(b & ~a)
    return {
        "only_structgen": [int(t) for t in only_ours[:8]],
        "only_structgen_count": int(only_ours.size),
        "only_xgrammar": [int(t) for t in only_theirs[:8]],
        "only_xgrammar_count": int(only_theirs.size),
    }


def compared_bits(tokenizer: LoadedTokenizer, words: int) -> np.ndarray:
    """The int32 ``[W]`` row of the token ids whose bits are compared: every id below the
    vocabulary size but the special ones (EOS kept). xgrammar reads Llama-3's reserved special
    tokens of a GGUF-converted tokenizer as text (allowed inside strings), structgen never
    allows a special token but EOS."""
    keep = np.zeros(words * 32, dtype=bool)
    keep[: tokenizer.vocab_size] = True
    keep[sorted(tokenizer.special_ids - {tokenizer.eos_id})] = False
    return np.packbits(keep, bitorder="little").view(np.int32)


def _pass(engines: Sequence[FillEngine], rows: Sequence[Row], steps: int, words: int,
          vocab_size: int, compare: np.ndarray | None) -> dict[str, Any]:  # fmt: skip
    """One pass of ``steps`` steps over fresh matchers; times per engine and the comparison."""
    batch = len(rows)
    for engine in engines:
        engine.fresh()
    positions = [0] * batch
    masks = {engine.name: np.zeros((batch, words), dtype=np.int32) for engine in engines}
    times: dict[str, list[float]] = {engine.name: [] for engine in engines}
    agreement: dict[str, Any] = {"steps": 0, "rows": 0, "equal_rows": 0, "differing_rows": 0,
                                 "structgen_wider": 0, "xgrammar_wider": 0, "incomparable": 0,
                                 "examples": []}  # fmt: skip
    rejected: list[dict[str, Any]] = []
    for _step in range(steps):
        for engine in engines:
            masks[engine.name].fill(0)
            started = time.perf_counter_ns()
            engine.fill_batch(engine.matchers, masks[engine.name])
            times[engine.name].append((time.perf_counter_ns() - started) / 1e9)
        if compare is not None and len(engines) == 2:
            first, second = (masks[e.name] for e in engines)  # structgen, xgrammar
            agreement["steps"] += 1
            differing = ((first ^ second) & compare).any(axis=1)
            for row in range(batch):
                agreement["rows"] += 1
                if not differing[row]:
                    agreement["equal_rows"] += 1
                    continue
                agreement["differing_rows"] += 1
                wider = (first[row] & ~second[row] & compare).any()
                narrower = (second[row] & ~first[row] & compare).any()
                kind = ("incomparable" if wider and narrower
                        else "structgen_wider" if wider else "xgrammar_wider")  # fmt: skip
                agreement[kind] += 1
                seen = {example["row"] for example in agreement["examples"]}
                if len(agreement["examples"]) < _DIFFERENCE_EXAMPLES and rows[row].key not in seen:
                    agreement["examples"].append({
                        "row": rows[row].key, "position": positions[row],
                        **compare_bitmasks(first[row] & compare, second[row] & compare,
                                           vocab_size),
                    })  # fmt: skip
        for row in range(batch):
            ids = rows[row].ids
            if positions[row] == len(ids):  # the instance is done: a new request on the row
                positions[row] = 0
                for engine in engines:
                    engine.restart(row)
                continue
            token = ids[positions[row]]
            refused = [engine.name for engine in engines if not engine.advance(row, token)]
            positions[row] += 1
            if refused:
                rejected.append({"row": rows[row].key, "position": positions[row] - 1,
                                 "token": int(token), "engines": refused})  # fmt: skip
                positions[row] = 0
                for engine in engines:
                    engine.restart(row)
    return {"times": times, "agreement": agreement, "rejected": rejected}


def measure_fill(
    engines: Sequence[FillEngine], rows: Sequence[Row], *, batch_sizes: Sequence[int],
    steps: int, words: int, vocab_size: int, compare: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Per batch size: compile seconds, and per pass (first, warm) and engine the fill times of
    the steps (seconds per call: p50/p99/mean/max; and per row), with the mask agreement."""
    results: list[dict[str, Any]] = []
    for size in batch_sizes:
        chosen = list(rows[:size])
        if len(chosen) < size:
            results.append({"batch": size, "status": f"only {len(chosen)} rows available"})
            continue
        drop_memo_caches()
        record: dict[str, Any] = {"batch": size, "rows": [row.key for row in chosen],
                                  "compile_seconds": {}, "passes": {}}  # fmt: skip
        for engine in engines:
            record["compile_seconds"][engine.name] = engine.compile(chosen)
        for name in ("first", "warm"):
            if progress:
                progress(f"fill B={size} {name}")
            outcome = _pass(engines, chosen, steps, words, vocab_size, compare)
            record["passes"][name] = {
                "engines": {
                    engine: {"seconds": percentiles(values),
                             "per_row_seconds": percentiles([v / size for v in values])}
                    for engine, values in outcome["times"].items()
                },
                "agreement": outcome["agreement"],
                "rejected": outcome["rejected"],
            }  # fmt: skip
        results.append(record)
    return results
