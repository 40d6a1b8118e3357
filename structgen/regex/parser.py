"""Python-style regex syntax → :mod:`structgen.regex.ast`.

The pattern is first checked by Python's ``re`` (so syntax errors read exactly as users know
them, with a position); then this recursive-descent parser builds the AST. The language is
exactly that of ``re.fullmatch(pattern, text, re.ASCII)``. A constraint regex
matches the *whole* output, so ``^``/``\\A`` at the start and ``$``/``\\Z`` at the end are
accepted and mean nothing more. Classes ``\\d``, ``\\w``, ``\\s`` are ASCII (as with
``re.ASCII`` and ECMA-262), and so is ``(?i)`` case folding; the Unicode flag ``(?u)``, which
would widen them, is refused by name. Features no finite automaton can express here —
backreferences, lookaround, word boundaries, conditionals, atomic groups, possessive
quantifiers — raise :class:`~structgen.errors.UnsupportedFeatureError` naming the feature and
its position.

The tree keeps alternation order and lazy quantifiers (``Repeat.greedy``), which a full match
ignores and :mod:`structgen.regex.leftmost` needs. With ``lookaround=True`` (lark terminals,
read by that module) one-character lookarounds — ``(?=c)``, ``(?!c)``, ``(?<=c)``,
``(?<!c)`` with ``c`` a single character or class — become :class:`~structgen.regex.ast.Look`
nodes; longer ones are still refused.
"""

from __future__ import annotations

import re
import unicodedata

from structgen.errors import RegexError, UnsupportedFeatureError
from structgen.regex.ast import Alt, CharSet, Concat, Empty, Look, Node, Repeat

DIGITS = CharSet.of([(0x30, 0x39)])
WORD = CharSet.of([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
SPACE = CharSet.chars(" \t\n\r\f\v")
CLASS_ESCAPES = {
    "d": DIGITS,
    "D": DIGITS.complement(),
    "w": WORD,
    "W": WORD.complement(),
    "s": SPACE,
    "S": SPACE.complement(),
}
SINGLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
_HEX = "0123456789abcdefABCDEF"


def parse_regex(pattern: str, *, lookaround: bool = False) -> Node:
    """Parse ``pattern`` into an AST; raise :class:`RegexError` on bad input.

    ``lookaround`` admits one-character lookaround assertions (:class:`Look` nodes), which
    only :mod:`structgen.regex.leftmost` compiles.
    """
    if not isinstance(pattern, str):
        raise RegexError(
            f"expected the regex as str, got {type(pattern).__name__}", pattern=repr(pattern)
        )
    try:
        re.compile(pattern)
    except re.error as error:
        raise RegexError(error.msg, pattern=pattern, position=error.pos) from None
    except (OverflowError, RecursionError) as error:
        raise RegexError(f"regex too large for Python's re ({error})", pattern=pattern) from None
    return _Parser(pattern, lookaround=lookaround).parse()


def case_closure(charset: CharSet) -> CharSet:
    """``charset`` plus the other case of each ASCII letter in it (``re.ASCII`` semantics)."""
    extra = []
    for low, high in charset.ranges:
        for lower_low, lower_high, shift in ((0x61, 0x7A, -32), (0x41, 0x5A, 32)):
            overlap_low, overlap_high = max(low, lower_low), min(high, lower_high)
            if overlap_low <= overlap_high:
                extra.append((overlap_low + shift, overlap_high + shift))
    return charset.union(CharSet.of(extra)) if extra else charset


class _Parser:
    def __init__(self, pattern: str, *, lookaround: bool = False) -> None:
        self.pattern = pattern
        self.lookaround = lookaround
        self.pos = 0
        self.depth = 0
        self.ignore_case = False
        self.dot_all = False
        self._read_global_flags()

    # -- helpers ------------------------------------------------------------------------------
    def _peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.pattern[index] if index < len(self.pattern) else ""

    def _take(self) -> str:
        char = self.pattern[self.pos]
        self.pos += 1
        return char

    def _unsupported(self, feature: str, position: int) -> UnsupportedFeatureError:
        return UnsupportedFeatureError(feature, pattern=self.pattern, position=position)

    def _error(self, message: str, position: int) -> RegexError:
        return RegexError(message, pattern=self.pattern, position=position)

    def _read_global_flags(self) -> None:
        position = 0
        global_flags = re.compile(r"\(\?([aiLmsux]+)\)")
        # Python accepts global flags only at the start, which re.compile already checked.
        while (match := global_flags.match(self.pattern, position)) is not None:
            position = match.end()
            flags = match.group(1)
            if "x" in flags:
                raise self._unsupported("verbose flag (?x)", match.start())
            if "u" in flags:
                raise self._unicode_flag(match.start())
            self.ignore_case |= "i" in flags
            self.dot_all |= "s" in flags

    def _unicode_flag(self, position: int) -> RegexError:
        return self._error(
            "the Unicode flag (?u) is not supported: structgen's \\d \\w \\s and (?i) are "
            "ASCII (re.ASCII); write the Unicode ranges out instead",
            position,
        )

    def _charset(self, charset: CharSet) -> CharSet:
        return case_closure(charset) if self.ignore_case else charset

    # -- grammar ------------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self._alternation()
        if self.pos != len(self.pattern):  # re.compile accepted it, so this is an unbalanced ')'
            raise self._error("unbalanced parenthesis", self.pos)
        return node

    def _alternation(self) -> Node:
        options = [self._concatenation()]
        while self._peek() == "|":
            self.pos += 1
            options.append(self._concatenation())
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def _concatenation(self) -> Node:
        parts: list[Node] = []
        while self.pos < len(self.pattern) and self._peek() not in "|)":
            start = self.pos
            if self._anchor(at_start=not parts):
                continue
            atom = self._atom()
            parts.append(self._quantified(atom, start))
        if not parts:
            return Empty()
        return parts[0] if len(parts) == 1 else Concat(tuple(parts))

    def _anchor(self, *, at_start: bool) -> bool:
        """Consume a ``^``/``$``/``\\A``/``\\Z`` where a full-match anchor means nothing."""
        char, start = self._peek(), self.pos
        if char == "^" or (char == "\\" and self._peek(1) == "A"):
            if self.depth == 0 and at_start:
                self.pos += 1 if char == "^" else 2
                return True
            raise self._unsupported("start anchor inside the pattern", start)
        if char == "$" or (char == "\\" and self._peek(1) == "Z"):
            end = self.pos + (1 if char == "$" else 2)
            if self.depth == 0 and (end == len(self.pattern) or self.pattern[end] == "|"):
                self.pos = end
                return True
            raise self._unsupported("end anchor inside the pattern", start)
        return False

    def _quantified(self, atom: Node, start: int) -> Node:
        while True:
            char = self._peek()
            if char in ("*", "+", "?") and char:
                self.pos += 1
                low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
            elif char == "{" and (bounds := self._braces()) is not None:
                low, high = bounds
            else:
                return atom
            greedy = True
            if self._peek() == "?":
                self.pos += 1  # lazy: the same full-match language, another leftmost match
                greedy = False
            elif self._peek() == "+":
                raise self._unsupported("possessive quantifier", self.pos)
            atom = Repeat(atom, low, high, greedy)

    def _braces(self) -> tuple[int, int | None] | None:
        match = re.compile(r"\{(\d*)(,?)(\d*)\}").match(self.pattern, self.pos)
        if match is None or (not match.group(1) and not match.group(2)):
            return None  # a literal '{'
        low_text, comma, high_text = match.groups()
        if not comma and not low_text:
            return None
        self.pos = match.end()
        low = int(low_text) if low_text else 0
        if not comma:
            return low, low
        return low, int(high_text) if high_text else None

    def _atom(self) -> Node:
        start = self.pos
        char = self._take()
        if char == "(":
            return self._group(start)
        if char == "[":
            return self._class(start)
        if char == ".":
            newline = CharSet.chars("\n")
            everything = newline.complement().union(newline)
            return everything if self.dot_all else newline.complement()
        if char == "\\":
            return self._escape(start, in_class=False)
        return self._charset(CharSet.chars(char))

    def _group(self, start: int) -> Node:
        saved = (self.ignore_case, self.dot_all)
        if self._peek() == "?":
            kind = self._peek(1)
            if kind == ":":
                self.pos += 2
            elif kind == "P" and self._peek(2) == "<":
                self.pos = self.pattern.index(">", self.pos) + 1
            elif kind == "P" and self._peek(2) == "=":
                raise self._unsupported("backreference (?P=name)", start)
            elif kind == "<" and self._peek(2) in "=!":
                if not self.lookaround:
                    raise self._unsupported("lookbehind", start)
                return self._look(start, ahead=False, negate=self._peek(2) == "!", skip=3)
            elif kind == "<":
                self.pos = self.pattern.index(">", self.pos) + 1
            elif kind in "=!":
                if not self.lookaround:
                    raise self._unsupported("lookahead", start)
                return self._look(start, ahead=True, negate=kind == "!", skip=2)
            elif kind == ">":
                raise self._unsupported("atomic group", start)
            elif kind == "(":
                raise self._unsupported("conditional group", start)
            elif kind == "#":
                self.pos = self.pattern.index(")", self.pos) + 1
                return Empty()
            else:
                flags = re.compile(r"\?([aiLmsux]*)(?:-([imsx]*))?([:)])")
                match = flags.match(self.pattern, self.pos)
                if match is None:
                    raise self._error("unknown group extension", start)
                added, removed, end = match.group(1), match.group(2) or "", match.group(3)
                if "x" in added:
                    raise self._unsupported("verbose flag (?x)", start)
                if "u" in added:
                    raise self._unicode_flag(start)
                self.pos = match.end()
                if end == ")":  # a global flag group, read in advance
                    return Empty()
                self.ignore_case = ("i" in added or self.ignore_case) and "i" not in removed
                self.dot_all = ("s" in added or self.dot_all) and "s" not in removed
        self.depth += 1
        node = self._alternation()
        self.depth -= 1
        if self._peek() != ")":
            raise self._error("missing ), unterminated subpattern", start)
        self.pos += 1
        self.ignore_case, self.dot_all = saved
        return node

    def _look(self, start: int, *, ahead: bool, negate: bool, skip: int) -> Look:
        """A one-character lookaround; longer ones are refused by name."""
        self.pos += skip
        self.depth += 1
        saved = (self.ignore_case, self.dot_all)
        body = self._alternation()
        self.ignore_case, self.dot_all = saved
        self.depth -= 1
        if self._peek() != ")":
            raise self._error("missing ), unterminated subpattern", start)
        self.pos += 1
        options = body.options if isinstance(body, Alt) else (body,)
        if not all(isinstance(option, CharSet) for option in options):
            kind = "lookahead" if ahead else "lookbehind"
            raise self._unsupported(f"{kind} of more than one character", start)
        chars = CharSet(())
        for option in options:
            chars = chars.union(option)  # type: ignore[arg-type]
        return Look(chars, ahead, negate)

    def _class(self, start: int) -> CharSet:
        negate = self._peek() == "^"
        if negate:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        sets: list[CharSet] = []
        first = True
        while True:
            if self.pos >= len(self.pattern):
                raise self._error("unterminated character set", start)
            char = self._peek()
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            item_start = self.pos
            low = self._class_item()
            if isinstance(low, CharSet):
                sets.append(low)
                continue
            if self._peek() == "-" and self._peek(1) not in ("]", ""):
                self.pos += 1
                high = self._class_item()
                if isinstance(high, CharSet):
                    raise self._error("bad character range", item_start)
                if high < low:
                    raise self._error("bad character range", item_start)
                ranges.append((low, high))
            else:
                ranges.append((low, low))
        charset = CharSet.of(ranges)
        for extra in sets:
            charset = charset.union(extra)
        charset = self._charset(charset.without_surrogates())
        return charset.complement() if negate else charset

    def _class_item(self) -> int | CharSet:
        start = self.pos
        char = self._take()
        if char != "\\":
            return ord(char)
        escaped = self._escape(start, in_class=True)
        if len(escaped.ranges) == 1 and escaped.ranges[0][0] == escaped.ranges[0][1]:
            return escaped.ranges[0][0]
        return escaped

    def _escape(self, start: int, *, in_class: bool) -> CharSet:
        if self.pos >= len(self.pattern):
            raise self._error("bad escape (end of pattern)", start)
        char = self._take()
        if char in CLASS_ESCAPES:
            return CLASS_ESCAPES[char]
        if char in SINGLE_ESCAPES:
            return self._charset(CharSet.chars(SINGLE_ESCAPES[char]))
        if char == "b":
            if in_class:
                return CharSet.chars("\b")
            raise self._unsupported("word boundary \\b", start)
        if char == "B":
            raise self._unsupported("non-word boundary \\B", start)
        if char in "AZ":
            raise self._unsupported(f"anchor \\{char} inside the pattern", start)
        if char in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[char]
            digits = self.pattern[self.pos : self.pos + width]
            self.pos += width
            return self._literal(int(digits, 16), start)
        if char == "N":
            end = self.pattern.index("}", self.pos)
            name = self.pattern[self.pos + 1 : end]
            self.pos = end + 1
            return self._literal(ord(unicodedata.lookup(name)), start)
        if char == "0" or (char in "1234567" and in_class):
            digits = char
            while len(digits) < 3 and self._peek() in "01234567" and self._peek():
                digits += self._take()
            return self._literal(int(digits, 8), start)
        if char.isdigit():
            following = self.pattern[self.pos : self.pos + 2]
            if len(following) == 2 and all(c in "01234567" for c in char + following):
                self.pos += 2
                return self._literal(int(char + following, 8), start)
            raise self._unsupported(f"backreference \\{char}", start)
        if char in "pP":
            raise self._unsupported(f"Unicode property escape \\{char}", start)
        return self._charset(CharSet.chars(char))

    def _literal(self, code_point: int, start: int) -> CharSet:
        if 0xD800 <= code_point <= 0xDFFF:
            raise self._error("a lone surrogate cannot be encoded in UTF-8", start)
        return self._charset(CharSet.of([(code_point, code_point)]))
