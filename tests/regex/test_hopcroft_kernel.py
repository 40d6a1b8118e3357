"""Hopcroft's partition in numba against the Python one, and against the Myhill-Nerode
oracle (two states are equivalent iff no word tells them apart: a pair search)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from structgen.kernels.numba_cpu import hopcroft_blocks
from structgen.regex import automaton
from tests.helpers.regex_strategies import dfa_tables

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def _distinguishable(transitions: np.ndarray, accepting: np.ndarray) -> set[tuple[int, int]]:
    """The pairs of states (the dead state as -1) some word tells apart: a backward fixed point
    from the pairs that differ on acceptance."""
    states = list(range(-1, transitions.shape[0]))

    def move(state: int, klass: int) -> int:
        return -1 if state < 0 else int(transitions[state, klass])

    def accepts(state: int) -> bool:
        return state >= 0 and bool(accepting[state])

    apart = {(p, q) for p in states for q in states if accepts(p) != accepts(q)}
    changed = True
    while changed:
        changed = False
        for p in states:
            for q in states:
                if (p, q) in apart:
                    continue
                if any((move(p, c), move(q, c)) in apart for c in range(transitions.shape[1])):
                    apart.add((p, q))
                    changed = True
    return apart


@PROPERTY
@given(table=dfa_tables())
def test_kernel_finds_the_coarsest_partition(table):
    transitions, accepting = table
    kernel = hopcroft_blocks(transitions, accepting)
    python = automaton._hopcroft_blocks(transitions, accepting)
    assert _same_partition(kernel, python)
    apart = _distinguishable(transitions, accepting)
    n = len(accepting)
    for p in range(n):
        for q in range(n):
            assert (kernel[p] == kernel[q]) == ((p, q) not in apart), (p, q)


@PROPERTY
@given(table=dfa_tables())
def test_minimize_gives_one_table_either_way(table):
    transitions, accepting = automaton.trim(*table)
    python = automaton.minimize(transitions, accepting)
    # (hypothesis runs many examples per test call: patched by hand, restored after each)
    original, threshold = automaton.hopcroft_kernel, automaton._KERNEL_STATES
    automaton.hopcroft_kernel, automaton._KERNEL_STATES = (lambda: hopcroft_blocks), 0
    try:
        kernel = automaton.minimize(transitions, accepting)
    finally:
        automaton.hopcroft_kernel, automaton._KERNEL_STATES = original, threshold
    assert np.array_equal(python[0], kernel[0]) and np.array_equal(python[1], kernel[1])
