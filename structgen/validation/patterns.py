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
"""

from __future__ import annotations

from functools import lru_cache

import regress

from structgen.errors import StructgenError
from structgen.regex.ecma import PatternSyntaxError, PatternUnsupported, parse_ecma_regex

__all__ = ["PatternError", "compile_pattern", "ecma_search", "is_ecma_regex"]

_U_ONLY_SYNTAX = ("\\p", "\\P", "\\u{")


class PatternError(StructgenError, ValueError):
    """A pattern that is not ECMA-262, or that cannot be run on a given string."""

    def __init__(self, pattern: str, reason: str) -> None:
        self.pattern = pattern
        self.reason = reason
        super().__init__(f"invalid ECMA-262 regex {pattern!r}: {reason}")


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


def ecma_search(pattern: str, text: str) -> bool:
    """Whether ``text`` contains a match of ``pattern`` (``RegExp.prototype.test``).

    Raises :class:`PatternError` for a malformed pattern or a lone surrogate in ``text``.
    """
    program = compile_pattern(pattern)
    try:
        return program.find(text) is not None
    except UnicodeEncodeError:  # UTF-8 cannot carry a lone surrogate to regress
        raise PatternError(
            pattern, f"cannot be searched in {text!r}, which holds a lone surrogate"
        ) from None
