"""``pattern`` and ``patternProperties`` are searched in time linear in the document (issue 10,
finding 12): regular patterns by the compiler's automaton, the rest by ``regress`` only within a
documented bound, past which a named issue is reported. No wall-clock asserts: the checks are
which path runs and that long inputs get an answer."""

from __future__ import annotations

import pytest
import regress

from structgen.validation import DocumentValidator
from structgen.validation import patterns as pattern_module
from structgen.validation.pattern_cost import BacktrackingShape, backtracking_shape
from structgen.validation.patterns import (
    MAX_BACKTRACKING_WORK,
    PatternTooCostly,
    ecma_search,
    search_automaton,
)

EVIL = "^(a+)+$"


@pytest.fixture
def no_backtracking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any use of regress for searching fail the test (compiling stays allowed)."""

    real = regress.Regex

    class Refusing:
        def __init__(self, pattern: str, *flags: str) -> None:
            real(pattern, *flags)  # the syntax check still runs

        def find(self, text: str) -> None:
            raise AssertionError("regress (a backtracking engine) was asked to search")

    monkeypatch.setattr(pattern_module.regress, "Regex", Refusing)
    pattern_module.compile_pattern.cache_clear()
    yield
    pattern_module.compile_pattern.cache_clear()


def test_nested_quantifier_runs_on_the_automaton(no_backtracking: None) -> None:
    assert search_automaton(EVIL) is not None
    check = DocumentValidator({"type": "string", "pattern": EVIL})
    assert not check.is_valid("a" * 34 + "!")
    assert check.is_valid("a" * 10_000)
    assert not check.is_valid("a" * 10_000 + "!")


def test_pattern_properties_run_on_the_automaton(no_backtracking: None) -> None:
    schema = {"patternProperties": {EVIL: {"type": "integer"}}, "additionalProperties": False}
    check = DocumentValidator(schema)
    assert check.is_valid({"a" * 10_000: 1})
    issues = check.issues({"a" * 34 + "!": 1})
    assert len(issues) == 1 and "do" in issues[0].message and "regexes" in issues[0].message
    assert [i.location for i in check.issues({"aaa": "x"})] == ["$.aaa"]


def test_compiled_programs_are_cached() -> None:
    search_automaton.cache_clear()
    for _ in range(3):
        ecma_search("^(x|y)+z$", "xyxyz")
    assert search_automaton.cache_info().misses == 1


@pytest.mark.parametrize(
    ("pattern", "shape"),
    [
        (EVIL, BacktrackingShape(2, True)),
        ("(a|b)*\\1", BacktrackingShape(2, True)),
        ("(a)\\1", BacktrackingShape(1, False)),
        ("\\bfoo\\b", BacktrackingShape(0, False)),
        ("^(?!.*x).*$", BacktrackingShape(2, False)),
        ("[(+]+(x)", BacktrackingShape(1, False)),  # a class hides ( and +
        ("a{2,3}?b", BacktrackingShape(1, False)),  # a lazy quantifier is one quantifier
        ("(?<n>a)\\k<n>+", BacktrackingShape(2, False)),
        ("((ab)c)*", BacktrackingShape(1, False)),  # fixed-length body: no ambiguity
        ("((a|b)c)*", BacktrackingShape(1, True)),
    ],
)
def test_backtracking_shape(pattern: str, shape: BacktrackingShape) -> None:
    assert backtracking_shape(pattern) == shape


def test_non_regular_pattern_with_nested_quantifier_is_a_named_issue() -> None:
    pattern = "^(a+)+\\1$"  # a backreference: no automaton
    assert search_automaton(pattern) is None
    with pytest.raises(PatternTooCostly, match="cannot be checked in bounded time"):
        ecma_search(pattern, "a" * 34 + "!")
    issues = DocumentValidator({"pattern": pattern}).issues("a" * 34 + "!")
    assert len(issues) == 1 and "bounded time" in issues[0].message


def test_non_regular_pattern_runs_within_its_bound() -> None:
    pattern = "^(a)\\1+$"  # degree 2: regress runs while len ** 3 <= MAX_BACKTRACKING_WORK
    check = DocumentValidator({"pattern": pattern})
    assert check.is_valid("aaaa") and not check.is_valid("a")
    longest = round(MAX_BACKTRACKING_WORK ** (1 / 3))
    while (longest + 1) ** 3 <= MAX_BACKTRACKING_WORK:
        longest += 1
    while longest**3 > MAX_BACKTRACKING_WORK:
        longest -= 1
    assert check.is_valid("a" * longest)
    issues = check.issues("a" * (longest + 1))
    assert len(issues) == 1 and "MAX_BACKTRACKING_WORK" in issues[0].message


def test_word_boundaries_run_on_any_length() -> None:
    """Degree 0 (no quantifier): a backtracking search is linear, so no length bound bites."""
    check = DocumentValidator({"pattern": "\\bend\\b"})
    assert check.is_valid("x" * 20_000 + " end")
    assert not check.is_valid("x" * 20_000 + "end")
