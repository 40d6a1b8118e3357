"""Counted repetitions of a prefix-free body, built as copies end to end
(``automaton.chained_repeat``), against Python's ``re`` and the subset construction."""

from __future__ import annotations

import json
import re

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from structgen.regex import automaton
from structgen.regex.dfa import DEAD, compile_byte_dfa, regex_to_dfa
from structgen.regex.nodes import ANY_CHAR, repeat
from structgen.schema.json_strings import encode_charset

# Bodies whose minimal DFA is prefix-free with a fresh start (no string of the body extends
# another, and the start is never re-entered), and bodies that are not.
CHAINABLE = ["a", "ab|c", "x[0-9]{2}", "(?:é|ü)", r'[^"\\]|\\["\\/bfnrt]|\\u[0-9a-f]{4}']
NOT_CHAINABLE = ["a+", "ab?", "(?:ab)*c", "a|ab"]
LIMIT = automaton.StateLimit(100_000, "states", "raise it")


def _table(pattern: str) -> tuple[np.ndarray, np.ndarray]:
    dfa = regex_to_dfa(pattern)
    return dfa.transitions, dfa.accepting


def _accepts(table: tuple[np.ndarray, np.ndarray], data: bytes) -> bool:
    transitions, accepting = table
    state = 0
    for byte in data:
        state = int(transitions[state, byte])
        if state == DEAD:
            return False
    return bool(accepting[state])


def _counts() -> st.SearchStrategy[tuple[int, int | None]]:
    return st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(0, 6))).filter(
        lambda c: c[1] is None or c[1] >= c[0]
    )


@settings(max_examples=60, deadline=None)
@given(
    body=st.sampled_from(CHAINABLE),
    counts=_counts(),
    words=st.lists(
        st.sampled_from(["a", "ab", "c", "x12", "é", "ü", "\\n", "\\u00e9", "q", ""]), max_size=8
    ),  # fmt: skip
)
def test_chained_repeat_matches_re(body, counts, words):
    low, high = counts
    table = automaton.chained_repeat(*_table(body), low, high, LIMIT)
    assert table is not None
    quantifier = f"{{{low},}}" if high is None else f"{{{low},{high}}}"
    oracle = re.compile(f"(?:{body}){quantifier}", re.DOTALL)
    text = "".join(words)
    assert _accepts(table, text.encode()) == (oracle.fullmatch(text) is not None)


@settings(max_examples=40, deadline=None)
@given(body=st.sampled_from(CHAINABLE), counts=_counts())
def test_chained_repeat_is_the_minimal_dfa_of_the_subset_construction(body, counts):
    low, high = counts
    transitions, accepting = _table(body)
    chained = automaton.chained_repeat(transitions, accepting, low, high, LIMIT)
    general = automaton.minimize(
        *automaton.trim(
            *automaton.repeat(
                transitions,
                accepting,
                low,
                high,
                limit=LIMIT,
                budget=automaton.WorkBudget(10**9),
            )  # fmt: skip
        )
    )
    assert chained is not None
    assert chained[0].shape == general[0].shape  # as small as the minimal DFA
    assert automaton.minimize(*automaton.trim(*chained))[0].shape == general[0].shape


def test_bodies_that_are_not_prefix_free_take_the_subset_construction():
    for body in NOT_CHAINABLE:
        assert automaton.chained_repeat(*_table(body), 2, 4, LIMIT) is None, body


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=45), ensure_ascii=st.booleans())
def test_a_json_string_tail_accepts_the_encodings_of_its_lengths(text, ensure_ascii):
    tail = compile_byte_dfa(repeat(encode_charset(ANY_CHAR, True), 2, 40))
    assume(not any(0xD800 <= ord(c) <= 0xDFFF for c in text))  # (a lone surrogate: no character)
    encoded = json.dumps(text, ensure_ascii=ensure_ascii)[1:-1].encode()
    assert tail.fullmatch(encoded) == (2 <= len(text) <= 40)
    assert not tail.fullmatch(encoded + b'"')
