"""A code-point DFA read as a byte DFA when its language is ASCII (number terminals are)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import ByteDFA
from structgen.regex.parser import parse_regex
from tests.helpers.regex_strategies import regexes

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXTS = st.text(alphabet="abcxyz019-_ é日😀.\n\tA{", max_size=8)


def _byte_dfa(pattern: str) -> ByteDFA | None:
    tables = CodePointDFA.from_node(parse_regex(pattern)).minimized().ascii_byte_tables()
    return None if tables is None else ByteDFA(transitions=tables[0], accepting=tables[1])


def _non_ascii_text(dfa: CodePointDFA) -> str | None:
    """A text the DFA accepts with a code point from 128 on (a breadth-first search over
    (state, such a code point read yet)), or None."""
    ends = [*dfa.cuts[1:].tolist(), 0x110000]
    samples: dict[int, list[int]] = {}  # class: an ASCII code point and a wider one, if any
    for low, end, klass in zip(dfa.cuts.tolist(), ends, dfa.interval_class.tolist()):
        for point in (low, max(low, 0xE000 if 0xD800 <= low < 0xE000 else 128)):
            if point < end and not 0xD800 <= point < 0xE000:
                samples.setdefault(klass, []).append(point)
    seen = {(0, False): ""}
    queue = [(0, False)]
    for state, wide in queue:
        text = seen[(state, wide)]
        if wide and dfa.accepting[state]:
            return text
        for klass, target in enumerate(dfa.transitions[state].tolist()):
            for point in samples.get(klass, ()) if target >= 0 else ():
                key = (target, wide or point >= 128)
                if key not in seen:
                    seen[key] = text + chr(point)
                    queue.append(key)
    return None


@PROPERTY
@given(pattern=regexes(), texts=st.lists(TEXTS, min_size=1, max_size=6))
def test_byte_tables_agree_with_re_when_given(pattern, texts):
    dfa = _byte_dfa(pattern)
    if dfa is None:  # then re matches some non-ASCII text
        witness = _non_ascii_text(CodePointDFA.from_node(parse_regex(pattern)).minimized())
        assert witness is not None and not witness.isascii(), pattern
        assert re.fullmatch(pattern, witness, re.ASCII), (pattern, witness)
        return
    for text in texts:  # non-ASCII texts included: re must reject them as the tables do
        assert dfa.fullmatch(text.encode("utf-8")) == bool(re.fullmatch(pattern, text, re.ASCII))


@pytest.mark.parametrize(
    ("pattern", "ascii_only"),
    [
        (r"-?(0|[1-9][0-9]*)(\.[0-9]+)?", True),
        (r"[0-9]+5", True),
        (r"a|é", False),
        (r"[^a]", False),
        (r".", False),
        (r"x[é-ë]?y", False),
    ],
)
def test_tables_exist_exactly_for_ascii_languages(pattern, ascii_only):
    assert (_byte_dfa(pattern) is not None) == ascii_only


def test_every_live_byte_state_reaches_acceptance():
    # a dead branch in the code-point DFA must not survive as a live byte state
    dfa = CodePointDFA.from_node(parse_regex("ab|a[é]c")).intersect(
        CodePointDFA.from_node(parse_regex("[a-z]+"))
    )
    tables = dfa.ascii_byte_tables()
    assert tables is not None
    byte_dfa = ByteDFA(transitions=tables[0], accepting=tables[1])
    assert byte_dfa.fullmatch(b"ab") and not byte_dfa.fullmatch(b"a")
    assert byte_dfa.num_states == 3  # start, after "a", after "ab"
