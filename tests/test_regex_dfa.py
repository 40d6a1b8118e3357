"""Regex → byte DFA against Python's ``re`` (re.ASCII semantics) as the oracle."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from structgen.errors import LimitExceededError, RegexError, UnsupportedFeatureError
from structgen.regex import regex_to_dfa
from structgen.regex.automaton import group_rows
from structgen.regex.dfa import DEAD
from structgen.regex.utf8 import utf8_sequences
from tests.helpers.regex_strategies import regexes

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _random_walk(dfa, rng: random.Random, max_bytes: int = 40) -> bytes | None:
    """Bytes chosen uniformly among live transitions, stopping at random accepting states."""
    state, out = 0, bytearray()
    for _ in range(max_bytes):
        if dfa.accepting[state] and rng.random() < 0.3:
            return bytes(out)
        live = [b for b in range(256) if dfa.transitions[state, b] != DEAD]
        if not live:
            break
        byte = rng.choice(live)
        out.append(byte)
        state = int(dfa.transitions[state, byte])
    return bytes(out) if dfa.accepting[state] else None


@PROPERTY
@given(data=st.data(), pattern=regexes())
def test_complete_on_strings_the_regex_matches(data, pattern):
    dfa = regex_to_dfa(pattern)
    text = data.draw(st.from_regex(re.compile(pattern, re.ASCII), fullmatch=True))
    assert re.fullmatch(pattern, text, re.ASCII)
    assert dfa.fullmatch(text.encode("utf-8")), (pattern, text)


@PROPERTY
@given(pattern=regexes(), seed=st.integers(0, 2**32 - 1))
def test_sound_random_walks_fullmatch(pattern, seed):
    dfa = regex_to_dfa(pattern)
    rng = random.Random(seed)
    for _ in range(5):
        walked = _random_walk(dfa, rng)
        if walked is None:
            continue
        text = walked.decode("utf-8")  # a DFA over UTF-8 only accepts valid UTF-8
        assert re.fullmatch(pattern, text, re.ASCII), (pattern, text)


@PROPERTY
@given(pattern=regexes(), text=st.text(alphabet="abcxyz019-_ é日😀.\n\tA{", max_size=8))
def test_agrees_with_re_on_arbitrary_strings(pattern, text):
    dfa = regex_to_dfa(pattern)
    assert dfa.fullmatch(text.encode("utf-8")) == bool(re.fullmatch(pattern, text, re.ASCII))


@given(st.integers(0, 0x10FFFF), st.integers(0, 0x10FFFF))
@settings(max_examples=300, deadline=None)
def test_utf8_sequences_cover_exactly_the_range(a, b):
    low, high = min(a, b), max(a, b)
    sequences = utf8_sequences(low, high)
    probes = {low, high, (low + high) // 2, max(low - 1, 0), min(high + 1, 0x10FFFF)}
    for code_point in probes:
        if 0xD800 <= code_point <= 0xDFFF:
            continue
        encoded = chr(code_point).encode("utf-8")
        covered = any(
            len(seq) == len(encoded)
            and all(lo <= byte <= hi for byte, (lo, hi) in zip(encoded, seq))
            for seq in sequences
        )
        assert covered == (low <= code_point <= high)


@settings(max_examples=150, deadline=None)
@given(
    rows=arrays(
        np.int64, st.tuples(st.integers(1, 40), st.integers(1, 5)), elements=st.integers(-1, 3)
    ),
    collide=st.booleans(),
)
def test_row_grouping_is_exact_even_when_hashes_collide(rows, collide):
    # Zero weights hash every row alike: the exact fallback must then take over.
    weights = np.zeros(rows.shape[1], dtype=np.uint64) if collide else (
        np.random.default_rng(1).integers(1, 2**63, size=rows.shape[1], dtype=np.uint64)
    )
    ids = group_rows(rows, weights)
    same_rows = (rows[:, None, :] == rows[None, :, :]).all(axis=2)
    assert ((ids[:, None] == ids[None, :]) == same_rows).all()
    assert sorted(set(ids.tolist())) == list(range(len(set(map(tuple, rows.tolist())))))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(pattern=regexes())
def test_no_two_states_of_a_dfa_are_equivalent(pattern):
    # Table filling (the textbook pairwise algorithm, independent of the partition refinement
    # the compiler uses): two states differ if one accepts and the other does not, or some byte
    # leads one to a live state and the other nowhere (every state of a trimmed DFA is live), or
    # to two states that differ. Minimal = every pair differs.
    dfa = regex_to_dfa(pattern)
    transitions, n = dfa.transitions, dfa.num_states
    if n > 80:
        return
    differ = dfa.accepting[:, None] != dfa.accepting[None, :]
    live = transitions >= 0
    differ |= (live[:, None, :] != live[None, :, :]).any(axis=2)
    safe = np.where(live, transitions, 0)
    both = live[:, None, :] & live[None, :, :]
    while True:
        grown = differ | (both & differ[safe[:, None, :], safe[None, :, :]]).any(axis=2)
        if (grown == differ).all():
            break
        differ = grown
    assert differ[~np.eye(n, dtype=bool)].all(), pattern


def test_dfa_is_minimal_for_a_known_pattern():
    # \d{3}-\d{4}: 3 digits, '-', 4 digits → 9 states (start, after each char).
    assert regex_to_dfa(r"\d{3}-\d{4}").num_states == 9


def test_anchors_at_the_ends_are_accepted():
    dfa = regex_to_dfa(r"^ab$|^cd$")
    assert dfa.fullmatch(b"ab") and dfa.fullmatch(b"cd") and not dfa.fullmatch(b"abcd")


@pytest.mark.parametrize(
    ("pattern", "feature"),
    [
        (r"(a)\1", "backreference"),
        (r"(?P<x>a)(?P=x)", "backreference"),
        (r"a(?=b)", "lookahead"),
        (r"a(?!b)", "lookahead"),
        (r"(?<=a)b", "lookbehind"),
        (r"\bword", "word boundary"),
        (r"a^b", "start anchor"),
        (r"a$b", "end anchor"),
        (r"a*+", "possessive"),
        (r"(?>a)", "atomic group"),
        (r"(a)?(?(1)b|c)", "conditional"),
        (r"(?x) a", "verbose"),
    ],
)
def test_unsupported_features_are_named(pattern, feature):
    with pytest.raises(UnsupportedFeatureError, match=feature) as caught:
        regex_to_dfa(pattern)
    assert caught.value.position is not None


@pytest.mark.parametrize(
    ("pattern", "message", "position"),
    [
        ("[abc", "unterminated character set", 0),
        ("a{3,2}", "min repeat greater than max", 2),
        ("(ab", "missing", 0),
    ],
)
def test_syntax_errors_carry_the_position(pattern, message, position):
    with pytest.raises(RegexError, match=message) as caught:
        regex_to_dfa(pattern)
    assert caught.value.position == position
    assert "^" in str(caught.value)  # the caret line under the pattern


def test_state_limit_is_an_error_not_a_hang():
    with pytest.raises(LimitExceededError, match="DFA state count exceeds the limit of 500"):
        regex_to_dfa(r"(a|b)*a(a|b){12}", max_states=500)


def test_nfa_limit_for_huge_bounded_repeats():
    with pytest.raises(LimitExceededError, match="limit"):
        regex_to_dfa(r"(\w{1,50}){1,100}", max_states=1000)


def test_empty_language_is_an_error():
    with pytest.raises(RegexError, match="matches no string"):
        regex_to_dfa(r"[^\x00-\U0010ffff]")
