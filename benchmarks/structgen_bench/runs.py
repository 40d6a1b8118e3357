"""The steps every benchmark runs the same way around an engine: set-up, memory readings, the
timed walks, the cold re-compiles, the loop over vocabularies and the progress bar."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from structgen.errors import StructgenError
from structgen_bench import vocabs
from structgen_bench.masks import new_bitmask
from structgen_bench.peers import EngineAdapter
from structgen_bench.timing import gc_paused, heap_bytes, rss_bytes, summarize_seconds

__all__ = [
    "set_up",
    "MemoryProbe",
    "timed_walk",
    "recompile",
    "record_compiles",
    "progress_bar",
    "for_each_tokenizer",
]


def set_up(engine: EngineAdapter, tokenizer: vocabs.LoadedTokenizer,
           warm_up: Callable[[], None]) -> dict[str, Any]:  # fmt: skip
    """Vocabulary-level set-up (``prepare``) and ``warm_up`` of one engine, each timed; never
    raises: ``status`` is "ok" or "error" (with ``error``)."""
    setup: dict[str, Any] = {"status": "ok"}
    try:
        started = time.perf_counter()
        engine.prepare(tokenizer)
        setup["prepare_s"] = time.perf_counter() - started
        started = time.perf_counter()
        warm_up()
        setup["warmup_s"] = time.perf_counter() - started
    except Exception as error:  # an engine's failure is a result, not a crash
        setup.update(status="error", error=f"{type(error).__name__}: {error}")
    check = getattr(engine, "vocab_check", None)
    if check:
        setup["vocab_check"] = check
    return setup


class MemoryProbe:
    """C-heap and RSS readings before a compile, after it, and after the walks that follow."""

    def __init__(self) -> None:
        gc.collect()
        self.rss_before = rss_bytes()
        self.heap_before = heap_bytes()
        self.heap_compiled: int | None = None

    def compiled(self) -> None:
        """Read the heap right after the compile."""
        self.heap_compiled = heap_bytes()

    def finish(self, record: dict[str, Any], kept_bytes: int, heap_method: str) -> bool:
        """Write ``rss_delta_bytes`` and, where the heap can be read, ``heap_compile_bytes``,
        ``memory_bytes`` (the growth to now less ``kept_bytes``, masks kept for the
        cross-check) and ``memory_method``; else ``memory_bytes`` is the engine's own report.
        Returns whether the heap was read."""
        gc.collect()
        rss_after = rss_bytes()
        heap_after = heap_bytes()
        record["rss_delta_bytes"] = (
            rss_after - self.rss_before
            if rss_after is not None and self.rss_before is not None
            else None
        )
        if self.heap_before is None or self.heap_compiled is None or heap_after is None:
            record["memory_bytes"] = record.get("memory_own_bytes")
            return False
        record["heap_compile_bytes"] = self.heap_compiled - self.heap_before
        record["memory_bytes"] = heap_after - self.heap_before - kept_bytes
        record["memory_method"] = heap_method
        return True


def timed_walk(engine: EngineAdapter, compiled: Any, ids: list[int], bitmask: np.ndarray,
               samples: list[int]) -> None:  # fmt: skip
    """Walk ``ids`` on a fresh matcher, appending the time (ns) of every fill, the final (EOS)
    one included; the tokens are not checked (a checked walk came first)."""
    fill, advance, clock = engine.fill, engine.advance, time.perf_counter_ns
    matcher = engine.matcher(compiled)
    for token in ids:
        started = clock()
        fill(matcher, bitmask)
        samples.append(clock() - started)
        advance(matcher, token)
    started = clock()
    fill(matcher, bitmask)
    samples.append(clock() - started)


def recompile(engine: EngineAdapter, compile_once: Callable[[], Any], times: int,
              compile_times: list[float], first_masks: list[float]) -> str | None:  # fmt: skip
    """Compile cold ``times`` more times, each followed by one timed first mask (appended to
    the lists); returns the error of the compile that failed, ``None`` when none did."""
    scratch = new_bitmask(engine.mask_words)
    try:
        for _ in range(times):
            with gc_paused(collect=False):
                started = time.perf_counter()
                compiled = compile_once()
                compile_times.append(time.perf_counter() - started)
                matcher = engine.matcher(compiled)
                started = time.perf_counter()
                engine.fill(matcher, scratch)
                first_masks.append(time.perf_counter() - started)
            del compiled, matcher
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def record_compiles(record: dict[str, Any], compile_times: list[float],
                    first_masks: list[float]) -> None:  # fmt: skip
    """Write ``compile`` (with the first compile's ``first_ms``), ``first_mask`` and
    ``time_to_first_mask`` summaries into ``record``."""
    record["compile"] = summarize_seconds(compile_times)
    record["compile"]["first_ms"] = compile_times[0] * 1e3
    record["first_mask"] = summarize_seconds(first_masks)
    record["time_to_first_mask"] = summarize_seconds(
        [c + f for c, f in zip(compile_times, first_masks)]
    )


def progress_bar(total: int, enabled: bool, unit: str) -> Any:
    """The benchmarks' progress bar (disabled with ``--no-progress``)."""
    return tqdm(total=total, disable=not enabled, unit=unit, dynamic_ncols=True)


def for_each_tokenizer(keys: list[str], vocab_dir: Path | None, download_error: str | None,
                       results: dict[str, Any], *, steps: int, unit: str, progress: bool,
                       run: Callable[[vocabs.LoadedTokenizer, Any], None]) -> None:  # fmt: skip
    """Load each vocabulary of ``keys`` in turn and ``run(tokenizer, bar)`` every engine on it,
    under a progress bar of ``steps`` per vocabulary. A vocabulary that cannot be loaded is
    recorded in ``results["tokenizers"]`` (with ``download_error``, see
    :func:`~structgen_bench.vocabs.vocab_dir_for`) and its steps are counted done."""
    bar = progress_bar(steps * len(keys), progress, unit)
    try:
        for key in keys:
            spec = vocabs.TOKENIZERS[key]
            bar.set_description(f"{key}: loading tokenizer")
            try:
                tokenizer = vocabs.load_tokenizer(spec, vocab_dir)
            except StructgenError as error:
                reason = str(error) if download_error is None else f"{error} ({download_error})"
                results["tokenizers"][key] = {"title": spec.title, "status": "error",
                                              "error": reason}  # fmt: skip
                bar.update(steps)
                continue
            run(tokenizer, bar)
            del tokenizer
            gc.collect()
    finally:
        bar.close()
