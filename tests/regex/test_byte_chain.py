"""A fixed sequence of byte sets (a literal, a quote, ``[0-9]``) is built as a chain directly,
not through the NFA: the chain must be the table the NFA route builds, state for state, and
accept what Python's ``re`` matches. So is an alternation of such sequences with disjoint first
bytes (an escaped key character, ``(?:e|\\u0065)``): the minimal DFA of the NFA route, in the
canonical numbering."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.regex import dfa as dfa_module
from structgen.regex.ast import Alt, CharSet
from structgen.regex.automaton import renumber
from structgen.regex.dfa import compile_byte_dfa
from structgen.regex.nodes import concat
from structgen.regex.parser import parse_regex
from tests.helpers.automaton_walks import accepts

ASCII_SET = st.lists(
    st.tuples(st.integers(0, 0x7F), st.integers(0, 8)), min_size=1, max_size=3
).map(lambda spans: CharSet.of([(low, min(low + width, 0x7F)) for low, width in spans]))
ONE_CODE_POINT = st.characters(exclude_categories=["Cs"]).map(CharSet.chars)
PARTS = st.lists(ASCII_SET | ONE_CODE_POINT, min_size=1, max_size=6)


def _through_the_nfa(node):
    original = dfa_module._byte_chain
    dfa_module._byte_chain = lambda *arguments: None
    try:
        return compile_byte_dfa(node)
    finally:
        dfa_module._byte_chain = original


def _byte_pattern(parts: list[CharSet]) -> bytes:
    """A ``re`` pattern over bytes: ASCII sets as byte classes, a code point as its UTF-8."""
    out = []
    for part in parts:
        if part.ranges[-1][1] < 0x80:
            spans = "".join(f"\\x{low:02x}-\\x{high:02x}" for low, high in part.ranges)
            out.append(f"[{spans}]".encode())
        else:
            out.append(re.escape(chr(part.ranges[0][0]).encode()))
    return b"".join(out)


def _member(data: st.DataObject, parts: list[CharSet]) -> bytes:
    """A string the sequence ``parts`` matches (one drawn code point of each), as UTF-8."""
    return b"".join(
        chr(
            data.draw(st.sampled_from([c for low, high in p.ranges for c in range(low, high + 1)]))
        ).encode()
        for p in parts
    )


@settings(deadline=None, max_examples=150)
@given(parts=PARTS, data=st.data())
def test_a_chain_is_the_table_the_nfa_route_builds_and_matches_what_re_matches(parts, data):
    node = concat(*parts)
    chain = compile_byte_dfa(node)
    assert dfa_module._byte_chain(node, 10**6) is not None  # (the fast route was taken)
    built = _through_the_nfa(node)
    assert np.array_equal(chain.transitions, built.transitions)
    assert np.array_equal(chain.accepting, built.accepting)
    pattern = re.compile(_byte_pattern(parts), re.DOTALL)
    member = _member(data, parts)
    for text in (member, member[:-1], member + b"a", data.draw(st.binary(max_size=8))):
        assert accepts(chain, text) == (pattern.fullmatch(text) is not None), text


@pytest.mark.parametrize(
    "pattern",
    ["a*", "ab|ac", "a|ab", "[^a]", "[a-z\u00e9]", "(?:ab)?", "\ud7ff\ue000[\u0100-\u0101]"],
)
def test_what_is_not_a_fixed_sequence_of_byte_sets_takes_the_nfa_route(pattern):
    node = parse_regex(pattern)
    assert dfa_module._byte_chain(node, 10**6) is None
    chain_or_not = compile_byte_dfa(node)
    built = _through_the_nfa(node)
    assert np.array_equal(chain_or_not.transitions, built.transitions)


def test_a_chain_longer_than_the_state_limit_is_left_to_the_nfa_route():
    node = parse_regex("abcdef")
    assert dfa_module._byte_chain(node, 6) is None  # (7 states needed)
    assert dfa_module._byte_chain(node, 7) is not None


def _canonical(dfa) -> tuple[list, list]:
    transitions, accepting = renumber(dfa.transitions, dfa.accepting, by_class=True)
    return transitions.tolist(), accepting.tolist()


def _first_bytes(parts: list[CharSet]) -> set[int]:
    first = parts[0]
    if first.ranges[-1][1] < 0x80:
        return {byte for low, high in first.ranges for byte in range(low, high + 1)}
    return {chr(first.ranges[0][0]).encode()[0]}


@settings(deadline=None, max_examples=150)
@given(branches=st.lists(PARTS, min_size=2, max_size=4), data=st.data())
def test_an_alternation_of_chains_is_the_minimal_dfa_of_the_nfa_route(branches, data):
    node = Alt(tuple(concat(*parts) for parts in branches))
    firsts = [_first_bytes(parts) for parts in branches]
    disjoint = sum(map(len, firsts)) == len(set().union(*firsts))
    assert (dfa_module._byte_chain(node, 10**6) is not None) == disjoint
    fast, built = compile_byte_dfa(node), _through_the_nfa(node)
    assert _canonical(fast) == _canonical(built)  # (one state per class of the minimal DFA)
    assert len(fast.accepting) == len(built.accepting)
    pattern = re.compile(b"|".join(_byte_pattern(parts) for parts in branches), re.DOTALL)
    parts = data.draw(st.sampled_from(branches))
    member = _member(data, parts)
    for text in (member, member[:-1], member + b"a", data.draw(st.binary(max_size=8))):
        assert accepts(fast, text) == (pattern.fullmatch(text) is not None), text


def test_an_escaped_key_character_takes_the_fast_route():
    node = parse_regex(r"(?:o|\\u006[Ff])")
    fast = dfa_module._byte_chain(node, 10**6)
    assert fast is not None and len(fast.accepting) == 7  # start, \\, u, 0, 0, 6, end
    assert _canonical(fast) == _canonical(_through_the_nfa(node))
    assert dfa_module._byte_chain(node, 6) is None  # past the state limit: the NFA route
