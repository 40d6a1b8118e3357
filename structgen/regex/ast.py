"""The regex AST: code-point sets, concatenation, alternation and bounded repetition.

The tree keeps what a leftmost-first (backtracking) matcher needs: the order of ``Alt``
options, whether a ``Repeat`` is greedy or lazy, and — only when the parser is asked for them
(lark terminals) — one-character lookaround assertions (:class:`Look`). Full-match languages
(``re.fullmatch``) ignore order and laziness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

MAX_CODE_POINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)


@dataclass(frozen=True)
class CharSet:
    """A set of Unicode scalar values as sorted, disjoint, non-adjacent inclusive ranges."""

    ranges: tuple[tuple[int, int], ...]

    @staticmethod
    def of(ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> CharSet:
        merged: list[tuple[int, int]] = []
        start = end = -2  # the range being merged (none yet)
        for low, high in sorted(ranges):
            if low > high:
                continue
            if low <= end + 1:
                if high > end:
                    end = high
                continue
            if end >= 0:
                merged.append((start, end))
            start, end = low, high
        if end >= 0:
            merged.append((start, end))
        return CharSet(tuple(merged))

    @staticmethod
    def chars(text: str) -> CharSet:
        return CharSet.of([(ord(c), ord(c)) for c in text])

    def union(self, other: CharSet) -> CharSet:
        return CharSet.of(self.ranges + other.ranges)

    @staticmethod
    def union_all(charsets: list[CharSet]) -> CharSet:
        """The union of ``charsets`` (one sort: a pairwise fold re-sorts the growing union);
        the set itself when there is one."""
        if len(charsets) == 1:
            return charsets[0]
        return CharSet.of([r for charset in charsets for r in charset.ranges])

    def complement(self) -> CharSet:
        """All Unicode scalar values (surrogates excluded) not in this set."""
        gaps: list[tuple[int, int]] = []
        previous = 0
        for low, high in self.ranges:
            if low > previous:
                gaps.append((previous, low - 1))
            previous = high + 1
        if previous <= MAX_CODE_POINT:
            gaps.append((previous, MAX_CODE_POINT))
        return CharSet.of(gaps).without_surrogates()

    def without_surrogates(self) -> CharSet:
        low_s, high_s = SURROGATES
        kept: list[tuple[int, int]] = []
        for low, high in self.ranges:
            if high < low_s or low > high_s:
                kept.append((low, high))
                continue
            if low < low_s:
                kept.append((low, low_s - 1))
            if high > high_s:
                kept.append((high_s + 1, high))
        return CharSet(tuple(kept))

    def is_empty(self) -> bool:
        return not self.ranges

    def __contains__(self, code_point: int) -> bool:
        return any(low <= code_point <= high for low, high in self.ranges)


@dataclass(frozen=True)
class Empty:
    """Matches the empty string."""


@dataclass(frozen=True)
class Concat:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Repeat:
    """``node`` between ``low`` and ``high`` times (``high`` None: unbounded)."""

    node: Node
    low: int
    high: int | None
    greedy: bool = True


@dataclass(frozen=True)
class Look:
    """A zero-width assertion on one character: ``(?=c)`` ``(?!c)`` ``(?<=c)`` ``(?<!c)``.

    ``ahead`` looks at the next character (``False``: the previous one); ``negate`` asserts
    that character is *not* in ``chars`` (true at the edge of the text).
    """

    chars: CharSet
    ahead: bool
    negate: bool


Node = Union[CharSet, Empty, Concat, Alt, Repeat, Look]


def _hash_once(node: Node) -> int:
    """The node's dataclass hash (of its fields), computed on first use and kept: memo lookups
    hash whole trees, and a dataclass hash walks the tree again each time (a MaskBench run
    spent half a second of its terminal builds there)."""
    found = node.__dict__.get("_hash")
    if found is None:
        found = hash(tuple(node.__dict__[name] for name in node.__dataclass_fields__))
        object.__setattr__(node, "_hash", found)
    return found


def _state_without_hash(node: Node) -> dict:
    """What pickle and copy keep of a node: its fields, not the kept hash (``None`` hashes
    differently in another process)."""
    state = dict(node.__dict__)
    state.pop("_hash", None)
    return state


for _kind in (CharSet, Concat, Alt, Repeat, Look):
    _kind.__hash__ = _hash_once  # type: ignore[method-assign,assignment]
    _kind.__getstate__ = _state_without_hash  # type: ignore[attr-defined]
