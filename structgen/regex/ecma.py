"""ECMA-262 regular expressions (JSON Schema ``pattern``) → regex AST over code points.

Semantics follow ECMA-262 with the ``u`` flag (as JSON Schema asks: patterns see code points,
``\\u{...}`` and ``\\p{...}`` work), while still accepting the Annex-B leniencies that schemas
in the wild rely on (a lone ``{`` or ``]`` is a literal, ``[\\d-x]`` has a literal ``-``).

Differences from Python's ``re`` that matter: ``\\d`` and ``\\w`` are ASCII; ``\\s`` is Unicode
white space plus line terminators (and U+FEFF); ``.`` excludes ``\\n``, ``\\r``, U+2028 and U+2029;
``[^]`` is any character; ``[]`` matches nothing. ``^`` and ``$`` are assertions that may appear
anywhere; they come out as :class:`Anchor` nodes, resolved by
:func:`structgen.regex.codepoint_dfa.search_language`. Lookaround, backreferences and word
boundaries raise :class:`PatternUnsupported`; malformed patterns raise :class:`PatternSyntaxError`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

from structgen.regex.ast import MAX_CODE_POINT, CharSet, Empty, Node
from structgen.regex.nodes import NOTHING, alt, char, concat, repeat

__all__ = [
    "Anchor",
    "AnchoredAlt",
    "AnchoredConcat",
    "AnchoredRepeat",
    "PatternNode",
    "PatternSyntaxError",
    "PatternUnsupported",
    "has_anchor",
    "parse_ecma_regex",
]


@dataclass(frozen=True)
class Anchor:
    """``^`` (``kind="start"``) or ``$`` (``kind="end"``): zero-width, no multiline flag."""

    kind: str


PatternNode = Union[Node, "Anchor", "AnchoredConcat", "AnchoredAlt", "AnchoredRepeat"]


class PatternSyntaxError(Exception):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.reason = message
        self.position = position


class PatternUnsupported(Exception):
    def __init__(self, feature: str, position: int) -> None:
        super().__init__(
            f"{feature} (position {position}) cannot be expressed by a finite automaton"
        )
        self.feature = feature
        self.position = position


DIGITS = CharSet.of([(0x30, 0x39)])
WORD = CharSet.of([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
SPACE = CharSet.of(
    [(0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029),
     (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)]
)  # fmt: skip
LINE_TERMINATORS = CharSet.of([(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)])
DOT = LINE_TERMINATORS.complement()
_CONTROL_ESCAPES = {"f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}
_SYNTAX = set("^$\\.*+?()[]{}|/")
_HEX = set("0123456789abcdefABCDEF")

_CATEGORY_ALIASES = {
    "L": "L", "Letter": "L", "Lu": "Lu", "Uppercase_Letter": "Lu", "Ll": "Ll",
    "Lowercase_Letter": "Ll", "Lt": "Lt", "Titlecase_Letter": "Lt", "Lm": "Lm",
    "Modifier_Letter": "Lm", "Lo": "Lo", "Other_Letter": "Lo", "M": "M", "Mark": "M", "Mn": "Mn",
    "Mc": "Mc", "Me": "Me", "N": "N", "Number": "N", "Nd": "Nd", "Decimal_Number": "Nd",
    "digit": "Nd", "Nl": "Nl", "No": "No", "P": "P", "Punctuation": "P", "punct": "P", "Pc": "Pc",
    "Pd": "Pd", "Ps": "Ps", "Pe": "Pe", "Pi": "Pi", "Pf": "Pf", "Po": "Po", "S": "S",
    "Symbol": "S", "Sm": "Sm", "Sc": "Sc", "Sk": "Sk", "So": "So", "Z": "Z", "Separator": "Z",
    "Zs": "Zs", "Space_Separator": "Zs", "Zl": "Zl", "Zp": "Zp", "Cc": "Cc", "Control": "Cc",
    "cntrl": "Cc", "Cf": "Cf", "Format": "Cf", "Co": "Co", "Cn": "Cn",
}  # fmt: skip


@lru_cache(maxsize=64)
def _general_category(category: str) -> CharSet:
    ranges: list[tuple[int, int]] = []
    start = None
    for code_point in range(MAX_CODE_POINT + 2):
        inside = code_point <= MAX_CODE_POINT and unicodedata.category(chr(code_point)).startswith(
            category
        )
        if inside and start is None:
            start = code_point
        elif not inside and start is not None:
            ranges.append((start, code_point - 1))
            start = None
    return CharSet.of(ranges).without_surrogates()


def parse_ecma_regex(pattern: str) -> PatternNode:
    """Parse ``pattern``; the AST may contain :class:`Anchor` nodes (see the module doc)."""
    return _Parser(pattern).parse()


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0
        self.groups = 0

    def _peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.pattern[index] if index < len(self.pattern) else ""

    def _error(self, message: str, position: int | None = None) -> PatternSyntaxError:
        return PatternSyntaxError(message, self.pos if position is None else position)

    def parse(self) -> PatternNode:
        node = self._disjunction()
        if self.pos != len(self.pattern):
            raise self._error("unmatched ')'")
        return node

    def _disjunction(self) -> PatternNode:
        options = [self._alternative()]
        while self._peek() == "|":
            self.pos += 1
            options.append(self._alternative())
        if len(options) == 1:
            return options[0]
        return _alt(options)

    def _alternative(self) -> PatternNode:
        parts: list[PatternNode] = []
        while self.pos < len(self.pattern) and self._peek() not in "|)":
            start = self.pos
            c = self._peek()
            if c == "^":
                self.pos += 1
                parts.append(Anchor("start"))
                continue
            if c == "$":
                self.pos += 1
                parts.append(Anchor("end"))
                continue
            if c == "\\" and self._peek(1) in ("b", "B"):
                raise PatternUnsupported("word boundary \\" + self._peek(1), start)
            atom = self._atom()
            parts.append(self._quantified(atom, start))
        return _concat(parts)

    def _quantified(self, atom: PatternNode, start: int) -> PatternNode:
        c = self._peek()
        if c in ("*", "+", "?") and c:
            self.pos += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        elif c == "{" and (bounds := self._braces()) is not None:
            low, high = bounds
        else:
            return atom
        if self._peek() == "?":
            self.pos += 1  # lazy: same language
        if self._peek() in ("*", "+", "?") and self._peek():
            raise self._error("nothing to repeat")
        if isinstance(atom, Anchor):
            return atom if low > 0 else Empty()
        if high is not None and high < low:
            raise self._error("numbers out of order in {} quantifier", start)
        return repeat(atom, low, high) if not has_anchor(atom) else AnchoredRepeat(atom, low, high)

    def _braces(self) -> tuple[int, int | None] | None:
        text = self.pattern
        end = text.find("}", self.pos)
        if end < 0:
            return None
        body = text[self.pos + 1 : end]
        low_text, comma, high_text = body.partition(",")
        if (
            not low_text.isdigit()
            or (high_text and not high_text.isdigit())
            or not low_text.isascii()
        ):
            return None
        self.pos = end + 1
        low = int(low_text)
        if not comma:
            return low, low
        return low, int(high_text) if high_text else None

    def _atom(self) -> PatternNode:
        start = self.pos
        c = self._peek()
        self.pos += 1
        if c == "(":
            return self._group(start)
        if c == "[":
            return self._class(start)
        if c == ".":
            return DOT
        if c == "\\":
            return self._atom_escape(start)
        if c in ("*", "+", "?"):
            raise self._error("nothing to repeat", start)
        if c == "{" and self._braces_at(start):
            raise self._error("nothing to repeat", start)
        return char(self._code_point_at(start))

    def _braces_at(self, start: int) -> bool:
        saved = self.pos
        self.pos = start
        found = self._braces() is not None
        self.pos = saved
        return found

    def _code_point_at(self, start: int) -> int:
        """The code point at ``start`` (the parser already moved past its first UTF-16 unit)."""
        return ord(self.pattern[start])

    def _group(self, start: int) -> PatternNode:
        if self._peek() == "?":
            kind = self._peek(1)
            if kind == ":":
                self.pos += 2
            elif kind in ("=", "!"):
                raise PatternUnsupported("lookahead (?" + kind, start)
            elif kind == "<" and self._peek(2) in ("=", "!"):
                raise PatternUnsupported("lookbehind (?<" + self._peek(2), start)
            elif kind == "<":
                end = self.pattern.find(">", self.pos)
                if end < 0:
                    raise self._error("invalid capture group name", start)
                self.pos = end + 1
                self.groups += 1
            else:
                raise self._error("invalid group", start)
        else:
            self.groups += 1
        node = self._disjunction()
        if self._peek() != ")":
            raise self._error("unterminated group", start)
        self.pos += 1
        return node

    def _atom_escape(self, start: int) -> PatternNode:
        if self.pos >= len(self.pattern):
            raise self._error("\\ at end of pattern", start)
        c = self._peek()
        if c.isdigit() and c != "0":
            raise PatternUnsupported(f"backreference \\{c}", start)
        if c == "k" and self._peek(1) == "<":
            raise PatternUnsupported("named backreference \\k<…>", start)
        return self._escape(start, in_class=False)

    def _escape(self, start: int, *, in_class: bool) -> CharSet:
        """After a backslash: a character class escape or one character."""
        c = self._peek()
        self.pos += 1
        if c == "d":
            return DIGITS
        if c == "D":
            return DIGITS.complement()
        if c == "w":
            return WORD
        if c == "W":
            return WORD.complement()
        if c == "s":
            return SPACE
        if c == "S":
            return SPACE.complement()
        if c in ("p", "P"):
            return self._property(c == "P", start)
        if c in _CONTROL_ESCAPES:
            return char(_CONTROL_ESCAPES[c])
        if c == "b" and in_class:
            return char(0x08)
        if c == "-" and in_class:
            return char("-")
        if c == "c":
            letter = self._peek()
            if letter.isascii() and letter.isalpha():
                self.pos += 1
                return char(ord(letter) % 32)
            self.pos -= 1
            return char("\\")  # Annex B: "\c" not followed by a letter is a backslash
        if c == "0" and not self._peek().isdigit():
            return char(0)
        if c == "0" or (c.isdigit() and in_class):
            raise self._error("invalid decimal escape", start)
        if c == "x":
            digits = self.pattern[self.pos : self.pos + 2]
            if len(digits) == 2 and set(digits) <= _HEX:
                self.pos += 2
                return char(int(digits, 16))
            return char("x")
        if c == "u":
            return self._unicode_escape(start)
        if c in _SYNTAX or c == "-":
            return char(c)
        if c == "":
            raise self._error("\\ at end of pattern", start)
        if c.isascii() and c.isalnum():
            raise self._error(f"invalid escape \\{c}", start)
        return char(ord(c))  # identity escape of a non-syntax character (Annex B)

    def _unicode_escape(self, start: int) -> CharSet:
        if self._peek() == "{":
            end = self.pattern.find("}", self.pos)
            digits = self.pattern[self.pos + 1 : end] if end > 0 else ""
            if not digits or not set(digits) <= _HEX or int(digits, 16) > MAX_CODE_POINT:
                raise self._error("invalid \\u{…} escape", start)
            self.pos = end + 1
            return _scalar(int(digits, 16))
        digits = self.pattern[self.pos : self.pos + 4]
        if len(digits) != 4 or not set(digits) <= _HEX:
            raise self._error("invalid \\u escape", start)
        self.pos += 4
        value = int(digits, 16)
        if 0xD800 <= value <= 0xDBFF and self.pattern[self.pos : self.pos + 2] == "\\u":
            low_digits = self.pattern[self.pos + 2 : self.pos + 6]
            if (
                len(low_digits) == 4
                and set(low_digits) <= _HEX
                and 0xDC00 <= int(low_digits, 16) <= 0xDFFF
            ):
                self.pos += 6
                return char(0x10000 + ((value - 0xD800) << 10) + (int(low_digits, 16) - 0xDC00))
        return _scalar(value)

    def _property(self, negated: bool, start: int) -> CharSet:
        if self._peek() != "{":
            raise self._error("invalid property escape", start)
        end = self.pattern.find("}", self.pos)
        if end < 0:
            raise self._error("invalid property escape", start)
        name = self.pattern[self.pos + 1 : end]
        self.pos = end + 1
        key = name.split("=", 1)[1] if name.startswith(("General_Category=", "gc=")) else name
        category = _CATEGORY_ALIASES.get(key)
        if category is None:
            raise PatternUnsupported(
                f"Unicode property \\p{{{name}}} (only general categories are supported)", start
            )
        charset = _general_category(category)
        return charset.complement() if negated else charset

    def _class(self, start: int) -> CharSet:
        negated = self._peek() == "^"
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        extra: list[CharSet] = []
        while True:
            if self.pos >= len(self.pattern):
                raise self._error("unterminated character class", start)
            if self._peek() == "]":
                self.pos += 1
                break
            item_start = self.pos
            low = self._class_atom()
            if self._peek() == "-" and self._peek(1) not in ("]", ""):
                self.pos += 1
                high = self._class_atom()
                if isinstance(low, CharSet) or isinstance(high, CharSet):
                    for item in (low, high):  # Annex B: [\d-x] is \d, '-', 'x'
                        if isinstance(item, CharSet):
                            extra.append(item)
                        else:
                            ranges.append((item, item))
                    ranges.append((0x2D, 0x2D))
                    continue
                if high < low:
                    raise self._error("range out of order in character class", item_start)
                ranges.append((low, high))
            elif isinstance(low, CharSet):
                extra.append(low)
            else:
                ranges.append((low, low))
        charset = CharSet.of(ranges)
        for item in extra:
            charset = charset.union(item)
        charset = charset.without_surrogates()
        if negated:
            return charset.complement()
        return charset

    def _class_atom(self) -> int | CharSet:
        start = self.pos
        c = self._peek()
        self.pos += 1
        if c != "\\":
            return ord(c)
        escaped = self._escape(start, in_class=True)
        if len(escaped.ranges) == 1 and escaped.ranges[0][0] == escaped.ranges[0][1]:
            return escaped.ranges[0][0]
        return escaped


def _scalar(value: int) -> CharSet:
    """A lone surrogate can never occur in a decoded JSON string we produce: it matches nothing."""
    return NOTHING if 0xD800 <= value <= 0xDFFF else char(value)


@dataclass(frozen=True)
class AnchoredRepeat:
    """A repetition of a sub-pattern that contains anchors (resolved by the automaton builder)."""

    node: PatternNode
    low: int
    high: int | None


@dataclass(frozen=True)
class AnchoredConcat:
    """A concatenation some of whose parts contain anchors."""

    parts: tuple[PatternNode, ...]


@dataclass(frozen=True)
class AnchoredAlt:
    """An alternation some of whose options contain anchors."""

    options: tuple[PatternNode, ...]


def has_anchor(node: object) -> bool:
    return isinstance(node, (Anchor, AnchoredRepeat, AnchoredConcat, AnchoredAlt))


def _concat(parts: list[PatternNode]) -> PatternNode:
    if any(has_anchor(part) for part in parts):
        return AnchoredConcat(tuple(parts))
    return concat(*parts)  # type: ignore[arg-type]


def _alt(options: list[PatternNode]) -> PatternNode:
    if any(has_anchor(option) for option in options):
        return AnchoredAlt(tuple(options))
    return alt(*options)  # type: ignore[arg-type]
