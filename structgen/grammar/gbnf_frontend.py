"""llama.cpp GBNF grammar text → :class:`~structgen.ir.Grammar`.

GBNF (https://github.com/ggml-org/llama.cpp/blob/master/grammars/README.md) is a BNF over
characters::

    root   ::= "[" ws ( item ( "," ws item )* )? "]"   # comment
    item   ::= [a-z]+ | "\\u00e9" | . | ( "x" | "y" ){2,3}
    ws     ::= [ \\t\\n]*

Read here: rules ``name ::= ...`` (names of letters, digits, ``-`` and ``_``; a rule runs until
the next ``name ::=``, so rules may span lines), string literals and character classes with
the escapes ``\\n \\r \\t \\\\ \\" \\[ \\] \\xHH \\uHHHH \\UHHHHHHHH`` (code points), negated
classes ``[^...]``, ``.`` (any character), grouping, ``|``, the postfix operators ``* + ?
{m} {m,} {m,n} {,n}``, and ``#`` comments. Token references name special tokens, as in
llama.cpp: ``<[128010]>`` by id, ``<|python_tag|>`` / ``<think>`` by text; each becomes a
placeholder terminal named as written, bound to the vocabulary's token when the grammar is
compiled (:mod:`structgen.grammar.special_tokens`). Negated references (``!<...>``: any one
token but that one) are not supported: a grammar here is over text, where token boundaries
are not seen.

Each distinct literal, character class and ``.`` becomes one terminal named after its source
form (``"{"``, ``[0-9]``, ``.``), which no rule name can collide with; grouping and postfix
operators become helper rules named ``<rule>/group1``, ``<rule>/star2``, … (identical helpers
are shared). GBNF has no ignored terminals: whitespace is explicit in the rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from structgen.errors import LimitExceededError
from structgen.grammar.analysis import DEFAULT_MAX_RULES, DEFAULT_MAX_TERMINALS, check_grammar
from structgen.grammar.errors import GrammarError, line_and_column
from structgen.grammar.special_tokens import special_reference
from structgen.ir import Grammar, Rule, Terminal
from structgen.vocab.special import is_special_reference

__all__ = ["DEFAULT_MAX_REPETITION", "grammar_from_gbnf"]

DEFAULT_MAX_REPETITION = 10_000
_MAX_CODE_POINT = 0x10FFFF
_NAME = re.compile(r"[A-Za-z0-9_-]+")
# llama.cpp's parse_char: these plus ``\-`` (its JSON-schema converter writes ``[a-z\-]``).
_SIMPLE_ESCAPES = {
    "n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_CLASS_SPECIAL = set("\\]^-[")


# -- the parsed form ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ref:
    name: str
    offset: int


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Class:
    negated: bool
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _AnyChar:
    pass


@dataclass(frozen=True)
class _Group:
    alternatives: tuple[tuple[_Item, ...], ...]


@dataclass(frozen=True)
class _Repeat:
    item: _Item
    low: int
    high: int | None


@dataclass(frozen=True)
class _Token:
    name: str  # as written: <[12]>, <|python_tag|>


_Item = _Ref | _Literal | _Class | _AnyChar | _Group | _Repeat | _Token


@dataclass(frozen=True)
class _Definition:
    name: str
    alternatives: tuple[tuple[_Item, ...], ...]
    offset: int


def grammar_from_gbnf(
    text: str,
    *,
    start: str = "root",
    source_name: str = "<grammar>",
    max_rules: int = DEFAULT_MAX_RULES,
    max_terminals: int = DEFAULT_MAX_TERMINALS,
    max_repetition: int = DEFAULT_MAX_REPETITION,
) -> Grammar:
    """Read a GBNF grammar (llama.cpp syntax) into the IR; the start rule is ``root``.

    The language is exactly the grammar's set of strings (GBNF has no lexer: each terminal is
    a fixed string or a single character, so splitting into terminals loses nothing).
    ``max_repetition`` bounds the counts in ``{m,n}``. Errors are
    :class:`~structgen.grammar.errors.GrammarError` with line and column.
    """
    definitions = _Parser(text, source_name, max_repetition).parse()
    by_name = {definition.name: definition for definition in definitions}
    for definition in definitions:
        for ref in _refs(definition.alternatives):
            if ref.name not in by_name:
                line, column = line_and_column(text, ref.offset)
                raise GrammarError(
                    f"undefined rule {ref.name!r} (used in rule {definition.name!r})",
                    source_name=source_name,
                    line=line,
                    column=column,
                    text=text,
                )
    if start not in by_name:
        raise GrammarError(
            f"no rule named {start!r}: a GBNF grammar starts at its {start!r} rule",
            source_name=source_name,
        )
    live = _reachable_definitions(by_name, start)
    lowering = _Lowering(max_rules=max_rules, source_name=source_name)
    for definition in definitions:
        if definition.name in live:
            lowering.define(definition)
    grammar = Grammar(
        terminals=lowering.terminals,
        rules=tuple(lowering.rules),
        start=start,
        source_name=source_name,
    )
    unreachable = [definition.name for definition in definitions if definition.name not in live]
    return check_grammar(
        grammar, max_rules=max_rules, max_terminals=max_terminals, unreachable=unreachable
    )


def _reachable_definitions(by_name: dict[str, _Definition], start: str) -> set[str]:
    """Rules reachable from ``start`` (the others are reported, not lowered: no helpers named)."""
    seen, stack = {start}, [start]
    while stack:
        for ref in _refs(by_name[stack.pop()].alternatives):
            if ref.name not in seen:
                seen.add(ref.name)
                stack.append(ref.name)
    return seen


# -- parsing ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, source_name: str, max_repetition: int) -> None:
        self.text = text
        self.source_name = source_name
        self.max_repetition = max_repetition
        self.pos = 0

    def error(self, message: str, offset: int | None = None) -> GrammarError:
        line, column = line_and_column(self.text, self.pos if offset is None else offset)
        return GrammarError(
            message, source_name=self.source_name, line=line, column=column, text=self.text
        )

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def skip(self) -> None:
        """Skip whitespace (line breaks included) and ``#`` comments."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r\n":
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            else:
                return

    def parse(self) -> list[_Definition]:
        definitions: list[_Definition] = []
        seen: dict[str, int] = {}
        self.skip()
        while self.pos < len(self.text):
            offset = self.pos
            match = _NAME.match(self.text, self.pos)
            if match is None:
                raise self.error(f"expected a rule name, found {self.peek()!r}")
            name = match.group(0)
            self.pos = match.end()
            self.skip()
            if not self.text.startswith("::=", self.pos):
                raise self.error(f"expected '::=' after the rule name {name!r}")
            if name in seen:
                line, _ = line_and_column(self.text, seen[name])
                raise self.error(f"rule {name!r} is defined twice (first on line {line})", offset)
            seen[name] = offset
            self.pos += 3
            alternatives = self.alternatives()
            if self.peek() == ")":  # alternatives() stops at ')', the next rule or the end
                raise self.error("unbalanced ')'")
            definitions.append(_Definition(name, alternatives, offset))
        return definitions

    def alternatives(self) -> tuple[tuple[_Item, ...], ...]:
        options = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.sequence())
        return tuple(options)

    def sequence(self) -> tuple[_Item, ...]:
        items: list[_Item] = []
        while True:
            self.skip()
            char = self.peek()
            if char in ("", "|", ")"):
                break
            if self.at_rule_start():
                break
            item = self.postfix(self.primary())
            items.append(item)
        return tuple(items)

    def at_rule_start(self) -> bool:
        match = _NAME.match(self.text, self.pos)
        if match is None:
            return False
        saved, self.pos = self.pos, match.end()
        self.skip()
        found = self.text.startswith("::=", self.pos)
        self.pos = saved
        return found

    def primary(self) -> _Item:
        char, offset = self.peek(), self.pos
        if char == '"':
            return _Literal(self.string())
        if char == "[":
            return self.char_class()
        if char == ".":
            self.pos += 1
            return _AnyChar()
        if char == "(":
            self.pos += 1
            alternatives = self.alternatives()
            self.skip()
            if self.peek() != ")":
                raise self.error("expected ')' to close the group opened here", offset)
            self.pos += 1
            return _Group(alternatives)
        if char == "<":
            return self.token_reference()
        if char == "!":
            raise self.error(
                "negated token references (!<...>) are not supported: structgen grammars are "
                "over text, where one token is not seen; write the text it may be instead"
            )
        match = _NAME.match(self.text, self.pos)
        if match is not None:
            self.pos = match.end()
            return _Ref(match.group(0), offset)
        if char in "*+?{":
            raise self.error(f"{char!r} has no item before it to repeat")
        raise self.error(
            f"unexpected {char!r}; expected a rule name, a string, a character class, '.' or '('"
        )

    def token_reference(self) -> _Token:
        """``<[id]>`` or ``<text>``: a special token (bound to an id at compile time)."""
        offset = self.pos
        end = self.text.find(">", offset)
        name = self.text[offset : end + 1] if end > offset else ""
        if not is_special_reference(name):
            raise self.error(
                "expected a token reference <[id]> or <text> (no spaces, closed by '>')", offset
            )
        self.pos = end + 1
        return _Token(name)

    def postfix(self, item: _Item) -> _Item:
        while True:
            saved = self.pos
            self.skip()
            char = self.peek()
            if char in ("*", "+", "?"):
                self.pos += 1
                low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
            elif char == "{":
                low, high = self.braces()
            else:
                self.pos = saved
                return item
            item = _Repeat(item, low, high)

    def braces(self) -> tuple[int, int | None]:
        offset = self.pos
        match = re.compile(r"\{[ \t]*(\d*)[ \t]*(?:(,)[ \t]*(\d*)[ \t]*)?\}").match(
            self.text, self.pos
        )
        if match is None or (not match.group(1) and not match.group(2)):
            raise self.error("expected a repetition {m}, {m,}, {m,n} or {,n}", offset)
        low_text, comma, high_text = match.groups()
        low = int(low_text) if low_text else 0
        high: int | None = low if not comma else (int(high_text) if high_text else None)
        for bound in (low, high):
            if bound is not None and bound > self.max_repetition:
                raise LimitExceededError(
                    f"the repetition count {bound} at line {line_and_column(self.text, offset)[0]} "
                    f"of grammar {self.source_name}",
                    self.max_repetition,
                    hint="pass max_repetition=... to allow larger counts",
                )
        if high is not None and high < low:
            raise self.error(
                f"repetition {{{low},{high}}}: the maximum is below the minimum", offset
            )
        self.pos = match.end()
        return low, high

    def string(self) -> str:
        offset = self.pos
        self.pos += 1  # the opening quote
        chars: list[str] = []
        while True:
            char = self.peek()
            if char == "" or char == "\n":
                raise self.error("unterminated string (a literal ends on its line)", offset)
            if char == '"':
                self.pos += 1
                return "".join(chars)
            chars.append(chr(self.char()))

    def char_class(self) -> _Item:
        offset = self.pos
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        while self.peek() != "]":
            if self.peek() in ("", "\n"):
                raise self.error("unterminated character class", offset)
            low = self.char()
            if self.peek() == "-" and self.peek(1) not in ("]", "", "\n"):
                self.pos += 1
                range_offset = self.pos
                high = self.char()
                if high < low:
                    raise self.error(
                        f"bad range {chr(low)!r}-{chr(high)!r}: the end is below the start",
                        range_offset,
                    )
                ranges.append((low, high))
            else:
                ranges.append((low, low))
        self.pos += 1
        if not ranges:
            if negated:
                return _AnyChar()
            raise self.error("empty character class [] matches nothing", offset)
        return _Class(negated, _merge(ranges))

    def char(self) -> int:
        """One (possibly escaped) character of a string or class, as a code point."""
        offset = self.pos
        char = self.peek()
        if char != "\\":
            self.pos += 1
            return ord(char)
        escape = self.peek(1)
        if escape in _SIMPLE_ESCAPES:
            self.pos += 2
            return ord(_SIMPLE_ESCAPES[escape])
        if escape in _HEX_ESCAPES:
            width = _HEX_ESCAPES[escape]
            digits = self.text[self.pos + 2 : self.pos + 2 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise self.error(f"\\{escape} needs {width} hex digits", offset)
            code_point = int(digits, 16)
            if code_point > _MAX_CODE_POINT or 0xD800 <= code_point <= 0xDFFF:
                raise self.error(f"\\{escape}{digits} is not a Unicode scalar value", offset)
            self.pos += 2 + width
            return code_point
        known = " ".join("\\" + e for e in [*_SIMPLE_ESCAPES, *_HEX_ESCAPES])
        raise self.error(f"unknown escape \\{escape or '(end)'}; GBNF knows {known}", offset)


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple((low, high) for low, high in merged)


def _refs(alternatives: tuple[tuple[_Item, ...], ...]):  # -> Iterator[_Ref]
    for sequence in alternatives:
        for item in sequence:
            while isinstance(item, _Repeat):
                item = item.item
            if isinstance(item, _Ref):
                yield item
            elif isinstance(item, _Group):
                yield from _refs(item.alternatives)


# -- lowering to the IR ---------------------------------------------------------------------------


class _Lowering:
    """Turns parsed definitions into IR rules; shares identical terminals and helper rules."""

    def __init__(self, *, max_rules: int, source_name: str) -> None:
        self.max_rules = max_rules
        self.source_name = source_name
        self.terminals: dict[str, Terminal] = {}
        self.rules: list[Rule] = []
        self.helpers: dict[tuple, str] = {}
        self.counts: dict[str, int] = {}
        self.owner = ""

    def define(self, definition: _Definition) -> None:
        self.owner = definition.name
        for sequence in definition.alternatives:
            self.add(definition.name, self.sequence(sequence))

    def add(self, lhs: str, rhs: tuple[str, ...]) -> None:
        if len(self.rules) >= self.max_rules:
            raise LimitExceededError(
                f"the number of rules of grammar {self.source_name}",
                self.max_rules,
                hint="pass max_rules=... to allow larger grammars",
            )
        self.rules.append(Rule(lhs, rhs))

    def sequence(self, items: tuple[_Item, ...]) -> tuple[str, ...]:
        symbols: list[str] = []
        for item in items:
            symbols.extend(self.item(item))
        return tuple(symbols)

    def item(self, item: _Item) -> tuple[str, ...]:
        if isinstance(item, _Ref):
            return (item.name,)
        if isinstance(item, _Literal):
            return (self.literal(item.text),) if item.text else ()
        if isinstance(item, _Class):
            return (self.char_class(item),)
        if isinstance(item, _AnyChar):
            return (self.terminal(".", "(?s:.)"),)
        if isinstance(item, _Token):
            self.terminals.setdefault(item.name, special_reference(item.name))
            return (item.name,)
        if isinstance(item, _Group):
            lowered = tuple(self.sequence(sequence) for sequence in item.alternatives)
            if len(set(lowered)) == 1:
                return lowered[0]
            return (self.helper(("group", lowered), "group", list(lowered)),)
        return self.repeat(item)

    def repeat(self, item: _Repeat) -> tuple[str, ...]:
        body = self.item(item.item)
        if not body or item.high == 0:
            return ()
        low, high = item.low, item.high
        if high is None:
            if low == 0:
                star = self.helper(("star", body), "star", [(), ("*self", *body)])
                return (star,)
            plus = self.helper(("plus", body), "plus", [body, ("*self", *body)])
            return body * (low - 1) + (plus,)
        optional: tuple[str, ...] = ()
        for count in range(1, high - low + 1):  # optional_k → ε | body optional_{k-1}
            name = self.helper(("optional", body, count), "opt", [(), body + optional])
            optional = (name,)
        return body * low + optional

    def helper(self, key: tuple, kind: str, alternatives: list[tuple[str, ...]]) -> str:
        """The helper rule for ``key``; ``"*self"`` in an alternative stands for the helper."""
        name = self.helpers.get(key)
        if name is not None:
            return name
        count = self.counts.get(self.owner, 0) + 1
        self.counts[self.owner] = count
        name = f"{self.owner}/{kind}{count}"
        self.helpers[key] = name
        for rhs in alternatives:
            self.add(name, tuple(name if symbol == "*self" else symbol for symbol in rhs))
        return name

    def literal(self, text: str) -> str:
        return self.terminal(json.dumps(text, ensure_ascii=False), re.escape(text), literal=text)

    def char_class(self, item: _Class) -> str:
        body = "".join(
            _class_char(low) if low == high else f"{_class_char(low)}-{_class_char(high)}"
            for low, high in item.ranges
        )
        pattern = f"[^{body}]" if item.negated else f"[{body}]"
        return self.terminal(pattern, pattern)

    def terminal(self, name: str, pattern: str, *, literal: str | None = None) -> str:
        if name not in self.terminals:
            self.terminals[name] = Terminal(name, pattern, literal)
        return name


def _class_char(code_point: int) -> str:
    """A code point written for a regex character class (printable ASCII as is, others escaped)."""
    char = chr(code_point)
    if char in _CLASS_SPECIAL:
        return "\\" + char
    if 0x20 <= code_point < 0x7F:
        return char
    if code_point <= 0xFF:
        return f"\\x{code_point:02x}"
    if code_point <= 0xFFFF:
        return f"\\u{code_point:04x}"
    return f"\\U{code_point:08x}"
