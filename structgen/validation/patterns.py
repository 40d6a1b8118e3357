"""ECMA-262 regular expressions as JSON Schema means them: ``pattern``, ``patternProperties``
and ``format: "regex"``, run by ``regress`` (Python bindings of Rust's regress, an ECMA-262
engine) instead of Python's ``re``, which reads the same text differently (``\\d``/``\\w`` are
Unicode there and ASCII in ECMA, ``$`` matches before a final ``\\n``, ``\\p{…}`` is an error).

The dialect is ECMA-262 with the ``u`` flag (code points, ``\\u{…}``, ``\\p{…}``), and, like the
compiler's parser (:mod:`structgen.regex.ecma`), the Annex-B leniencies schemas in the wild rely
on (a lone ``]`` or ``{``, ``[\\d-x]``): a pattern the ``u`` grammar rejects but the compiler's
parser reads runs under the Annex-B grammar (without ``u``; ``regress`` still matches code
points), unless it uses ``\\p``/``\\P``/``\\u{…}``, whose meaning differs there. Patterns are
searched, never fully matched: ``^``/``$`` anchor only where written.

``regress`` works on UTF-8, which cannot hold a lone surrogate (JSON allows ``"\\ud800"``):
searching such a string raises :class:`PatternError` (validators report it as an issue; the
engine never produces lone surrogates).

Searching is linear in the text wherever the pattern is regular: the compiler's own parser and
code-point automaton (:mod:`structgen.regex.ecma`, :mod:`structgen.regex.codepoint_dfa`) run it,
built once per pattern (cached), so ``^(a+)+$`` costs one step per character. ``regress``
(a backtracking engine) runs only what the automaton cannot: backreferences, lookaround, word
boundaries, Unicode properties other than general categories, and automata past
``MAX_SEARCH_STATES``; then the search is bounded (:mod:`structgen.validation.pattern_cost`): a
pattern whose quantified group holds a quantifier or an alternation is not run at all, and
another runs only while ``len(text) ** (degree + 1) <= MAX_BACKTRACKING_WORK`` (``degree``: its
quantifiers and backreferences). Past those bounds :class:`PatternTooCostly` is raised, which
validators report as an issue naming the pattern.
"""

from __future__ import annotations

from functools import lru_cache

import regress

from structgen.errors import LimitExceededError, StructgenError
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.ecma import PatternSyntaxError, PatternUnsupported, parse_ecma_regex
from structgen.validation.pattern_cost import BacktrackingShape, backtracking_shape

__all__ = [
    "MAX_BACKTRACKING_WORK",
    "MAX_SEARCH_STATES",
    "PatternError",
    "PatternTooCostly",
    "compile_pattern",
    "ecma_search",
    "is_ecma_regex",
    "search_automaton",
]

# States of a pattern's search automaton (built once per pattern); past it, regress runs it.
MAX_SEARCH_STATES = 20_000
# Bound on len(text) ** (degree + 1) for a pattern regress runs by backtracking.
MAX_BACKTRACKING_WORK = 10**7

_U_ONLY_SYNTAX = ("\\p", "\\P", "\\u{")


class PatternError(StructgenError, ValueError):
    """A pattern that is not ECMA-262, or that cannot be run on a given string."""

    def __init__(self, pattern: str, reason: str) -> None:
        self.pattern = pattern
        self.reason = reason
        super().__init__(f"invalid ECMA-262 regex {pattern!r}: {reason}")


class PatternTooCostly(PatternError):
    """A pattern the automaton cannot run, whose backtracking search could take too long."""

    def __init__(self, pattern: str, reason: str) -> None:
        self.pattern = pattern
        self.reason = reason
        StructgenError.__init__(
            self, f"ECMA-262 regex {pattern!r} cannot be checked in bounded time: {reason}"
        )


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> regress.Regex:
    """The ``regress`` program of ``pattern`` (cached); raises :class:`PatternError`."""
    try:
        return regress.Regex(pattern, "u")
    except regress.RegressError as error:
        strict = str(error)
    if _annex_b_ok(pattern):
        try:
            return regress.Regex(pattern)
        except regress.RegressError:
            pass
    raise PatternError(pattern, strict)


def _annex_b_ok(pattern: str) -> bool:
    """Whether the compiler's parser reads ``pattern`` and the Annex-B grammar means the same."""
    if any(token in pattern for token in _U_ONLY_SYNTAX):
        return False
    try:
        parse_ecma_regex(pattern)
    except PatternSyntaxError:
        return False
    except PatternUnsupported:
        return True
    return True


def is_ecma_regex(pattern: str) -> bool:
    """Whether ``pattern`` is an ECMA-262 regex in the dialect above (format ``regex``)."""
    try:
        compile_pattern(pattern)
    except PatternError:
        return False
    return True


@lru_cache(maxsize=4096)
def search_automaton(pattern: str) -> CodePointDFA | None:
    """The automaton of the strings containing a match of ``pattern`` (cached), or ``None``
    when the compiler's parser cannot read it as a regular language or it needs more than
    ``MAX_SEARCH_STATES`` states."""
    try:
        parsed = parse_ecma_regex(pattern)
        return CodePointDFA.from_node(parsed, search=True, max_states=MAX_SEARCH_STATES)
    except (PatternSyntaxError, PatternUnsupported, LimitExceededError):
        return None


@lru_cache(maxsize=4096)
def _shape(pattern: str) -> BacktrackingShape:
    return backtracking_shape(pattern)


def ecma_search(pattern: str, text: str) -> bool:
    """Whether ``text`` contains a match of ``pattern`` (``RegExp.prototype.test``).

    Raises :class:`PatternError` for a malformed pattern or a lone surrogate in ``text``, and
    :class:`PatternTooCostly` when a backtracking search would exceed the bounds above.
    """
    program = compile_pattern(pattern)
    if any("\ud800" <= c <= "\udfff" for c in text):  # UTF-8 cannot carry it to regress
        raise PatternError(pattern, f"cannot be searched in {text!r}, which holds a lone surrogate")
    automaton = search_automaton(pattern)
    if automaton is not None:
        return automaton.accepts(text)
    shape = _shape(pattern)
    if shape.nested:
        raise PatternTooCostly(
            pattern,
            "it needs a backtracking search (backreference, lookaround, \\b or a Unicode "
            "property) and repeats a group that holds a quantifier or an alternation, which "
            "can take exponential time",
        )
    if shape.work(len(text)) > MAX_BACKTRACKING_WORK:
        raise PatternTooCostly(
            pattern,
            f"it needs a backtracking search (backreference, lookaround, \\b or a Unicode "
            f"property) with {shape.degree} quantifiers and backreferences, and the string has "
            f"{len(text)} characters: {len(text)}**{shape.degree + 1} exceeds the limit "
            f"MAX_BACKTRACKING_WORK = {MAX_BACKTRACKING_WORK}",
        )
    return program.find(text) is not None
