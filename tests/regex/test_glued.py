"""Glued concatenations against Python's ``re``, the lazy concatenation and their kernels.

Gluing must keep the language (a glued run walks like ``re.fullmatch`` of the parts in a
row), glue only where it is deterministic (a conflict leaves the parts apart), say through
``future`` what a state accepts exactly as the lazy concatenation of the same parts does, and
its numba kernels must agree with their numpy references.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.kernels import numba_cpu, numpy_ref
from structgen.regex.concat_automaton import ConcatAutomaton
from structgen.regex.dfa import ByteDFA, byte_nfa, compile_byte_dfa
from structgen.regex.glued import GluedDFA, glue_parts
from structgen.regex.lazy_dfa import LazySubsetDFA
from structgen.regex.parser import parse_regex
from tests.helpers.automaton_walks import accepts, splits
from tests.helpers.regex_strategies import regexes

# Parts that glue (a quote, a key's character with its escape, whitespace, a colon) and
# parts that do not (a body that may go on where the next part starts).
PIECES = ['"', "a|\\\\u0061", "[ \\t]*", ":", "[a-c]*", "c", "b?", "(?:ab)+", '[^"]*']
TEXTS = st.lists(st.text(alphabet='"abc :\\u0619\t', max_size=10), min_size=1, max_size=12)


def _joined(parts: list) -> object:
    return parts[0] if len(parts) == 1 else ConcatAutomaton(parts)


@settings(deadline=None)
@given(st.lists(st.sampled_from(PIECES) | regexes(), min_size=1, max_size=5), TEXTS)
def test_glued_parts_accept_what_the_regexes_do_in_a_row(patterns, texts):
    parts = [compile_byte_dfa(parse_regex(p)) for p in patterns]
    glued = glue_parts(parts)
    compiled = [re.compile(p, re.ASCII) for p in patterns]
    automaton = _joined(glued)
    for text in texts:
        assert accepts(automaton, text.encode()) == splits(compiled, text), text
    # Every live state of a glued table can still complete (the ByteDFA invariant).
    for part in glued:
        if isinstance(part, GluedDFA):
            reach = part.accepting.copy()
            for _ in range(part.num_states):
                reach |= ((part.transitions >= 0) & reach[part.transitions]).any(axis=1)
            live_targets = np.unique(part.transitions[part.transitions >= 0])
            assert reach[live_targets].all()


def test_gluing_stops_at_a_conflict_and_at_a_lazy_part():
    def dfa(pattern: str) -> ByteDFA:
        return compile_byte_dfa(parse_regex(pattern))

    quote, body, tail = dfa('"'), dfa("[a-c]*"), dfa('c"')
    lazy = LazySubsetDFA(byte_nfa(parse_regex("x+")))
    glued = glue_parts([quote, body, tail, lazy, quote, dfa(" *"), dfa(":")])
    assert len(glued) == 4
    assert isinstance(glued[0], GluedDFA) and glued[0].parts == (quote, body)
    assert glued[1] is tail  # [a-c]* may read the c the tail starts with: apart
    assert glued[2] is lazy
    assert isinstance(glued[3], GluedDFA) and len(glued[3].parts) == 3


@settings(deadline=None, max_examples=60)
@given(st.lists(st.sampled_from(PIECES), min_size=2, max_size=5), TEXTS, TEXTS)
def test_a_glued_states_future_accepts_what_the_lazy_concatenation_does(
    patterns, prefixes, continuations
):
    parts = [compile_byte_dfa(parse_regex(p)) for p in patterns]
    glued = glue_parts(parts)
    for table in glued:
        if not isinstance(table, GluedDFA):
            continue
        for prefix in prefixes:
            state = 0
            for byte in prefix.encode():
                state = int(table.row(state)[byte]) if state >= 0 else state
            if state < 0:
                continue
            future_parts, members = table.future(state)
            lazy = ConcatAutomaton(list(future_parts))
            start = lazy._intern(members)
            for text in continuations:
                data = text.encode()
                assert accepts(table, data, state) == accepts(lazy, data, start), (prefix, text)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=4))
def test_glue_kernel_agrees_with_numpy(patterns):
    parts = [compile_byte_dfa(parse_regex(p)) for p in patterns]
    offsets = np.zeros(len(parts) + 1, dtype=np.int32)
    np.cumsum([p.num_states for p in parts], out=offsets[1:])
    stacked = np.concatenate([p.transitions for p in parts])
    flags = np.concatenate([p.accepting for p in parts])
    results = []
    for kernel in (numba_cpu.glue_tables, numpy_ref.glue_tables):
        table, accepting = stacked.copy(), np.empty(len(stacked), dtype=np.bool_)
        kernel(table, offsets, flags, accepting)
        results.append((table, accepting))
    assert np.array_equal(results[0][0], results[1][0])
    assert np.array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("seed", range(6))
def test_renumber_kernel_agrees_with_numpy(seed):
    random = np.random.default_rng(seed)
    states = int(random.integers(1, 40))
    table = random.integers(-1, states, size=(states, 256)).astype(np.int32)
    ids = random.permutation(3 * states)[:states].astype(np.int32)
    results = []
    for kernel in (numba_cpu.renumber_rows, numpy_ref.renumber_rows):
        transitions = np.full((3 * states, 256), -7, dtype=np.int32)
        kernel(table, ids, transitions)
        results.append(transitions)
    assert np.array_equal(results[0], results[1])
    expected = np.where(table >= 0, ids[np.maximum(table, 0)], -1)
    assert np.array_equal(results[0][ids], expected)
