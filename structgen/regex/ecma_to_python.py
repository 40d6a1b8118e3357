"""ECMA-262 patterns (JSON Schema ``pattern``, ``patternProperties``) → compiled Python regexes.

JSON Schema patterns are ECMA-262 regular expressions, searched (not fully matched) in the
instance. Python's ``re`` reads the same text differently: ``\\d``/``\\w`` are Unicode there and
ASCII in ECMA, ``\\s`` lacks U+FEFF, ``$`` also matches before a final ``\\n``, ``.`` matches
``\\r`` and U+2028/U+2029, and ``\\p{…}``, ``\\cX`` and ``\\u{…}`` are syntax errors.

:func:`ecma_search_regex` parses the pattern with :func:`parse_ecma_regex` and writes its AST
back as Python text: character classes as explicit code-point sets (so ``re`` flags do not
matter), ``^`` as ``\\A`` and ``$`` as ``\\Z``. ``re.search`` with the result has the ECMA
pattern's answer on every string. Lazy quantifiers become greedy, which changes which match is
found but never whether one is.

Patterns the parser does not model (lookaround, backreferences, word boundaries, Unicode
properties other than general categories) fall back to Python's ``re`` on the original text:
for those constructs the two dialects mostly agree, the character-class differences above
remain. A pattern neither can read raises :class:`PatternError`, whose message names the
pattern and both reasons, so that callers report it instead of a traceback.
"""

from __future__ import annotations

import re
from functools import lru_cache

from structgen.errors import StructgenError
from structgen.regex.ast import CharSet
from structgen.regex.ecma import (
    Anchor,
    AnchoredAlt,
    AnchoredConcat,
    AnchoredRepeat,
    PatternNode,
    PatternSyntaxError,
    PatternUnsupported,
    parse_ecma_regex,
)
from structgen.regex.text import to_regex_text

__all__ = ["PatternError", "ecma_search_regex", "ecma_to_python_text", "is_ecma_regex"]


class PatternError(StructgenError, ValueError):
    """An ECMA-262 pattern that can be neither translated nor read by Python's ``re``."""

    def __init__(self, pattern: str, reason: str) -> None:
        self.pattern = pattern
        self.reason = reason
        super().__init__(f"cannot evaluate pattern {pattern!r}: {reason}")


def ecma_to_python_text(pattern: str) -> str:
    """Python regex text whose ``re.search`` answers as the ECMA-262 ``pattern`` would.

    Raises :class:`PatternSyntaxError` for a malformed pattern and :class:`PatternUnsupported`
    for constructs the ECMA parser does not model (see the module doc).
    """
    return _text(parse_ecma_regex(pattern))


@lru_cache(maxsize=1024)
def ecma_search_regex(pattern: str) -> re.Pattern[str]:
    """The compiled Python regex to ``search`` for ``pattern`` (cached); see the module doc.

    Raises :class:`PatternError` when the pattern is malformed ECMA, or uses an unmodelled
    construct that Python's ``re`` cannot compile either.
    """
    try:
        return re.compile(ecma_to_python_text(pattern))
    except PatternSyntaxError as error:
        raise PatternError(pattern, f"not an ECMA-262 regex: {error}") from None
    except PatternUnsupported as unsupported:
        try:
            return re.compile(pattern)  # lookaround, backreferences: same meaning in Python
        except (re.error, OverflowError, RecursionError) as error:
            raise PatternError(
                pattern, f"{unsupported.feature} is not translated and Python's re rejects it "
                f"({error})"
            ) from None
    except (re.error, OverflowError, RecursionError) as error:  # e.g. a{99999999999}
        raise PatternError(pattern, f"too large or deep for Python's re ({error})") from None


def is_ecma_regex(pattern: str) -> bool:
    """Whether ``pattern`` is ECMA-262 syntax (format ``regex``); unmodelled but well-formed
    constructs such as lookbehind count as valid."""
    try:
        parse_ecma_regex(pattern)
    except PatternSyntaxError:
        return False
    except PatternUnsupported:
        return True
    return True


def _text(node: PatternNode) -> str:
    if isinstance(node, Anchor):
        return r"\A" if node.kind == "start" else r"\Z"
    if isinstance(node, AnchoredConcat):
        return "".join(_group(part) for part in node.parts)
    if isinstance(node, AnchoredAlt):
        return "|".join(_group(option) for option in node.options)
    if isinstance(node, AnchoredRepeat):
        high = "" if node.high is None else str(node.high)
        return f"{_group(node.node)}{{{node.low},{high}}}"
    return to_regex_text(node)


def _group(node: PatternNode) -> str:
    if isinstance(node, (Anchor, CharSet)):
        return _text(node)
    return f"(?:{_text(node)})"
