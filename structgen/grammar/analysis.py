"""Checks and fixpoint analyses over the grammar IR.

:func:`check_grammar` is what every frontend ends with: it enforces the IR's invariants (every
symbol defined, terminals that are valid non-empty regexes, explicit size limits), rejects
unproductive rules, and drops (with a :class:`GrammarWarning`) rules the start cannot reach.
The analyses it uses — :func:`nullable_nonterminals`, :func:`productive`, :func:`reachable`,
:func:`min_derivation_heights` — run in time linear in the grammar's size and are public for
the engine.
"""

from __future__ import annotations

import heapq
import re
import sys
import warnings
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import replace
from types import FrameType

from structgen.errors import LimitExceededError, RegexError
from structgen.grammar.errors import GrammarError, GrammarWarning
from structgen.ir import Grammar, Rule, Terminal
from structgen.regex.ast import Alt, CharSet, Concat, Empty, Node, Repeat
from structgen.regex.parser import parse_regex

__all__ = [
    "DEFAULT_MAX_RULES",
    "DEFAULT_MAX_TERMINALS",
    "check_grammar",
    "check_terminal",
    "min_derivation_heights",
    "nullable_nonterminals",
    "productive",
    "reachable",
]

DEFAULT_MAX_RULES = 100_000
DEFAULT_MAX_TERMINALS = 10_000
_MAX_NAMES_SHOWN = 12


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
    """
    if terminal.node is not None:
        node = terminal.node
    else:
        try:
            node = parse_regex(terminal.pattern)
        except RegexError as error:
            raise GrammarError(
                f"terminal {terminal.name}: {error}", source_name=source_name
            ) from None
    if terminal.literal is not None and terminal.pattern != re.escape(terminal.literal):
        raise GrammarError(
            f"terminal {terminal.name}: its pattern {terminal.pattern!r} is not the escaped "
            f"literal {terminal.literal!r}",
            source_name=source_name,
        )
    if _matches_nothing(node):
        raise GrammarError(
            f"terminal {terminal.name} (regex {terminal.pattern!r}) matches no string",
            source_name=source_name,
        )
    if _matches_empty(node):
        raise GrammarError(
            f"terminal {terminal.name} (regex {terminal.pattern!r}) matches the empty string; "
            "terminals must not (make the repetition optional in a rule instead)",
            source_name=source_name,
        )
    return node


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
    pending = [0] * len(grammar.rules)
    occurrences: dict[str, list[int]] = defaultdict(list)
    found = set(base)
    queue: deque[str] = deque()
    for index, rule in enumerate(grammar.rules):
        for symbol in rule.rhs:
            if symbol not in base:
                pending[index] += 1
                occurrences[symbol].append(index)
        if pending[index] == 0 and rule.lhs not in found:
            found.add(rule.lhs)
            queue.append(rule.lhs)
    while queue:
        for index in occurrences.get(queue.popleft(), ()):
            pending[index] -= 1
            lhs = grammar.rules[index].lhs
            if pending[index] == 0 and lhs not in found:
                found.add(lhs)
                queue.append(lhs)
    return frozenset(found - base)


def _rules_by_lhs(rules: tuple[Rule, ...]) -> dict[str, list[Rule]]:
    by_lhs: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        by_lhs[rule.lhs].append(rule)
    return by_lhs


def _matches_empty(node: Node) -> bool:
    if isinstance(node, CharSet):
        return False
    if isinstance(node, Empty):
        return True
    if isinstance(node, Concat):
        return all(_matches_empty(part) for part in node.parts)
    if isinstance(node, Alt):
        return any(_matches_empty(option) for option in node.options)
    if isinstance(node, Repeat):
        return node.low == 0 or _matches_empty(node.node)
    raise TypeError(f"unknown regex node {node!r}")


def _matches_nothing(node: Node) -> bool:
    if isinstance(node, CharSet):
        return node.is_empty()
    if isinstance(node, Empty):
        return False
    if isinstance(node, Concat):
        return any(_matches_nothing(part) for part in node.parts)
    if isinstance(node, Alt):
        return all(_matches_nothing(option) for option in node.options)
    if isinstance(node, Repeat):
        return node.low > 0 and _matches_nothing(node.node)
    raise TypeError(f"unknown regex node {node!r}")


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
