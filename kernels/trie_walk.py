"""The grammar engine's trie walk, from the first call of a fresh process on.

:func:`walk_trie_events` has the signature and the results of
:func:`structgen.kernels.numba_cpu.walk_trie_events`. Importing numba and loading the kernel's
cached machine code costs about 0.6 s of CPU, more than the walks of a small constraint's
first masks (walks are cached per lexer state, so a small constraint needs a few dozen). So the
walk starts in numpy (:mod:`structgen.kernels.numpy_walk`, about 8x slower per walk) and numba
is bought like skis are in the ski-rental problem: once the numpy walks of this process have
cost ``LOAD_AFTER_SECONDS`` of CPU, a background thread imports numba and loads the kernel
(right away when numba's kernels are already imported); every walk after that uses it. Loading
in the background shares the interpreter lock with the caller, which is why it does not start
at the first walk. ``STRUCTGEN_TRIE_WALK=numba`` (wait for numba, never use numpy) or
``numpy`` (never load numba) pins one.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from structgen.kernels.numpy_ref import glue_tables as numpy_glue_tables
from structgen.kernels.numpy_ref import renumber_rows as numpy_renumber_rows
from structgen.kernels.numpy_walk import walk_trie_events as numpy_walk

__all__ = [
    "LOAD_AFTER_SECONDS",
    "column_classes",
    "future_table_kernel",
    "glue_tables",
    "numpy_column_classes",
    "numba_walk_ready",
    "or_words_kernel",
    "hopcroft_kernel",
    "product_row_kernels",
    "product_table_kernel",
    "prune_kernel",
    "renumber_rows",
    "start_loading_numba",
    "trim_kernels",
    "walk_trie_events",
    "warm_up",
]

LOAD_AFTER_SECONDS = 0.3
"""CPU seconds of numpy walks after which numba is loaded in the background."""

_lock = threading.Lock()
_loader: threading.Thread | None = None
_numba_walk: Callable[..., int] | None = None
_numba_columns: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
_numba_prune: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
_numba_hopcroft: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
_numba_renumber: Callable[..., None] | None = None
_numba_glue: Callable[..., None] | None = None
_numba_trim: tuple[Callable[..., Any], Callable[..., Any]] | None = None
_numba_product_row: tuple[Callable[..., int], Callable[..., None]] | None = None
_numba_future: Callable[..., int] | None = None
_numba_product_table: Callable[..., tuple[int, np.ndarray, np.ndarray]] | None = None
_numba_or_words: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None
_failure: BaseException | None = None
_numpy_seconds = 0.0


def _load() -> None:
    """Import the numba kernel and run it once on the argument types the engine passes."""
    global _numba_walk, _numba_columns, _numba_prune, _numba_hopcroft, _failure
    global _numba_renumber, _numba_glue, _numba_trim, _numba_product_row, _numba_future
    global _numba_product_table, _numba_or_words
    try:
        from structgen.kernels.numba_cpu import column_classes as numba_columns
        from structgen.kernels.numba_cpu import (
            coreachable_states,
            future_table,
            glue_tables,
            hopcroft_blocks,
            majority_state,
            or_words,
            product_row,
            product_table,
            prune_rules,
            renumber_rows,
            renumber_table,
            take_words,
            walk_trie_difference,
            walk_trie_events_lazy,
            write_product_row,
        )
        from structgen.kernels.numba_cpu import walk_trie_events as kernel

        # One call of each kernel a mask runs, on the argument types the engine passes, so the
        # first mask that needs one does not load its machine code.
        one = np.zeros(1, dtype=np.int32)
        rows, accepting = np.full((1, 256), -1, dtype=np.int32), np.zeros(1, dtype=np.bool_)
        trie = (np.zeros(1, dtype=np.uint8), one, np.ones(1, np.int32), np.zeros(2, np.int32), one)
        kernel(rows, accepting, 0, one.copy(), *trie, one.copy(), one.copy(), one.copy())
        walk_trie_difference(
            rows, accepting, one.copy(), one.copy(), one.copy(), *trie, one.copy(), one.copy(),
            one.copy(), 0, one.copy(), -3, np.zeros(1, dtype=np.bool_), one.copy(),
            np.zeros(3, dtype=np.int32), np.zeros(3, dtype=np.int64), 2,
        )  # fmt: skip
        walk_trie_events_lazy(
            rows, accepting, 0, one.copy(), *trie, one.copy(), one.copy(), one.copy(), 0, -3,
            one.copy(), one.copy(), np.zeros(1, dtype=np.int64), 2,
        )  # fmt: skip
        numba_columns(rows, np.empty(256, dtype=np.int32))
        majority_state(rows[0], 64)
        scratch = np.empty(256, dtype=np.int32)
        product_row(
            rows, np.zeros(1, dtype=np.int64), one, scratch, scratch.copy(),
            np.empty(512, dtype=np.int32), rows.copy(), 0,
        )  # fmt: skip
        write_product_row(scratch, scratch.copy(), rows.copy(), 0)
        _numba_product_row = product_row, write_product_row
        take_words(one.copy(), one.copy(), one.copy())
        or_words(one.copy(), np.zeros(1, dtype=np.int32), one.copy())
        _numba_or_words = or_words
        future_table(rows, 0, 1, np.full(1, -1, np.int32), one.copy(), np.empty((1, 256), np.int16))
        _numba_future = future_table
        prune_rules(one.copy(), np.zeros(2, dtype=np.int64), one.copy(), 2, 1, 1)
        _numba_prune = prune_rules
        hopcroft_blocks(rows[:, :1].copy(), accepting)
        _numba_hopcroft = hopcroft_blocks
        renumber_rows(rows, one.copy(), rows.copy())
        _numba_renumber = renumber_rows
        glue_tables(rows.copy(), np.array([0, 1], dtype=np.int32), accepting, accepting.copy())
        _numba_glue = glue_tables
        coreachable_states(rows, accepting)
        renumber_table(rows, accepting, accepting.copy(), False)
        _numba_trim = coreachable_states, renumber_table
        sinks = np.zeros((1, 1), dtype=np.int64)
        product_table(sinks, sinks, True, False, 1, np.full(1, -1, dtype=np.int32))
        _numba_product_table = product_table
        _numba_columns = numba_columns
        _numba_walk = kernel
    except BaseException as error:  # reported by the next walk that needs numba
        _failure = error


def start_loading_numba() -> threading.Thread:
    """Start loading the numba kernel in a background (daemon) thread, once per process."""
    global _loader
    with _lock:
        if _loader is None:
            _loader = threading.Thread(target=_load, name="structgen-numba-load", daemon=True)
            _loader.start()
        return _loader


def numba_walk_ready() -> bool:
    """Whether walks now run in numba."""
    return _numba_walk is not None


def prune_kernel() -> Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """:func:`structgen.kernels.numba_cpu.prune_rules` once numba is loaded (never waits:
    callers keep a Python pass for before then)."""
    return _numba_prune


def hopcroft_kernel() -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """:func:`structgen.kernels.numba_cpu.hopcroft_blocks` once numba is loaded (never
    waits)."""
    return _numba_hopcroft


def trim_kernels() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """:func:`structgen.kernels.numba_cpu.coreachable_states` and
    :func:`~structgen.kernels.numba_cpu.renumber_table` once numba is loaded (never waits:
    :func:`structgen.regex.automaton.trim` and ``renumber`` keep their Python passes)."""
    return _numba_trim


def product_row_kernels() -> tuple[Callable[..., int], Callable[..., None]] | None:
    """:func:`structgen.kernels.numba_cpu.product_row` and
    :func:`~structgen.kernels.numba_cpu.write_product_row` once numba is loaded (never waits:
    the product lexer keeps its Python rows for before then)."""
    return _numba_product_row


def or_words_kernel() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None:
    """:func:`structgen.kernels.numba_cpu.or_words` once numba is loaded (never waits: a mask
    ORs a sparse walk's words with numpy before then)."""
    return _numba_or_words


def product_table_kernel() -> Callable[..., tuple[int, np.ndarray, np.ndarray]] | None:
    """:func:`structgen.kernels.numba_cpu.product_table` once numba is loaded (never waits:
    :func:`structgen.regex.automaton.product` keeps its numpy pass for before then)."""
    return _numba_product_table


def future_table_kernel() -> Callable[..., int] | None:
    """:func:`structgen.kernels.numba_cpu.future_table` once numba is loaded (never waits:
    :meth:`structgen.regex.dfa.ByteDFA.future_digest` keeps its Python pass for before then)."""
    return _numba_future


def warm_up() -> bool:
    """Load the numba kernels now and wait for them: a long-lived process (a server, a
    benchmark worker) calls this once at start-up, so that no mask of its first constraints
    waits for numba's import (about 0.6 s of CPU that holds the interpreter lock). One-shot
    processes (the CLI) need not: they buy numba only when their walks make it pay. False when
    the kernels cannot load here (walks then stay in numpy) or ``STRUCTGEN_TRIE_WALK=numpy``."""
    if os.environ.get("STRUCTGEN_TRIE_WALK", "auto") == "numpy":
        return False
    start_loading_numba().join()
    return _numba_walk is not None


def _wait_for_numba() -> Callable[..., int]:
    start_loading_numba().join()
    if _numba_walk is None:
        raise RuntimeError("the numba trie-walk kernel failed to load") from _failure
    return _numba_walk


def walk_trie_events(*arguments: Any) -> int:
    """:func:`structgen.kernels.numba_cpu.walk_trie_events`, in numba when it is loaded and
    in numpy until then (identical results)."""
    global _numpy_seconds
    kernel = _numba_walk
    if kernel is not None:
        return kernel(*arguments)
    mode = os.environ.get("STRUCTGEN_TRIE_WALK", "auto")
    if mode == "numba":
        return _wait_for_numba()(*arguments)
    if mode != "numpy" and _loader is None and _failure is None:
        if _numpy_seconds >= LOAD_AFTER_SECONDS or "structgen.kernels.numba_cpu" in sys.modules:
            start_loading_numba()
    started = time.thread_time()
    count = numpy_walk(*arguments)
    _numpy_seconds += time.thread_time() - started
    return count


def column_classes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first column of each class, class of each column)`` of the equal columns of an int32
    ``[k, n]`` array of states (see :func:`structgen.kernels.numpy_ref.column_classes`): in
    numba once the walks loaded it, in numpy before (the same results)."""
    inverse = np.empty(rows.shape[1], dtype=np.int32)
    kernel = _numba_columns or numpy_column_classes
    return kernel(np.ascontiguousarray(rows, dtype=np.int32), inverse), inverse


def renumber_rows(table: np.ndarray, ids: np.ndarray, transitions: np.ndarray) -> None:
    """:func:`structgen.kernels.numba_cpu.renumber_rows` (a terminal's table into the product
    lexer's rows ``ids``), in numba once loaded and in numpy before."""
    (_numba_renumber or numpy_renumber_rows)(table, ids, transitions)


def glue_tables(
    table: np.ndarray, offsets: np.ndarray, part_accepting: np.ndarray, accepting: np.ndarray
) -> None:
    """:func:`structgen.kernels.numba_cpu.glue_tables` (stacked DFA tables glued into one
    concatenation), in numba once loaded and in numpy before."""
    (_numba_glue or numpy_glue_tables)(table, offsets, part_accepting, accepting)


def numpy_column_classes(rows: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """:func:`column_classes` in numpy: each live column packed into one int64 where the
    states fit (``np.unique`` of rows is several times slower), classes renumbered by their
    first column."""
    inverse[:] = -1
    columns = np.flatnonzero((rows >= 0).any(axis=0))
    if not len(columns):
        return np.zeros(0, dtype=np.int32)
    live = rows[:, columns]
    base = int(live.max()) + 2
    if base ** live.shape[0] < 1 << 62:
        keys = live[0].astype(np.int64) + 1
        for row in live[1:]:
            keys = keys * base + (row.astype(np.int64) + 1)
        _, first, within = np.unique(keys, return_index=True, return_inverse=True)
    else:
        _, first, within = np.unique(live.T, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inverse[columns] = rank[within.reshape(-1)]
    return columns[first[order]].astype(np.int32)
