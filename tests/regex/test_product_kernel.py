"""The pair automaton in numba (kernel product_table) against the numpy search it replaces
(the same table, state for state) and against the language: a word is accepted by the product
exactly when ``accept`` holds of the two tables' verdicts on it."""

from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.errors import LimitExceededError
from structgen.kernels.trie_walk import product_table_kernel, warm_up
from structgen.regex import automaton
from tests.helpers.regex_strategies import dfa_tables

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMIT = automaton.StateLimit(10_000, "the states of a test product", "")
# (accept, keep_dead_left, keep_dead_right) as the callers use them: ∧, ∨, ∖ (and ∖ reversed)
KINDS = [
    (operator.and_, False, False),
    (operator.or_, True, True),
    (lambda a, b: a and not b, False, True),
    (lambda a, b: b and not a, True, False),
]


@pytest.fixture(scope="module", autouse=True)
def numba_loaded() -> None:
    assert warm_up(), "the numba kernels did not load"
    assert product_table_kernel() is not None


def _numpy_product(*args, **kwargs):
    """``automaton.product`` with the kernel hidden: the numpy search."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(automaton, "product_table_kernel", lambda: None)
        return automaton.product(*args, **kwargs)


def _run(transitions: np.ndarray, word: tuple[int, ...]) -> int:
    state = 0
    for klass in word:
        state = int(transitions[state, klass])
        if state < 0:
            return -1
    return state


def _accepts(table: tuple[np.ndarray, np.ndarray], word: tuple[int, ...]) -> bool:
    state = _run(table[0], word)
    return state >= 0 and bool(table[1][state])


def _same_classes(left, right):
    """Both tables cut to the classes they share (a product needs one alphabet)."""
    width = min(left[0].shape[1], right[0].shape[1])
    return (left[0][:, :width].copy(), left[1]), (right[0][:, :width].copy(), right[1])


@PROPERTY
@given(left=dfa_tables(), right=dfa_tables(), kind=st.sampled_from(KINDS))
def test_the_kernel_numbers_pairs_as_the_numpy_search(left, right, kind):
    left, right = _same_classes(left, right)
    accept, keep_left, keep_right = kind
    options = {"limit": LIMIT, "keep_dead_left": keep_left, "keep_dead_right": keep_right}
    fast = automaton.product(left, right, accept, **options)
    slow = _numpy_product(left, right, accept, **options)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert fast[0].dtype == np.int32 and fast[1].dtype == np.bool_


@PROPERTY
@given(
    left=dfa_tables(max_states=8, max_classes=3),
    right=dfa_tables(max_states=8, max_classes=3),
    kind=st.sampled_from(KINDS),
    words=st.lists(st.lists(st.integers(0, 2), max_size=6), max_size=20),
)
def test_the_product_accepts_what_accept_says_of_both(left, right, kind, words):
    left, right = _same_classes(left, right)
    accept, keep_left, keep_right = kind
    options = {"limit": LIMIT, "keep_dead_left": keep_left, "keep_dead_right": keep_right}
    product = automaton.product(left, right, accept, **options)
    width = left[0].shape[1]
    for word in words:
        word = tuple(klass % width for klass in word)
        expected = accept(_accepts(left, word), _accepts(right, word))
        assert _accepts(product, word) == expected, word


def test_too_many_pairs_raise_the_limit_in_both_searches():
    ring = np.roll(np.arange(40, dtype=np.int32), -1).reshape(-1, 1)  # a cycle of 40 states
    other = np.roll(np.arange(41, dtype=np.int32), -1).reshape(-1, 1)  # of 41: 1,640 pairs
    left, right = (ring, np.ones(40, dtype=bool)), (other, np.ones(41, dtype=bool))
    small = automaton.StateLimit(1_000, "the states of a test product", "")
    for search in (automaton.product, _numpy_product):
        with pytest.raises(LimitExceededError):
            search(left, right, operator.and_, limit=small)
        assert len(search(left, right, operator.and_, limit=LIMIT)[1]) == 40 * 41
