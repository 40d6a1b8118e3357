"""Row helpers of the lazy automata: ``distinct_columns`` against ``np.unique(axis=0)`` and
``StateMap`` against a dict that numbers states on first sight."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from structgen.regex.dfa import DEAD, StateMap, distinct_columns

state_rows = st.integers(1, 6).flatmap(
    lambda k: st.integers(1, 40).flatmap(
        lambda n: arrays(np.int32, (k, n), elements=st.integers(DEAD, 60))
    )
)


@given(state_rows)
def test_distinct_columns_match_numpy_unique(rows: np.ndarray) -> None:
    columns, inverse = distinct_columns(rows)
    expected, expected_inverse = np.unique(rows.T, axis=0, return_inverse=True)
    np.testing.assert_array_equal(columns, expected)
    np.testing.assert_array_equal(inverse, expected_inverse.reshape(-1))


def test_distinct_columns_with_states_too_large_to_pack() -> None:
    rows = np.array([[2**30, 5, 2**30], [1, 2**30, 1], [3, 4, 3]], dtype=np.int32)
    columns, inverse = distinct_columns(rows)
    np.testing.assert_array_equal(columns, [[5, 2**30, 4], [2**30, 1, 3]])
    np.testing.assert_array_equal(inverse, [1, 0, 1])


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
