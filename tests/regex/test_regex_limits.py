"""Regex determinisation is bounded in work and memory (issue 10, finding 11).

Long counted repetitions are built from their body's DFA (a counter construction), so
``(?:a{2,5}){1,2000}`` compiles with little work; what stays expensive trips a named limit
(``max_nfa_states``, ``max_regex_work``, ``max_states``). Heavy cases run in a subprocess under
an address-space cap; assertions are on outcomes and work counters, never on time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from structgen.errors import LimitExceededError
from structgen.regex import automaton
from structgen.regex.automaton import WorkBudget
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import regex_to_dfa
from structgen.regex.parser import parse_regex
from structgen.runtime.compiler import compile_regex
from tests.helpers.synthetic_vocab import synthetic_vocabulary

ADDRESS_SPACE = 2 << 30  # 2 GiB

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
    from structgen.errors import LimitExceededError
    from structgen.regex.automaton import WorkBudget
    from structgen.regex.dfa import regex_to_dfa
    budget = WorkBudget({max_work})
    try:
        dfa = regex_to_dfa({pattern!r}, budget=budget, max_states={max_states})
    except LimitExceededError as error:
        result = {{"error": error.what, "limit": error.limit, "message": str(error)}}
    else:
        result = {{"states": dfa.num_states, "accepts": [
            dfa.fullmatch(b"a" * n) for n in range(0, 12)]}}
    result["work"] = budget.spent
    print(json.dumps(result))
    """
)


def _compile_capped(pattern: str, *, max_work: int, max_states: int = 100_000) -> dict:
    code = _CHILD.format(
        cap=ADDRESS_SPACE, pattern=pattern, max_work=max_work, max_states=max_states
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)


def test_long_repetition_of_a_short_body_compiles_with_little_work() -> None:
    result = _compile_capped("(?:a{2,5}){1,2000}", max_work=5_000_000)
    assert result["states"] == 5 * 2000 + 1  # a^2 … a^10000, plus nothing after
    assert result["accepts"] == [False, False] + [True] * 10
    assert result["work"] < 1_000_000  # linear in the DFA, not in states × copies


def test_word_repetition_compiles_within_default_limits() -> None:
    result = _compile_capped(r"(?:\w{2,5}){1,10000}", max_work=5_000_000)
    assert result["states"] == 5 * 10000 + 1
    assert result["work"] < 5_000_000


def test_word_repetition_fails_fast_by_name_under_a_small_work_limit() -> None:
    result = _compile_capped(r"(?:\w{2,5}){1,10000}", max_work=100_000)
    assert result["limit"] == 100_000
    assert "work" in result["error"]
    assert "max_regex_work" in result["message"]
    assert 100_000 < result["work"] <= 200_000  # tripped as the work happened


def test_state_limit_trips_inside_the_repetition() -> None:
    result = _compile_capped("(?:a{2,5}){1,2000}", max_work=5_000_000, max_states=500)
    assert result["limit"] == 500
    assert "DFA state count" in result["error"]


def test_mandatory_copies_trip_the_work_limit_by_name() -> None:
    # The 1000 required copies keep one configuration per copy alive: quadratic, so bounded.
    result = _compile_capped("(?:a{2,5}){1000,2000}", max_work=1_000_000)
    assert result["limit"] == 1_000_000
    assert "max_regex_work" in result["message"]


def test_nfa_state_limit_names_its_option() -> None:
    with pytest.raises(LimitExceededError, match="max_nfa_states") as caught:
        regex_to_dfa("(?:abcdefgh){10}" * 10, max_nfa_states=200)
    assert caught.value.limit == 200


def test_compile_regex_passes_the_limits_through(tmp_path) -> None:
    vocab = synthetic_vocabulary()
    with pytest.raises(LimitExceededError, match="max_regex_work") as caught:
        compile_regex("(?:[ab]{2,5}){1,300}", vocab, max_regex_work=1_000, cache=False)
    assert caught.value.limit == 1_000
    with pytest.raises(LimitExceededError, match="max_nfa_states"):
        compile_regex("(?:abcdefgh){10}" * 10, vocab, max_nfa_states=100, cache=False)
    compiled = compile_regex("(?:a{2,5}){1,40}", vocab, cache=False)
    assert compiled.automaton is not None


def test_work_budget_reports_work_on_success() -> None:
    budget = WorkBudget(10_000_000)
    regex_to_dfa("[0-9]{1,100}", budget=budget)
    assert 0 < budget.spent < 10_000


# -- the counter construction gives the language of the unrolled repetition ------------------

_BODIES = ["a", "ab", "a|bc", "a{2,3}", "(?:ab)*c", "a?", "(?:a|ab)", "[ab]c?", "(?:)", "a*b?"]


@st.composite
def _repetitions(draw) -> tuple[str, str]:
    body = draw(st.sampled_from(_BODIES))
    low = draw(st.integers(0, 25))
    high = draw(st.one_of(st.none(), st.integers(low, low + 25)))
    bound = f"{{{low},}}" if high is None else f"{{{low},{high}}}"
    prefix = draw(st.sampled_from(["", "b", "a*"]))
    return f"{prefix}(?:{body}){bound}", body


@given(_repetitions(), st.lists(st.text("abc", max_size=40), min_size=1, max_size=8))
def test_repetition_matches_python_re(case: tuple[str, str], texts: list[str]) -> None:
    pattern, body = case
    dfa = regex_to_dfa(pattern)
    codepoints = CodePointDFA.from_node(parse_regex(pattern))
    compiled = re.compile(pattern)
    # Include strings made of the body's own words, where the counting matters.
    samples = texts + ["a" * n for n in (0, 1, 17, 26, 51)] + ["ab" * n for n in (16, 17, 30)]
    for text in samples:
        expected = compiled.fullmatch(text) is not None
        assert dfa.fullmatch(text.encode()) == expected, (pattern, text)
        assert codepoints.accepts(text) == expected, (pattern, text)


def _unrolled(body: str, low: int, high: int | None) -> str:
    """``(?:body){low,high}`` written without counts (the NFA path of short repetitions)."""
    copy = f"(?:{body})"
    if high is None:
        return copy * low + f"{copy}*"
    optional = ""
    for _ in range(high - low):
        optional = f"(?:{copy}{optional})?"
    return copy * low + optional


@given(st.sampled_from(_BODIES), st.integers(0, 24), st.integers(0, 24), st.booleans())
def test_counter_construction_has_the_language_of_the_unrolled_nfa(
    body: str, low: int, extra: int, unbounded: bool
) -> None:
    high = None if unbounded else low + extra
    bound = f"{{{low},}}" if high is None else f"{{{low},{high}}}"
    counted = regex_to_dfa(f"(?:{body}){bound}")
    unrolled = regex_to_dfa(_unrolled(body, low, high))
    difference = automaton.product(
        (counted.transitions, counted.accepting),
        (unrolled.transitions, unrolled.accepting),
        lambda a, b: a != b,
        limit=automaton.StateLimit(100_000, "test product", ""),
        keep_dead_left=True,
        keep_dead_right=True,
    )
    assert automaton.shortest_accepted(*difference) is None
    assert counted.num_states == unrolled.num_states  # both minimal
