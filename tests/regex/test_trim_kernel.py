"""trim and renumber in numba (kernels coreachable_states, renumber_table) against the Python
passes they replace, and against the language: a trimmed DFA accepts what the table did, from
states that are all reachable and all co-reachable; ``distinct`` against ``np.unique``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.kernels.trie_walk import trim_kernels, warm_up
from structgen.regex import automaton
from tests.helpers.regex_strategies import dfa_tables

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KERNEL_SIZES = {"max_states": 40, "max_classes": 5}  # from 16 states the kernels run


@pytest.fixture(scope="module", autouse=True)
def numba_loaded() -> None:
    assert warm_up(), "the numba kernels did not load"
    assert trim_kernels() is not None


def _python(function, *args, **kwargs):
    """``function`` with the kernels hidden: the Python passes."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(automaton, "trim_kernels", lambda: None)
        return function(*args, **kwargs)


def _words(transitions: np.ndarray, accepting: np.ndarray, length: int) -> set[tuple[int, ...]]:
    """Every accepted word of at most ``length`` classes (a breadth-first enumeration)."""
    found: set[tuple[int, ...]] = set()
    frontier = [((), 0)]
    for _ in range(length + 1):
        following = []
        for word, state in frontier:
            if accepting[state]:
                found.add(word)
            for klass in range(transitions.shape[1]):
                target = int(transitions[state, klass])
                if target >= 0:
                    following.append(((*word, klass), target))
        frontier = following
    return found


@PROPERTY
@given(table=dfa_tables(**KERNEL_SIZES))
def test_the_trim_kernel_gives_the_python_table(table):
    transitions, accepting = table
    fast = automaton.trim(transitions, accepting)
    slow = _python(automaton.trim, transitions, accepting)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert fast[0].dtype == np.int32 and fast[1].dtype == np.bool_


@PROPERTY
@given(table=dfa_tables(**KERNEL_SIZES), by_class=st.booleans())
def test_the_renumber_kernel_gives_the_python_numbering(table, by_class):
    transitions, accepting = table
    fast = automaton.renumber(transitions, accepting, by_class=by_class)
    slow = _python(automaton.renumber, transitions, accepting, by_class=by_class)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])


@PROPERTY
@given(table=dfa_tables(**KERNEL_SIZES))
def test_a_trimmed_table_accepts_the_same_words_from_useful_states_only(table):
    transitions, accepting = table
    trimmed, final = automaton.trim(transitions, accepting)
    assert _words(trimmed, final, 5) == _words(transitions, accepting, 5)
    if final.any():  # every state is reachable (numbered by the search) and co-reachable
        assert automaton._coreachable(trimmed, final).all()
        assert len(automaton.renumber(trimmed, final)[1]) == len(final)


@PROPERTY
@given(values=st.lists(st.integers(-(2**40), 2**40), max_size=60))
def test_distinct_is_numpys_unique(values):
    array = np.array(values, dtype=np.int64)
    assert np.array_equal(automaton.distinct(array), np.unique(array))
    assert np.array_equal(automaton.distinct(array.reshape(-1, 1)), np.unique(array))
