"""Row helpers of the lazy automata: ``column_classes`` (numpy and numba) against a dict of
columns, and ``StateMap`` against a dict that numbers states on first sight."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from structgen.kernels import numba_cpu, numpy_ref, trie_walk
from structgen.regex.dfa import DEAD, StateMap

state_rows = st.integers(1, 6).flatmap(
    lambda k: st.integers(1, 40).flatmap(
        lambda n: arrays(np.int32, (k, n), elements=st.integers(DEAD, 60))
    )
)


def _oracle_classes(rows: np.ndarray) -> tuple[list[int], list[int]]:
    """Columns numbered by first sight with a dict of tuples; dead columns -1."""
    seen: dict[tuple[int, ...], int] = {}
    firsts: list[int] = []
    inverse: list[int] = []
    for index, column in enumerate(rows.T.tolist()):
        if max(column) < 0:
            inverse.append(-1)
            continue
        if tuple(column) not in seen:
            seen[tuple(column)] = len(firsts)
            firsts.append(index)
        inverse.append(seen[tuple(column)])
    return firsts, inverse


@settings(deadline=None)  # (the first call may compile the numba kernel)
@given(state_rows)
def test_column_classes_number_equal_columns_by_first_sight(rows: np.ndarray) -> None:
    """The numpy reference, the packed numpy fallback, numba's kernel and the engine's
    dispatcher against a dict of tuples."""
    firsts, inverse = _oracle_classes(rows)
    for kernel in (
        numpy_ref.column_classes,
        trie_walk.numpy_column_classes,
        numba_cpu.column_classes,
    ):
        got_inverse = np.empty(rows.shape[1], dtype=np.int32)
        got_firsts = kernel(rows, got_inverse)
        assert got_firsts.tolist() == firsts, kernel
        assert got_inverse.tolist() == inverse, kernel
    got_firsts, got_inverse = trie_walk.column_classes(rows)
    assert (got_firsts.tolist(), got_inverse.tolist()) == (firsts, inverse)


def test_column_classes_of_large_states_and_a_full_hash_table() -> None:
    rows = np.array([[2**30, 5, 2**30, DEAD], [1, 2**30, 1, DEAD], [3, 4, 3, DEAD]], np.int32)
    wide = np.tile(np.arange(256, dtype=np.int32), (2, 1))  # 256 classes: every slot probed
    for kernel in (
        numpy_ref.column_classes,
        trie_walk.numpy_column_classes,
        numba_cpu.column_classes,
    ):
        inverse = np.empty(4, dtype=np.int32)
        assert kernel(rows, inverse).tolist() == [0, 1] and inverse.tolist() == [0, 1, 0, -1]
        inverse = np.empty(256, dtype=np.int32)
        assert kernel(wide, inverse).tolist() == list(range(256))
        assert inverse.tolist() == list(range(256))


@given(st.lists(arrays(np.int32, 256, elements=st.integers(DEAD, 300)), min_size=1, max_size=5))
def test_state_map_numbers_each_state_once_in_first_sight_order(rows: list) -> None:
    calls: list[int] = []
    mapping = StateMap(lambda state: calls.append(state) or 1000 + len(calls))
    oracle: dict[int, int] = {}
    for row in rows:
        translated = mapping.translate(row)
        for state in sorted({int(s) for s in row if s >= 0} - set(oracle)):
            oracle[state] = 1000 + len(oracle) + 1
        expected = [DEAD if s < 0 else oracle[int(s)] for s in row]
        assert translated.dtype == np.int32
        assert translated.tolist() == expected
    assert calls == list(oracle)


@settings(deadline=None)  # (the first call may compile the numba kernel)
@given(
    arrays(np.int32, 256, elements=st.integers(DEAD, 5) | st.integers(DEAD, 300)),
    st.integers(1, 128),
)
def test_majority_state_is_the_most_frequent_live_state(row: np.ndarray, least: int) -> None:
    """``majority_state`` (which state a lexer row mostly leads to: the reference of a
    difference walk) against a count in Python: the live state most entries hold, the
    smallest on a tie, if at least ``least`` do; else -1."""
    counts: dict[int, int] = {}
    for state in row.tolist():
        if state >= 0:
            counts[state] = counts.get(state, 0) + 1
    best = min(counts, key=lambda s: (-counts[s], s)) if counts else -1
    expected = best if best >= 0 and counts[best] >= least else -1
    assert numba_cpu.majority_state(row, least) == expected
