"""How much a backtracking engine may work on an ECMA-262 pattern, read from its text.

Used only for the patterns the automaton cannot run (backreferences, lookaround, word
boundaries, Unicode properties other than general categories), which ``regress`` then runs by
backtracking. A backtracking search is exponential only when a quantified group can match the
same text in more than one way, which needs a quantifier or an alternation inside it
(``(a+)+``, ``(a|a)*``); without that, every quantifier and backreference multiplies the work by
at most the length of the text, so a search costs about ``len(text) ** (degree + 1)`` steps.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BacktrackingShape", "backtracking_shape"]

_QUANTIFIERS = "*+?"


@dataclass(frozen=True)
class BacktrackingShape:
    """``degree``: quantifiers and backreferences; ``nested``: a quantified group holds a
    quantifier or an alternation (a search may then be exponential)."""

    degree: int
    nested: bool

    def work(self, length: int) -> int:
        """A bound, up to a constant, on the steps of a search in ``length`` characters."""
        return max(length, 1) ** (self.degree + 1)


@dataclass
class _Group:
    quantified_inside: bool = False
    alternation_inside: bool = False


def _braces_end(pattern: str, index: int) -> int | None:
    """The index after ``{n}``, ``{n,}`` or ``{n,m}`` starting at ``index``, if one is there."""
    end = pattern.find("}", index)
    if end < 0:
        return None
    low, _, high = pattern[index + 1 : end].partition(",")
    if low.isdigit() and (high == "" or high.isdigit()):
        return end + 1
    return None


def _class_end(pattern: str, index: int) -> int:
    """The index after the character class opened at ``index`` (ECMA: the first unescaped
    ``]`` closes it, even right after ``[``)."""
    position = index + 1
    while position < len(pattern):
        if pattern[position] == "\\":
            position += 2
            continue
        if pattern[position] == "]":
            return position + 1
        position += 1
    return len(pattern)


def backtracking_shape(pattern: str) -> BacktrackingShape:
    """The :class:`BacktrackingShape` of ``pattern`` (a pattern ``regress`` compiled)."""
    groups = [_Group()]
    degree = 0
    nested = False
    previous: _Group | bool | None = None  # the atom a quantifier would apply to
    index = 0
    while index < len(pattern):
        c = pattern[index]
        if c == "\\":
            following = pattern[index + 1 : index + 2]
            if (following.isdigit() and following != "0") or pattern.startswith("k<", index + 1):
                degree += 1  # a backreference compares up to len(text) characters
            if following in ("u", "p", "P") and pattern[index + 2 : index + 3] == "{":
                index = pattern.find("}", index) + 1 or len(pattern)
            else:
                index += 2
            previous = True
            continue
        if c == "[":
            index = _class_end(pattern, index)
            previous = True
            continue
        if c == "(":
            groups.append(_Group())
            index += 1
            if pattern.startswith("?", index):
                index += 3 if pattern.startswith(("?<=", "?<!"), index) else 2
            previous = None
            continue
        if c == ")" and len(groups) > 1:
            closed = groups.pop()
            groups[-1].quantified_inside |= closed.quantified_inside
            groups[-1].alternation_inside |= closed.alternation_inside
            previous = closed
            index += 1
            continue
        if c == "|":
            groups[-1].alternation_inside = True
            previous = None
            index += 1
            continue
        end = (
            _braces_end(pattern, index) if c == "{" else (index + 1 if c in _QUANTIFIERS else None)
        )
        if end is not None and previous is not None:
            degree += 1
            if isinstance(previous, _Group) and (
                previous.quantified_inside or previous.alternation_inside
            ):
                nested = True
            groups[-1].quantified_inside = True
            index = end + 1 if pattern.startswith("?", end) else end  # a lazy quantifier
            previous = None
            continue
        previous = True
        index += 1
    return BacktrackingShape(degree, nested)
