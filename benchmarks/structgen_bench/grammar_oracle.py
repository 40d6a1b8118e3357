"""An independent judge of grammar prefixes for the benchmark's mask cross-check.

"Is this text a prefix of some string of the grammar?" is answered by a plain character-level
Earley recogniser written here for the purpose, over the grammar IR with each terminal's regex
expanded into character rules (from Python's own parse of the regex, ASCII classes, as
:mod:`structgen_bench.regex_tree` reads them). It shares no code with any engine measured:
not structgen's lexer or parser, nor a peer. In a grammar whose every symbol derives some
string, an Earley column that is not empty after the last character means the text read so
far is a viable prefix.

Ignored terminals may appear any number of times, of any length, between terminals and at
both ends: the IR's language with no bound on whitespace (structgen bounds an ignored run by
default, see ``compile_grammar(max_ignore_bytes=...)``, so that difference is visible).

Bytes are decoded as UTF-8; a token that ends inside a character is a viable continuation when
some character starting with those bytes may come next (the characters sharing a UTF-8 prefix
form one interval of code points); bytes that are not UTF-8 are never valid.
"""

from __future__ import annotations

import bisect
from typing import Any

from structgen.ir import Grammar
from structgen_bench.regex_tree import NotExpressible, parse_regex

__all__ = ["PrefixOracle", "OracleState"]

_Item = tuple  # (rule, dot, origin column)


class _Chars:
    """A terminal: a set of code points as sorted disjoint ranges."""

    __slots__ = ("lows", "highs")

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self.lows = [low for low, _ in ranges]
        self.highs = [high for _, high in ranges]

    def __contains__(self, code: int) -> bool:
        index = bisect.bisect_right(self.lows, code) - 1
        return index >= 0 and code <= self.highs[index]

    def meets(self, low: int, high: int) -> bool:
        """Whether some code point in ``[low, high]`` is in the set."""
        index = bisect.bisect_right(self.lows, high) - 1
        return index >= 0 and self.highs[index] >= low


class _Column:
    """One Earley column: its items, those waiting on each nonterminal, and the scans
    (character set, item after it) its terminal items offer."""

    __slots__ = ("items", "waiting", "scans")

    def __init__(self, items: list[_Item], waiting: dict[int, list[_Item]],
                 scans: list[tuple[_Chars, _Item]]) -> None:  # fmt: skip
        self.items = items
        self.waiting = waiting
        self.scans = scans


class OracleState:
    """The chart after some text (immutable from the outside: feeding returns a new state)."""

    __slots__ = ("columns", "pending")

    def __init__(self, columns: list[_Column], pending: bytes) -> None:
        self.columns = columns
        self.pending = pending  # trailing bytes of a character not complete yet


class PrefixOracle:
    """Viable-prefix checks for one grammar IR (see the module docstring)."""

    def __init__(self, grammar: Grammar) -> None:
        self._rules: list[tuple[int, tuple[Any, ...]]] = []  # (lhs, rhs of ints and _Chars)
        self._by_lhs: dict[int, list[int]] = {}
        self._names: dict[str, int] = {}
        root = self._symbol("<root>")
        ignore = self._symbol("<ign>") if grammar.ignore else None
        terminals: dict[str, int] = {}
        for name in grammar.terminals:
            terminals[name] = self._symbol(f"<t:{name}>")
            try:
                tree = parse_regex(grammar.terminals[name].pattern)
            except NotExpressible as error:
                raise NotExpressible(f"terminal {name}: {error}") from None
            self._add(terminals[name], [self._node(tree)])
        if ignore is not None:
            self._add(ignore, [])
            for name in grammar.ignore:
                self._add(ignore, [terminals[name], ignore])
        start = self._symbol(grammar.start)
        self._add(root, [start, ignore] if ignore is not None else [start])
        for rule in grammar.rules:
            rhs: list[Any] = []
            for symbol in rule.rhs:
                if symbol in grammar.terminals:
                    if ignore is not None:
                        rhs.append(ignore)
                    rhs.append(terminals[symbol])
                else:
                    rhs.append(self._symbol(symbol))
            self._add(self._symbol(rule.lhs), rhs)
        self._nullable = self._find_nullable()
        self._root = root
        self._initial = self._close([(rule, 0, 0) for rule in self._by_lhs[root]], [], 0)

    # -- building -------------------------------------------------------------------------------
    def _symbol(self, name: str) -> int:
        if name not in self._names:
            self._names[name] = len(self._names)
        return self._names[name]

    def _fresh(self) -> int:
        return self._symbol(f"<n{len(self._names)}>")

    def _add(self, lhs: int, rhs: list[Any]) -> None:
        self._by_lhs.setdefault(lhs, []).append(len(self._rules))
        self._rules.append((lhs, tuple(rhs)))

    def _node(self, node: Any) -> Any:
        kind = node[0]
        if kind == "chars":
            return _Chars(node[1])
        symbol = self._fresh()
        if kind == "seq":
            self._add(symbol, [self._node(child) for child in node[1]])
        elif kind == "alt":
            for child in node[1]:
                self._add(symbol, [self._node(child)])
        else:  # repeat
            _, child, low, high = node
            item = self._node(child)
            tail = self._fresh()
            if high is None:  # tail → ε | item tail
                self._add(tail, [])
                self._add(tail, [item, tail])
            else:  # tail → ε | item (ε | item (…)), high - low deep
                self._add(tail, [])
                current = tail
                for _ in range(high - low):
                    following = self._fresh()
                    self._add(current, [item, following])
                    self._add(following, [])
                    current = following
            self._add(symbol, [item] * low + [tail])
        return symbol

    def _find_nullable(self) -> set[int]:
        nullable: set[int] = set()
        changed = True
        while changed:
            changed = False
            for lhs, rhs in self._rules:
                if lhs not in nullable and all(isinstance(s, int) and s in nullable for s in rhs):
                    nullable.add(lhs)
                    changed = True
        return nullable

    # -- recognising ----------------------------------------------------------------------------
    def _close(self, kernel: list[_Item], columns: list[_Column], position: int) -> _Column:
        """Predict and complete from ``kernel`` at ``position`` (Aycock-Horspool for ε: an
        item completed at the position it started is nullable, and prediction has already
        stepped over it, so only earlier columns are searched for waiting items)."""
        rules, by_lhs, nullable = self._rules, self._by_lhs, self._nullable
        items = list(dict.fromkeys(kernel))
        seen = set(items)
        waiting: dict[int, list[_Item]] = {}
        scans: list[tuple[_Chars, _Item]] = []
        index = 0
        while index < len(items):
            item = items[index]
            rule, dot, origin = item
            index += 1
            lhs, rhs = rules[rule]
            if dot < len(rhs):
                following = rhs[dot]
                if isinstance(following, _Chars):
                    scans.append((following, (rule, dot + 1, origin)))
                    continue
                waiting.setdefault(following, []).append(item)
                for predicted in by_lhs.get(following, ()):
                    new = (predicted, 0, position)
                    if new not in seen:
                        seen.add(new)
                        items.append(new)
                if following in nullable:
                    new = (rule, dot + 1, origin)
                    if new not in seen:
                        seen.add(new)
                        items.append(new)
            elif origin < position:
                for w_rule, w_dot, w_origin in columns[origin].waiting.get(lhs, ()):
                    new = (w_rule, w_dot + 1, w_origin)
                    if new not in seen:
                        seen.add(new)
                        items.append(new)
        return _Column(items, waiting, scans)

    def initial(self) -> OracleState:
        return OracleState([self._initial], b"")

    def feed(self, state: OracleState, data: bytes) -> OracleState | None:
        """The state after ``data`` more bytes, or ``None`` when the text is no viable prefix."""
        buffer = state.pending + data
        try:
            text = buffer.decode("utf-8")
            pending = b""
        except UnicodeDecodeError as error:
            if error.reason != "unexpected end of data":
                return None
            text = buffer[: error.start].decode("utf-8")
            pending = buffer[error.start :]
        columns = list(state.columns)
        for char in text:
            code = ord(char)
            kernel = [following for chars, following in columns[-1].scans if code in chars]
            if not kernel:
                return None
            columns.append(self._close(kernel, columns, len(columns)))
        if pending and not self._may_start(columns[-1], pending):
            return None
        return OracleState(columns, pending)

    def _may_start(self, column: _Column, pending: bytes) -> bool:
        """Whether a character whose UTF-8 form starts with ``pending`` may come next."""
        bounds = _utf8_interval(pending)
        if bounds is None:
            return False
        return any(chars.meets(*bounds) for chars, _ in column.scans)

    def accepts(self, state: OracleState) -> bool:
        """Whether the text of ``state`` is a complete string of the grammar."""
        if state.pending:
            return False
        return any(
            self._rules[rule][0] == self._root and dot == len(self._rules[rule][1]) and origin == 0
            for rule, dot, origin in state.columns[-1].items
        )


def _utf8_interval(prefix: bytes) -> tuple[int, int] | None:
    """The code points whose UTF-8 encoding starts with ``prefix`` (the first 1-3 bytes of one
    character), as an interval, or ``None`` when no character starts so."""
    lead = prefix[0]
    if 0xC2 <= lead <= 0xDF:
        length, bits, valid = 2, lead & 0x1F, (0x80, 0x7FF)
    elif 0xE0 <= lead <= 0xEF:
        length, bits, valid = 3, lead & 0x0F, (0x800, 0xFFFF)
    elif 0xF0 <= lead <= 0xF4:
        length, bits, valid = 4, lead & 0x07, (0x10000, 0x10FFFF)
    else:
        return None
    if len(prefix) >= length or any(b & 0xC0 != 0x80 for b in prefix[1:]):
        return None
    for byte in prefix[1:]:
        bits = (bits << 6) | (byte & 0x3F)
    free = 6 * (length - len(prefix))
    low = max(bits << free, valid[0])
    high = min(((bits + 1) << free) - 1, valid[1])
    if 0xD800 <= low <= 0xDFFF:
        low = 0xE000
    if 0xD800 <= high <= 0xDFFF:
        high = 0xD7FF
    return (low, high) if low <= high else None
