"""Checks and fixpoint analyses over the grammar IR.

:func:`check_grammar` is what every frontend ends with: it enforces the IR's invariants (every
symbol defined, terminals that are valid non-empty regexes, explicit size limits), rejects
unproductive rules, and drops (with a :class:`GrammarWarning`) rules the start cannot reach.
The analyses it uses — :func:`nullable_nonterminals`, :func:`productive`, :func:`reachable`,
:func:`min_derivation_heights` — run in time linear in the grammar's size and are public for
the engine. For grammars meant for a lexer (Lark), :func:`terminal_collisions` finds the
terminals a lexer could not tell apart (lark reports the same pairs), for a warning.
"""

from __future__ import annotations

import heapq
import re
import sys
import warnings
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from types import FrameType

from structgen.errors import LimitExceededError, RegexError
from structgen.grammar.errors import GrammarError, GrammarWarning
from structgen.ir import Grammar, Rule, Terminal, derivable
from structgen.regex.ast import Alt, CharSet, Concat, Empty, Look, Node, Repeat
from structgen.regex.dfa import ByteDFA, compile_byte_dfa, shortest_common_string
from structgen.regex.leftmost import check_context_free
from structgen.regex.nodes import first_chars, is_empty_language, nullable
from structgen.regex.parser import parse_regex

__all__ = [
    "DEFAULT_MAX_RULES",
    "DEFAULT_MAX_TERMINALS",
    "Collision",
    "LexerTerminal",
    "TerminalCollisionWarning",
    "check_grammar",
    "check_terminal",
    "terminal_collisions",
    "min_derivation_heights",
    "nullable_nonterminals",
    "productive",
    "reachable",
]

DEFAULT_MAX_RULES = 100_000
DEFAULT_MAX_TERMINALS = 10_000
_MAX_NAMES_SHOWN = 12
_MAX_COLLISIONS_SHOWN = 8
_COLLISION_MAX_STATES = 10_000


class TerminalCollisionWarning(GrammarWarning):
    """Two terminals of a Lark grammar share a string and no priority decides between them."""


@dataclass(frozen=True)
class LexerTerminal:
    """How a lexer sees a terminal: its priority, and whether it is a string (``"if"``).

    A string that a regex terminal of the same priority also matches is a keyword: lark's
    lexer gives it to the string terminal, so no collision is reported for it.
    """

    name: str
    priority: int = 0
    is_string: bool = False


@dataclass(frozen=True)
class Collision:
    """Two regex terminals of one priority that both match ``example`` (a shortest such text)."""

    first: str
    second: str
    example: str


def nullable_nonterminals(grammar: Grammar) -> frozenset[str]:
    """Nonterminals that derive the empty string (terminals never match it)."""
    return _fixpoint(grammar, base=frozenset())


def productive(grammar: Grammar) -> frozenset[str]:
    """Nonterminals that derive at least one string of terminals."""
    return _fixpoint(grammar, base=frozenset(grammar.terminals))


def reachable(grammar: Grammar) -> frozenset[str]:
    """Symbols (nonterminals and terminals) that occur in some derivation from ``start``.

    Ignore terminals are not included unless a rule uses them.
    """
    by_lhs = _rules_by_lhs(grammar.rules)
    seen = {grammar.start}
    queue = deque([grammar.start])
    while queue:
        for rule in by_lhs.get(queue.popleft(), ()):
            for symbol in rule.rhs:
                if symbol not in seen:
                    seen.add(symbol)
                    queue.append(symbol)
    return frozenset(seen)


def min_derivation_heights(grammar: Grammar) -> dict[str, int]:
    """Height of the shortest derivation tree of each productive nonterminal.

    A terminal has height 0 and a rule ``A → X1..Xn`` height ``1 + max(height(Xi))`` (1 for
    ``A → ε``). Knuth's generalisation of Dijkstra's algorithm: a rule's height is final once
    all its nonterminals are, and nonterminals are settled in increasing height.
    """
    terminals = grammar.terminals
    pending = [sum(1 for s in rule.rhs if s not in terminals) for rule in grammar.rules]
    rule_height = [1] * len(grammar.rules)
    occurrences: dict[str, list[int]] = defaultdict(list)
    heap: list[tuple[int, str]] = []
    for index, rule in enumerate(grammar.rules):
        for symbol in rule.rhs:
            if symbol not in terminals:
                occurrences[symbol].append(index)
        if pending[index] == 0:
            heapq.heappush(heap, (1, rule.lhs))
    heights: dict[str, int] = {}
    while heap:
        height, symbol = heapq.heappop(heap)
        if symbol in heights:
            continue
        heights[symbol] = height
        for index in occurrences.get(symbol, ()):
            rule_height[index] = max(rule_height[index], height + 1)
            pending[index] -= 1
            if pending[index] == 0:
                heapq.heappush(heap, (rule_height[index], grammar.rules[index].lhs))
    return heights


def check_grammar(
    grammar: Grammar,
    *,
    max_rules: int = DEFAULT_MAX_RULES,
    max_terminals: int = DEFAULT_MAX_TERMINALS,
    unreachable: Iterable[str] = (),
    lexer: Sequence[LexerTerminal] | None = None,
) -> Grammar:
    """Validate ``grammar``; return it without duplicate or unreachable rules and unused terminals.

    Raises :class:`GrammarError` for an undefined start, rule or terminal, a name used both as
    a terminal and a rule, a terminal whose regex structgen cannot compile or that matches the
    empty string (lark's dynamic lexer forbids zero-width terminals too) or nothing, and for
    reachable rules that derive no terminal string. Raises
    :class:`~structgen.errors.LimitExceededError` past ``max_rules`` / ``max_terminals``.
    Unreachable rules are removed, reported with a :class:`GrammarWarning` and recorded in
    ``Grammar.warnings``; the language is unchanged. ``unreachable`` names rules a frontend
    has already dropped for being unreachable (lark does), to be reported in the same warning.

    ``lexer`` (given by frontends whose grammars are meant for a lexer: Lark) turns on the
    collision check of :func:`terminal_collisions`; collisions are reported in one
    :class:`GrammarWarning` (and ``Grammar.warnings``). The language does not change: the IR
    keeps every split, collisions only matter to a lexer that must pick one terminal.
    """
    name = grammar.source_name
    if len(grammar.rules) > max_rules:
        raise LimitExceededError(
            f"the number of rules of grammar {name} ({len(grammar.rules)})",
            max_rules,
            hint="pass max_rules=... to allow larger grammars",
        )
    if len(grammar.terminals) > max_terminals:
        raise LimitExceededError(
            f"the number of terminals of grammar {name} ({len(grammar.terminals)})",
            max_terminals,
            hint="pass max_terminals=... to allow larger grammars",
        )
    _check_names(grammar)
    for terminal in grammar.terminals.values():
        check_terminal(terminal, source_name=name)

    rules = tuple(dict.fromkeys(grammar.rules))  # drop duplicates, keep order
    grammar = replace(grammar, rules=rules)
    live = reachable(grammar)
    unused = sorted(({rule.lhs for rule in rules} - live) | set(unreachable))
    new_warnings: list[str] = []
    if unused:
        message = (
            f"{name}: {_plural(len(unused), 'rule')} unreachable from the start rule "
            f"{grammar.start!r}, ignored: {_names(unused)}"
        )
        new_warnings.append(message)
        warnings.warn(message, GrammarWarning, stacklevel=_caller_stacklevel())
        rules = tuple(rule for rule in rules if rule.lhs in live)
    used = live | set(grammar.ignore)
    terminals = {key: t for key, t in grammar.terminals.items() if key in used}
    grammar = replace(
        grammar, rules=rules, terminals=terminals, warnings=grammar.warnings + tuple(new_warnings)
    )

    if lexer is not None:
        message = _collision_message(grammar, terminal_collisions(grammar, lexer))
        if message is not None:
            warnings.warn(message, TerminalCollisionWarning, stacklevel=_caller_stacklevel())
            grammar = replace(grammar, warnings=grammar.warnings + (message,))

    dead = sorted(grammar.nonterminals - productive(grammar))
    if dead:
        raise GrammarError(
            f"{_plural(len(dead), 'rule')} can never derive a string of terminals "
            f"(every alternative needs itself or another such rule): {_names(dead)}",
            source_name=name,
        )
    return grammar


def check_terminal(terminal: Terminal, *, source_name: str = "<grammar>") -> Node:
    """A terminal's regex AST; raise :class:`GrammarError` naming it when it cannot be a terminal.

    A prebuilt ``terminal.node`` is used as is (its ``pattern`` is then only a description).
    A ``leftmost`` terminal may hold one-character lookarounds, as long as they look only
    inside the lexeme (:func:`structgen.regex.leftmost.check_context_free`); the emptiness
    checks then read them as always true (a superset of the language).
    """
    if terminal.node is not None:
        node = terminal.node
    else:
        try:
            node = parse_regex(terminal.pattern, lookaround=terminal.leftmost)
            if terminal.leftmost:
                check_context_free(node, pattern=terminal.pattern)
        except RegexError as error:
            raise GrammarError(
                f"terminal {terminal.name}: {error}", source_name=source_name
            ) from None
    shape = _without_looks(node)
    if terminal.literal is not None and terminal.pattern != re.escape(terminal.literal):
        raise GrammarError(
            f"terminal {terminal.name}: its pattern {terminal.pattern!r} is not the escaped "
            f"literal {terminal.literal!r}",
            source_name=source_name,
        )
    if is_empty_language(shape):
        raise GrammarError(
            f"terminal {terminal.name} (regex {terminal.pattern!r}) matches no string",
            source_name=source_name,
        )
    if nullable(shape):
        raise GrammarError(
            f"terminal {terminal.name} (regex {terminal.pattern!r}) matches the empty string; "
            "terminals must not (make the repetition optional in a rule instead)",
            source_name=source_name,
        )
    return node


def _without_looks(node: Node) -> Node:
    """``node`` with every lookaround read as the empty string (it then matches more)."""
    if isinstance(node, Look):
        return Empty()
    if isinstance(node, Concat):
        return Concat(tuple(_without_looks(part) for part in node.parts))
    if isinstance(node, Alt):
        return Alt(tuple(_without_looks(option) for option in node.options))
    if isinstance(node, Repeat):
        return Repeat(_without_looks(node.node), node.low, node.high, node.greedy)
    return node


def terminal_collisions(
    grammar: Grammar, lexer: Sequence[LexerTerminal] = ()
) -> list[Collision]:
    """Pairs of terminals that a lexer cannot tell apart: a text both match, no priority decides.

    As lark's lexer sees it: two regex terminals of the same priority collide when their
    languages meet (the example is a shortest common text, found in the product of their byte
    DFAs). A string terminal never collides with a regex (it is a keyword and wins), and two
    string terminals collide only when their texts are equal. Terminals missing from
    ``lexer`` count as regexes of priority 0; terminals whose DFA exceeds a small state limit
    are skipped.
    """
    seen = {terminal.name: terminal for terminal in lexer}
    kinds = {
        name: seen.get(name, LexerTerminal(name))
        for name in sorted(grammar.terminals)
    }
    dfas: dict[str, ByteDFA | None] = {}
    found: list[Collision] = []
    names = list(kinds)
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            a, b = kinds[first], kinds[second]
            if a.priority != b.priority or a.is_string != b.is_string:
                continue
            if a.is_string:
                text_a, text_b = grammar.terminals[first].literal, grammar.terminals[second].literal
                if text_a is not None and text_a == text_b:
                    found.append(Collision(first, second, text_a))
                continue
            example = _common_text(grammar, first, second, dfas)
            if example is not None:
                found.append(Collision(first, second, example))
    return found


def _common_text(
    grammar: Grammar, first: str, second: str, dfas: dict[str, ByteDFA | None]
) -> str | None:
    if not _overlap(_first_chars(grammar, first), _first_chars(grammar, second)):
        return None  # no first character in common: the cheap, usual answer
    left, right = _terminal_dfa(grammar, first, dfas), _terminal_dfa(grammar, second, dfas)
    if left is None or right is None:
        return None
    try:
        common = shortest_common_string(left, right, max_states=_COLLISION_MAX_STATES)
    except LimitExceededError:
        return None
    return None if common is None else common.decode("utf-8", errors="replace")


def _node(terminal: Terminal) -> Node:
    return terminal.node if terminal.node is not None else parse_regex(terminal.pattern)


def _first_chars(grammar: Grammar, name: str) -> CharSet:
    try:
        return first_chars(_node(grammar.terminals[name]))
    except RegexError:
        return CharSet(())


def _overlap(a: CharSet, b: CharSet) -> bool:
    i = j = 0
    while i < len(a.ranges) and j < len(b.ranges):
        (low_a, high_a), (low_b, high_b) = a.ranges[i], b.ranges[j]
        if low_a <= high_b and low_b <= high_a:
            return True
        if high_a < high_b:
            i += 1
        else:
            j += 1
    return False


def _terminal_dfa(grammar: Grammar, name: str, dfas: dict[str, ByteDFA | None]) -> ByteDFA | None:
    if name not in dfas:
        try:
            dfas[name] = compile_byte_dfa(
                _node(grammar.terminals[name]), max_states=_COLLISION_MAX_STATES
            )
        except (LimitExceededError, RegexError):
            dfas[name] = None
    return dfas[name]


def _collision_message(grammar: Grammar, collisions: list[Collision]) -> str | None:
    if not collisions:
        return None
    shown = "; ".join(
        f"{c.first} and {c.second} both match {c.example!r}"
        for c in collisions[:_MAX_COLLISIONS_SHOWN]
    )
    more = len(collisions) - _MAX_COLLISIONS_SHOWN
    if more > 0:
        shown += f"; and {more} more"
    return (
        f"{grammar.source_name}: {_plural(len(collisions), 'terminal collision')} with no priority "
        f"to decide ({shown}); a lexer (lark's) would choose between them arbitrarily: give one "
        f"of each pair a higher priority (e.g. {collisions[0].first}.2: ...)"
    )


# -- helpers ----------------------------------------------------------------------------------


def _check_names(grammar: Grammar) -> None:
    name = grammar.source_name
    for key, terminal in grammar.terminals.items():
        if key != terminal.name:
            raise GrammarError(
                f"terminal {terminal.name!r} is stored under the key {key!r}", source_name=name
            )
    nonterminals = grammar.nonterminals
    both = sorted(nonterminals & set(grammar.terminals))
    if both:
        raise GrammarError(
            f"names used both as a terminal and as a rule: {_names(both)}", source_name=name
        )
    if grammar.start not in nonterminals:
        raise GrammarError(f"the start rule {grammar.start!r} is not defined", source_name=name)
    undefined: dict[str, str] = {}
    for rule in grammar.rules:
        for symbol in rule.rhs:
            if symbol not in nonterminals and symbol not in grammar.terminals:
                undefined.setdefault(symbol, rule.lhs)
    if undefined:
        shown = ", ".join(
            f"{symbol!r} (used in rule {lhs!r})" for symbol, lhs in sorted(undefined.items())
        )
        raise GrammarError(f"undefined rule or terminal: {shown}", source_name=name)
    missing = [symbol for symbol in grammar.ignore if symbol not in grammar.terminals]
    if missing:
        raise GrammarError(
            f"ignored terminals are not defined: {_names(missing)}", source_name=name
        )


def _fixpoint(grammar: Grammar, *, base: frozenset[str]) -> frozenset[str]:
    """Least set S ⊇ base closed under: A ∈ S when some rule ``A → X1..Xn`` has every Xi ∈ S."""
    return derivable(grammar.rules, base)


def _rules_by_lhs(rules: tuple[Rule, ...]) -> dict[str, list[Rule]]:
    by_lhs: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        by_lhs[rule.lhs].append(rule)
    return by_lhs


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES_SHOWN])
    more = len(names) - _MAX_NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside structgen, so a warning points at user code."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("structgen."):
        frame = frame.f_back
        level += 1
    return level
