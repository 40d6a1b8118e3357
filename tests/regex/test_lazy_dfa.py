"""The lazily determinised DFA and the lazy concatenation against Python's ``re``.

Every state they number must still be able to complete (the ByteAutomaton liveness
invariant), and walking their rows over a text must accept exactly what ``re.fullmatch``
does; the payload round trip must give the same rows for the states numbered so far.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.regex.concat_automaton import ConcatAutomaton
from structgen.regex.dfa import byte_nfa, compile_byte_dfa
from structgen.regex.lazy_dfa import LazySubsetDFA
from structgen.regex.parser import parse_regex
from tests.helpers.automaton_walks import accepts, splits
from tests.helpers.regex_strategies import regexes

TEXTS = st.lists(st.text(alphabet="abcxyz019 -_.\n", max_size=8), min_size=1, max_size=12)


def _all_states_live(automaton) -> bool:
    """Every numbered state reaches an accepting one (explored to a fixpoint)."""
    explored = 0
    while explored < automaton.num_states:
        automaton.row(explored)
        explored += 1
    reaches = [automaton.accepts(s) for s in range(automaton.num_states)]
    changed = True
    while changed:
        changed = False
        for state in range(automaton.num_states):
            if not reaches[state] and any(
                reaches[t] for t in set(automaton.row(state).tolist()) if t >= 0
            ):
                reaches[state] = changed = True
    return all(reaches)


@settings(deadline=None)
@given(regexes(), TEXTS)
def test_lazy_subset_dfa_matches_re(pattern, texts):
    lazy = LazySubsetDFA(byte_nfa(parse_regex(pattern)))
    for text in texts:
        assert accepts(lazy, text.encode()) == bool(re.fullmatch(pattern, text, re.ASCII)), text
    assert _all_states_live(lazy)


@settings(deadline=None)
@given(st.lists(regexes(), min_size=1, max_size=4), TEXTS)
def test_concatenation_matches_re(patterns, texts):
    parts = [compile_byte_dfa(parse_regex(p)) for p in patterns[:-1]]
    parts.append(LazySubsetDFA(byte_nfa(parse_regex(patterns[-1]))))
    concat = ConcatAutomaton(parts)
    compiled = [re.compile(p, re.ASCII) for p in patterns]
    for text in texts:
        assert accepts(concat, text.encode()) == splits(compiled, text), text
    assert _all_states_live(concat)


@settings(deadline=None, max_examples=40)
@given(regexes(), regexes(), TEXTS)
def test_payload_round_trip_keeps_state_numbers(first, second, texts):
    concat = ConcatAutomaton(
        [compile_byte_dfa(parse_regex(first)), LazySubsetDFA(byte_nfa(parse_regex(second)))]
    )
    for text in texts:
        accepts(concat, text.encode())
    known = concat.num_states
    restored = ConcatAutomaton.from_payload(*concat.payload())
    assert restored.num_states == known
    for state in range(known):
        assert np.array_equal(restored.row(state), concat.row(state))
        assert restored.accepts(state) == concat.accepts(state)
