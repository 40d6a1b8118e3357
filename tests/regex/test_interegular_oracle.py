"""structgen's regex automata against interegular, an independent regex → FSM library.

Both sides read the same Python-syntax regex (``re.ASCII`` meaning, the syntax both support).
Besides sampled strings, whole languages are compared: each structgen DFA is rewritten as an
interegular FSM over the characters interegular's own FSM tells apart (plus one stand-in for
every other character) and interegular decides equivalence. Products (∧, ∖) and emptiness of
the code-point DFA are checked against interegular's own FSM algebra.
"""

from __future__ import annotations

import interegular
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interegular.fsm import FSM, Alphabet, anything_else

from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import ByteDFA, regex_to_dfa, shortest_common_string
from structgen.regex.parser import parse_regex
from tests.helpers.regex_strategies import interegular_regexes

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLE_ALPHABET = "abcxyz019-_ é日😀.\n\tA{"
# Stand-ins for "any other character": each is outside every pattern the strategy draws.
OTHER_CHARS = ("\u2603", "\u0416", "\U0001f98a")


def oracle(pattern: str) -> FSM:
    return interegular.parse_pattern(pattern).to_fsm()


def _symbols(*fsms: FSM) -> tuple[list[str], str]:
    chars = sorted({c for fsm in fsms for c in fsm.alphabet if c is not anything_else})
    other = next(c for c in OTHER_CHARS if c not in chars)
    return chars, other


def _as_fsm(num_states: int, accepting, step, chars: list[str], other: str) -> FSM:
    """An interegular FSM over ``chars`` + anything else (read as ``other``); ``step(s, c)``."""
    symbols: list = [*chars, anything_else]
    alphabet = Alphabet({symbol: key for key, symbol in enumerate(symbols)})
    mapping: dict[int, dict[int, int]] = {}
    for state in range(num_states):
        row = {}
        for key, symbol in enumerate(symbols):
            target = step(state, other if symbol is anything_else else symbol)
            if target >= 0:
                row[key] = target
        mapping[state] = row
    finals = {state for state in range(num_states) if accepting[state]}
    return FSM(alphabet, set(range(num_states)), 0, finals, mapping)


def byte_dfa_fsm(dfa: ByteDFA, chars: list[str], other: str) -> FSM:
    return _as_fsm(
        dfa.num_states, dfa.accepting, lambda s, c: dfa.walk(s, c.encode("utf-8")), chars, other
    )


def codepoint_dfa_fsm(dfa: CodePointDFA, chars: list[str], other: str) -> FSM:
    return _as_fsm(
        dfa.num_states,
        dfa.accepting,
        lambda s, c: int(dfa.transitions[s, dfa.class_of(ord(c))]),
        chars,
        other,
    )


def _codepoint_dfa(pattern: str) -> CodePointDFA:
    return CodePointDFA.from_node(parse_regex(pattern))


# -- sampled strings ------------------------------------------------------------------------------


@PROPERTY
@given(pattern=interegular_regexes(), text=st.text(alphabet=SAMPLE_ALPHABET, max_size=8))
def test_byte_dfa_and_interegular_accept_the_same_strings(pattern, text):
    assert regex_to_dfa(pattern).fullmatch(text.encode("utf-8")) == oracle(pattern).accepts(text)


@PROPERTY
@given(pattern=interegular_regexes(), text=st.text(alphabet=SAMPLE_ALPHABET, max_size=8))
def test_codepoint_dfa_and_interegular_accept_the_same_strings(pattern, text):
    assert _codepoint_dfa(pattern).accepts(text) == oracle(pattern).accepts(text)


# -- whole languages ------------------------------------------------------------------------------


@PROPERTY
@given(pattern=interegular_regexes())
def test_byte_dfa_has_the_language_of_interegulars_fsm(pattern):
    theirs = oracle(pattern)
    chars, other = _symbols(theirs)
    ours = byte_dfa_fsm(regex_to_dfa(pattern), chars, other)
    assert ours.equivalent(theirs), (pattern, next(iter(ours ^ theirs), None))


@PROPERTY
@given(pattern=interegular_regexes())
def test_minimal_codepoint_dfa_and_its_regex_have_the_language_of_interegulars_fsm(pattern):
    theirs = oracle(pattern)
    chars, other = _symbols(theirs)
    minimal = _codepoint_dfa(pattern).minimized()
    assert codepoint_dfa_fsm(minimal, chars, other).equivalent(theirs), pattern
    # State elimination back to a regex, and that regex compiled again, keep the language.
    again = CodePointDFA.from_node(minimal.to_node())
    assert codepoint_dfa_fsm(again, chars, other).equivalent(theirs), pattern


@PROPERTY
@given(left=interegular_regexes(), right=interegular_regexes())
def test_products_match_interegulars_intersection_and_difference(left, right):
    fsm_left, fsm_right = oracle(left), oracle(right)
    chars, other = _symbols(fsm_left, fsm_right)
    a, b = _codepoint_dfa(left), _codepoint_dfa(right)
    both = a.intersect(b)
    assert both.is_empty() == (fsm_left & fsm_right).empty(), (left, right)
    assert codepoint_dfa_fsm(both, chars, other).equivalent(fsm_left & fsm_right), (left, right)
    only_left = a.difference(b)
    assert only_left.is_empty() == (fsm_left - fsm_right).empty(), (left, right)
    only_left_fsm = codepoint_dfa_fsm(only_left, chars, other)
    assert only_left_fsm.equivalent(fsm_left - fsm_right), (left, right)
    either = a.union(b)
    assert codepoint_dfa_fsm(either, chars, other).equivalent(fsm_left | fsm_right), (left, right)


@PROPERTY
@given(left=interegular_regexes(), right=interegular_regexes())
def test_shortest_common_string_agrees_with_interegulars_intersection(left, right):
    common = oracle(left) & oracle(right)
    found = shortest_common_string(regex_to_dfa(left), regex_to_dfa(right))
    if common.empty():
        assert found is None, (left, right, found)
        return
    assert found is not None, (left, right)
    text = found.decode("utf-8")
    assert common.accepts(text), (left, right, text)
    shortest = min(len(s.encode("utf-8")) for s in _first_strings(common, 200))
    assert len(found) <= shortest, (left, right, found)


def _first_strings(fsm: FSM, limit: int) -> list[str]:
    """interegular's accepted strings, shortest first (``anything_else`` shown as a stand-in)."""
    out = []
    for chars in fsm.strings():
        out.append("".join(OTHER_CHARS[0] if c is anything_else else c for c in chars))
        if len(out) >= limit:
            break
    return out


@pytest.mark.parametrize(
    ("left", "right", "disjoint"),
    [
        (r"[a-z]+", "if", False),
        (r"[a-z]+", r"[0-9]+", True),
        (r"\d+\.\d*", r"\d+", True),
        (r"(ab)*", r"a(ba)*b", False),
        (r"[^\n]*", r"\s+", False),
        (r"x{2,}", r"x", True),
    ],
)
def test_emptiness_of_intersections_on_known_pairs(left, right, disjoint):
    expected = (oracle(left) & oracle(right)).empty()
    assert expected == disjoint  # the oracle itself agrees with the table
    assert _codepoint_dfa(left).intersect(_codepoint_dfa(right)).is_empty() == disjoint
    assert (shortest_common_string(regex_to_dfa(left), regex_to_dfa(right)) is None) == disjoint
