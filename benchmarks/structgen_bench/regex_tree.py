"""Python's own parse of a regex, turned into a small tree over code-point sets.

The grammar benchmark reads regexes the way the grammars define them (``re.ASCII``): the
printers of :mod:`structgen_bench.grammar_forms` write the tree in each peer's syntax, and the
independent prefix oracle (:mod:`structgen_bench.grammar_oracle`) expands it into character
rules. Character sets are kept as sorted code-point ranges, so class arithmetic (negation,
``\\W`` inside a class, case folding) is exact.

Nodes: ``("chars", ranges)`` | ``("seq", [nodes])`` | ``("alt", [nodes])`` |
``("repeat", node, min, max | None)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from re import _parser as sre_parse  # the parser `re` itself uses
from re._constants import MAXREPEAT
from typing import Any

__all__ = ["MAX_CODEPOINT", "Ranges", "NotExpressible", "parse_regex", "complement"]

MAX_CODEPOINT = 0x10FFFF
Ranges = list[tuple[int, int]]  # sorted, disjoint, non-adjacent, inclusive


class NotExpressible(Exception):
    """A grammar (or one of its terminals) cannot be written in an engine's syntax."""


# -- code-point sets ----------------------------------------------------------------------------


def _normalise(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def complement(ranges: Ranges) -> Ranges:
    out: Ranges = []
    position = 0
    for low, high in ranges:
        if low > position:
            out.append((position, low - 1))
        position = high + 1
    if position <= MAX_CODEPOINT:
        out.append((position, MAX_CODEPOINT))
    return out


def _fold_ascii(ranges: Ranges) -> Ranges:
    """Add the other case of every ASCII letter in ``ranges`` (``re.ASCII | re.IGNORECASE``)."""
    extra: list[tuple[int, int]] = []
    for low, high in ranges:
        for a, z, shift in ((0x61, 0x7A, -32), (0x41, 0x5A, 32)):
            start, end = max(low, a), min(high, z)
            if start <= end:
                extra.append((start + shift, end + shift))
    return _normalise([*ranges, *extra])


_DIGIT: Ranges = [(0x30, 0x39)]
_WORD: Ranges = _normalise([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
_SPACE: Ranges = _normalise([(0x09, 0x0D), (0x20, 0x20)])  # re.ASCII's \s: [ \t\n\r\f\v]


def _category(name: str) -> Ranges:
    table = {
        "CATEGORY_DIGIT": _DIGIT,
        "CATEGORY_NOT_DIGIT": complement(_DIGIT),
        "CATEGORY_WORD": _WORD,
        "CATEGORY_NOT_WORD": complement(_WORD),
        "CATEGORY_SPACE": _SPACE,
        "CATEGORY_NOT_SPACE": complement(_SPACE),
    }
    if name not in table:
        raise NotExpressible(f"the class {name} has no ASCII meaning")
    return table[name]


# -- Python's regex parse → the tree ----------------------------------------------------------


def parse_regex(pattern: str, flags: int = 0) -> Any:
    """The tree of ``pattern`` read as ``re`` reads it with ``re.ASCII``; :class:`NotExpressible`
    when it is invalid or uses what the tree cannot say (anchors, look-around, ...)."""
    try:
        parsed = sre_parse.parse(pattern, flags | re.ASCII)
    except re.error as error:
        raise NotExpressible(f"invalid regex {pattern!r}: {error}") from None
    return _convert(list(parsed), bool(parsed.state.flags & re.IGNORECASE),
                    bool(parsed.state.flags & re.DOTALL))  # fmt: skip


def _convert(items: list, ignorecase: bool, dotall: bool) -> Any:
    nodes = [_convert_item(op, av, ignorecase, dotall) for op, av in items]
    return nodes[0] if len(nodes) == 1 else ("seq", nodes)


def _convert_item(op: Any, av: Any, ignorecase: bool, dotall: bool) -> Any:
    name = str(op)

    def chars(ranges: Ranges) -> Any:
        return ("chars", _fold_ascii(ranges) if ignorecase else ranges)

    if name == "LITERAL":
        return chars([(av, av)])
    if name == "NOT_LITERAL":
        return ("chars", complement(_fold_ascii([(av, av)]) if ignorecase else [(av, av)]))
    if name == "ANY":
        return ("chars", [(0, MAX_CODEPOINT)] if dotall else complement([(0x0A, 0x0A)]))
    if name == "IN":
        negate = False
        collected: list[tuple[int, int]] = []
        for item_op, item_av in av:
            kind = str(item_op)
            if kind == "NEGATE":
                negate = True
            elif kind == "LITERAL":
                collected.append((item_av, item_av))
            elif kind == "RANGE":
                collected.append((item_av[0], item_av[1]))
            elif kind == "CATEGORY":
                collected.extend(_category(str(item_av)))
            else:
                raise NotExpressible(f"class item {kind}")
        ranges = _normalise(collected)
        if ignorecase:
            ranges = _fold_ascii(ranges)
        return ("chars", complement(ranges) if negate else ranges)
    if name in ("MAX_REPEAT", "MIN_REPEAT"):  # lazy or greedy: the same set of full matches
        low, high, sub = av
        return ("repeat", _convert(list(sub), ignorecase, dotall), int(low),
                None if high == MAXREPEAT else int(high))  # fmt: skip
    if name == "SUBPATTERN":
        _group, add_flags, del_flags, sub = av
        case = (ignorecase or bool(add_flags & re.IGNORECASE)) and not del_flags & re.IGNORECASE
        dots = (dotall or bool(add_flags & re.DOTALL)) and not del_flags & re.DOTALL
        return _convert(list(sub), case, dots)
    if name == "BRANCH":
        return ("alt", [_convert(list(branch), ignorecase, dotall) for branch in av[1]])
    if name == "CATEGORY":
        return chars(_category(str(av)))
    raise NotExpressible(
        {"AT": "an anchor", "GROUPREF": "a back-reference", "ASSERT": "a look-around",
         "ASSERT_NOT": "a negative look-around", "ATOMIC_GROUP": "an atomic group",
         "POSSESSIVE_REPEAT": "a possessive repeat", "GROUPREF_EXISTS": "a conditional group"}
        .get(name, name)  # fmt: skip
    )
