"""Leftmost-first languages (lark terminals) against Python's ``re`` as the oracle.

``leftmost_byte_dfa(T)`` must accept exactly the strings ``s`` with ``re.match(T, s)``
matching ``s`` whole: the lexemes lark's ``dynamic_complete`` lexer produces for ``T``.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from structgen.errors import LimitExceededError, RegexError, UnsupportedFeatureError
from structgen.regex.ast import Repeat
from structgen.regex.dfa import regex_to_dfa
from structgen.regex.leftmost import leftmost_codepoint_dfa, leftmost_regex_dfa
from structgen.regex.parser import parse_regex
from tests.helpers.regex_strategies import leftmost_regexes, leftmost_texts, regexes

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def lexeme(pattern: str, text: str) -> bool:
    match = re.match(pattern, text)
    return match is not None and match.group(0) == text


def _compile_or_empty(pattern: str):
    try:
        return leftmost_regex_dfa(pattern, max_states=2_000)
    except RegexError as error:
        if "matches no string" not in str(error):
            raise
        return None


def _agrees(pattern: str, texts: list[str]) -> None:
    dfa = _compile_or_empty(pattern)
    for text in texts:
        got = dfa is not None and dfa.fullmatch(text.encode("utf-8"))
        assert got == lexeme(pattern, text), (pattern, text)


@PROPERTY
@given(pattern=leftmost_regexes(), texts=st.lists(leftmost_texts(), max_size=25))
@example(pattern="a|ab", texts=["a", "ab"])
@example(pattern="(|a)*", texts=["", "a", "aa"])
@example(pattern="(?:a?)*?b", texts=["b", "ab", "aab"])
@example(pattern="(?:a|)+?b", texts=["b", "ab"])
@example(pattern="(?:a|ab)(?:c|bcd)", texts=["abcd", "abc", "ac"])
def test_leftmost_dfa_matches_re_match(pattern: str, texts: list[str]) -> None:
    _agrees(pattern, texts)


@PROPERTY
@given(pattern=leftmost_regexes(lookaround=True), texts=st.lists(leftmost_texts(), max_size=25))
@example(pattern=r'".*?(?<!\\)(?:\\\\)*?"', texts=['""', r'"a\"b"', r'"a\\"', r'"a\\\"', '"a"b"'])
@example(pattern=r"a(?:[^*]|\*(?!/))*\*/", texts=["a*/", "a**/", "a*a*/", "a*/*/"])
def test_lookarounds_inside_the_lexeme(pattern: str, texts: list[str]) -> None:
    try:
        _compile_or_empty(pattern)
    except RegexError as error:
        assert "start of a terminal" in str(error) or "end of a terminal" in str(error)
        return
    _agrees(pattern, texts)


@PROPERTY
@given(pattern=regexes(), data=st.data())
def test_leftmost_language_is_inside_the_full_match_language(pattern: str, data) -> None:
    try:
        dfa = leftmost_regex_dfa(pattern, max_states=2_000)
        full = regex_to_dfa(pattern, max_states=2_000)
    except (RegexError, LimitExceededError):
        return
    for text in data.draw(st.lists(st.text(alphabet="abcxyz019-_ é日.\n", max_size=6))):
        raw = text.encode("utf-8")
        assert dfa.fullmatch(raw) == lexeme(pattern, text)
        assert not dfa.fullmatch(raw) or full.fullmatch(raw)


@pytest.mark.parametrize(
    ("pattern", "accepted", "rejected"),
    [
        ("a|ab", ["a"], ["ab"]),
        (r"/\*(.|\n)*?\*/", ["/* a */", "/**/", "/*\n*/"], ["/* a */ */", "/*/"]),
        (r'".*?(?<!\\)(\\\\)*?"', ['""', r'"\""', r'"\\"'], [r'"\\\"', '"a"b"']),
        (r"\d+?", ["1"], ["12"]),
        (r"[a-z]+", ["a", "abc"], ["", "a1"]),
    ],
)
def test_known_terminals(pattern: str, accepted: list[str], rejected: list[str]) -> None:
    dfa = leftmost_regex_dfa(pattern)
    cp = leftmost_codepoint_dfa(parse_regex(pattern, lookaround=True))
    for text in accepted:
        assert lexeme(pattern, text) and dfa.fullmatch(text.encode()) and cp.accepts(text)
    for text in rejected:
        assert not lexeme(pattern, text)
        assert not dfa.fullmatch(text.encode()) and not cp.accepts(text)


@pytest.mark.parametrize(
    ("pattern", "where"),
    [
        (r"\*(?!/)", "end of a terminal"),
        (r"(?<!a)b", "start of a terminal"),
        (r"a(?=b|c)?", "end of a terminal"),
    ],
)
def test_context_dependent_lookarounds_are_refused(pattern: str, where: str) -> None:
    with pytest.raises(RegexError, match=where):
        leftmost_regex_dfa(pattern)


@pytest.mark.parametrize("pattern", [r"a(?=bc)b", r"a(?<!bc)b", r"a(?!b|cd)c"])
def test_longer_lookarounds_are_refused(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error:
        return
    with pytest.raises(UnsupportedFeatureError):
        leftmost_regex_dfa(pattern)


def test_full_match_regexes_still_refuse_lookaround_and_keep_laziness() -> None:
    with pytest.raises(UnsupportedFeatureError, match="lookbehind"):
        parse_regex(r"(?<!a)b")
    with pytest.raises(UnsupportedFeatureError, match="lookahead"):
        parse_regex(r"a(?!b)c")
    node = parse_regex("a*?")
    assert node == Repeat(parse_regex("a"), 0, None, greedy=False)
    assert regex_to_dfa("a*?").fullmatch(b"aaa")  # full match: laziness changes nothing


@pytest.mark.parametrize("pattern", [r"(?u)\w", r"a(?u:\w)", r"(?u)x"])
def test_unicode_flag_is_refused_by_name(pattern: str) -> None:
    with pytest.raises(RegexError, match=r"Unicode flag \(\?u\)"):
        parse_regex(pattern)


def test_state_limit_is_named() -> None:
    with pytest.raises(LimitExceededError, match="leftmost-match DFA"):
        leftmost_regex_dfa(r"(?:a|b)*?a(?:a|b){12}c", max_states=50)
