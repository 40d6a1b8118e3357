"""A grammar's terminals as byte automata, compiled on first use and shared between engines.

A schema names hundreds of terminals, and a decoder reaches few of them before the first
token (often only ``{`` and whitespace): compiling each terminal's DFA when the lexer first
needs it keeps compile time to what the first mask needs. Compiled DFAs are also memoised per
process by their regex text (:data:`MEMO_SIZE` entries, :data:`MEMO_BYTES` of tables), so the
terminals every schema shares
— strings, numbers, punctuation with whitespace — are compiled once, and the slow ones are kept
on disk (digest-checked, keyed by the regex text and the compiler's sources) for the next
process.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from structgen.errors import ConfigurationError, LimitExceededError, RegexError
from structgen.regex.ast import Concat, Repeat
from structgen.regex.concat_automaton import ConcatAutomaton
from structgen.regex.dfa import (
    DEAD,
    ByteAutomaton,
    ByteDFA,
    byte_nfa,
    compile_byte_dfa,
    minimize,
    regex_to_dfa,
    trim,
)
from structgen.regex.glued import glue_parts
from structgen.regex.lazy_dfa import LazySubsetDFA
from structgen.regex.leftmost import leftmost_byte_dfa
from structgen.regex.nodes import tree_size
from structgen.regex.parser import parse_regex
from structgen.regex.text import to_regex_text
from structgen.vocab.dfa_cache import load_byte_dfa, store_byte_dfa

if TYPE_CHECKING:
    from structgen.ir import Grammar, Terminal
    from structgen.regex.ast import Node

__all__ = ["MEMO_BYTES", "MEMO_SIZE", "TerminalAutomata", "terminal_automaton"]

MEMO_SIZE = 4096
STORE_AFTER_SECONDS = 0.005
"""A terminal DFA that took longer than this to compile is also kept on disk (a format, a
pattern): the next process reads it instead (``STRUCTGEN_NO_TERMINAL_CACHE`` turns it off)."""
_REGEX_SOURCES = ("automaton.py", "dfa.py", "nfa.py", "leftmost.py", "parser.py", "ast.py")
_SOURCES = tuple(str(Path(__file__).parents[2] / "regex" / name) for name in _REGEX_SOURCES)
MEMO_BYTES = 128 << 20
"""The bytes of tables the memos below keep at most (a glued key is ~0.2 MB): a long-lived
process that sees schema after schema keeps its recent terminals, not all of them."""


class _Memo:
    """A least-recently-used memo bounded by :data:`MEMO_SIZE` entries and :data:`MEMO_BYTES`
    bytes of transition tables (lazy automata count as nothing: they hold what use built)."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple, ByteAutomaton] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple) -> ByteAutomaton | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple, automaton: ByteAutomaton) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= _table_bytes(old)
        self._items[key] = automaton
        self._bytes += _table_bytes(automaton)
        while len(self._items) > 1 and (len(self._items) > MEMO_SIZE or self._bytes > MEMO_BYTES):
            _, dropped = self._items.popitem(last=False)
            self._bytes -= _table_bytes(dropped)

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


def _table_bytes(automaton: ByteAutomaton) -> int:
    return int(automaton.transitions.nbytes) if isinstance(automaton, ByteDFA) else 0


_memo = _Memo()
_part_memo = _Memo()
LAZY_PART_SIZE = 400
"""A part of a concatenation terminal larger than this (regex AST nodes) is determinised lazily."""
STORED_PART_SIZE = 64
"""A part at least this large (regex AST nodes) is looked up in, and if slow kept in, the disk
cache of terminals by its regex text."""


class TerminalAutomata(Sequence[ByteAutomaton]):
    """The automata of ``used`` terminals, then of the ignored ones (bounded to
    ``max_ignore_bytes``), in the engine's terminal numbering; each built on first access."""

    def __init__(
        self,
        grammar: Grammar,
        used: list[str],
        *,
        max_states: int,
        max_ignore_bytes: int,
        lazy: bool = False,
    ) -> None:
        self.grammar = grammar
        self.lazy = lazy
        self.names = list(used) + list(grammar.ignore)
        self.num_real = len(used)
        self.max_states = max_states
        self.max_ignore_bytes = max_ignore_bytes
        self._built: list[ByteAutomaton | None] = [None] * len(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> ByteAutomaton:  # type: ignore[override]
        built = self._built[index]
        if built is None:
            built = self._built[index] = self._build(index)
        return built

    def is_built(self, index: int) -> bool:
        return self._built[index] is not None

    def set_built(self, index: int, automaton: ByteAutomaton) -> None:
        """Install an automaton restored from a serialised engine."""
        self._built[index] = automaton

    def build_all(self) -> None:
        """Compile every terminal now (compile errors surface at once)."""
        for index in range(len(self.names)):
            self[index]

    def _build(self, index: int) -> ByteAutomaton:
        terminal = self.grammar.terminals[self.names[index]]
        lazy = self.lazy and index < self.num_real
        automaton = terminal_automaton(
            terminal, self.grammar.source_name, self.max_states, lazy=lazy
        )
        if index >= self.num_real:
            if not isinstance(automaton, ByteDFA):
                raise ConfigurationError(
                    f"ignored terminal {terminal.name} must be a regex, not a lazy automaton"
                )
            automaton = bounded(automaton, self.max_ignore_bytes)
        return automaton


def terminal_automaton(
    terminal: Terminal, source_name: str, max_states: int, *, lazy: bool = False
) -> ByteAutomaton:
    """The byte automaton of ``terminal`` (memoised by its regex text for regex terminals).

    ``lazy``: a concatenation (a schema's key, a string with its quotes) is built from its
    parts' DFAs (memoised by part): glued into one table where they concatenate without a
    subset construction (:func:`~structgen.regex.glued.glue_parts`: keys, most strings), else
    a :class:`~structgen.regex.concat_automaton.ConcatAutomaton` whose rows are computed on
    first use."""
    name = terminal.name
    if terminal.automaton is not None:
        automaton = terminal.automaton
        empty = automaton.accepts(0)
    else:
        concat = lazy and not terminal.leftmost and isinstance(terminal.node, Concat)
        key = (terminal.pattern, terminal.leftmost, terminal.node is not None, max_states, concat)
        cached = _memo.get(key)
        if cached is not None:
            return cached
        if concat:
            assert isinstance(terminal.node, Concat)
            parts = glue_parts(
                [_part(part, terminal, source_name, max_states) for part in terminal.node.parts]
            )
            automaton = parts[0] if len(parts) == 1 else ConcatAutomaton(parts)
        else:
            automaton = _on_disk(key, lambda: _compile(terminal, source_name, max_states))
        empty = automaton.accepts(0)
        if not empty:
            _memo.put(key, automaton)
    if empty:
        raise ConfigurationError(
            f"terminal {name} of {source_name} matches the empty string "
            f"({terminal.pattern!r}); terminals must consume at least one character"
        )
    return automaton


def _part(node: Node, terminal: Terminal, source_name: str, max_states: int) -> ByteAutomaton:
    """The automaton of one part of a concatenation terminal (memoised by node): a DFA, or a
    lazily determinised one for a large part (an "any other key" complement)."""
    key = (node, max_states)
    found = _part_memo.get(key)
    if found is not None:
        return found
    try:
        size = tree_size(node)
        if size > LAZY_PART_SIZE and not (
            isinstance(node, Repeat) and tree_size(node.node) <= LAZY_PART_SIZE
        ):  # (a repetition of a small body is built by counting: a string's tail)
            found = LazySubsetDFA(byte_nfa(node, max_states=max_states))
        elif size < STORED_PART_SIZE:  # (a key's character, a quote: microseconds)
            found = compile_byte_dfa(node, max_states=max_states)
        else:  # a format's or a pattern's body: 10-100 ms, so kept on disk too
            found = _on_disk(
                ("part", to_regex_text(node), max_states),
                lambda: compile_byte_dfa(node, max_states=max_states),
            )
    except RegexError as error:
        raise ConfigurationError(f"terminal {terminal.name} of {source_name}: {error}") from None
    except LimitExceededError as error:
        raise LimitExceededError(f"terminal {terminal.name}: {error.what}", error.limit) from None
    _part_memo.put(key, found)
    return found


def _on_disk(key: tuple, build: Callable[[], ByteDFA]) -> ByteDFA:
    """The DFA an earlier process stored under ``key``, else ``build()`` — stored for the next
    process when it took over :data:`STORE_AFTER_SECONDS`."""
    found = load_byte_dfa(key, _SOURCES)
    if found is None:
        started = time.perf_counter()
        found = build()
        if time.perf_counter() - started > STORE_AFTER_SECONDS:
            store_byte_dfa(key, _SOURCES, found)
    return found


def _compile(terminal: Terminal, source_name: str, max_states: int) -> ByteDFA:
    try:
        if terminal.leftmost:
            node = terminal.node
            if node is None:
                node = parse_regex(terminal.pattern, lookaround=True)
            return leftmost_byte_dfa(node, max_states=max_states, pattern=terminal.pattern)
        if terminal.node is not None:
            return compile_byte_dfa(terminal.node, max_states=max_states)
        return regex_to_dfa(terminal.pattern, max_states=max_states)
    except RegexError as error:
        raise ConfigurationError(f"terminal {terminal.name} of {source_name}: {error}") from None
    except LimitExceededError as error:
        raise LimitExceededError(f"terminal {terminal.name}: {error.what}", error.limit) from None


def bounded(dfa: ByteDFA, max_bytes: int) -> ByteDFA:
    """``dfa`` restricted to strings of at most ``max_bytes`` bytes (state × length product)."""
    states = dfa.num_states
    transitions = np.full(((max_bytes + 1) * states, 256), DEAD, dtype=np.int32)
    for length in range(max_bytes):
        base, following = length * states, (length + 1) * states
        rows = dfa.transitions
        transitions[base : base + states] = np.where(rows >= 0, rows + following, DEAD)
    accepting = np.tile(dfa.accepting, max_bytes + 1)
    transitions, accepting = trim(transitions, accepting)
    transitions, accepting = minimize(transitions, accepting)
    return ByteDFA(transitions=transitions, accepting=accepting)
