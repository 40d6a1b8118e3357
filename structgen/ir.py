"""The grammar IR every frontend produces: rules over terminals; terminals are regexes.

The language of a :class:`Grammar` is the set of strings that split into a sequence of
terminal matches, with ``ignore`` terminals between two terminals and at both ends, such that
the sequence of non-ignored terminals derives from ``start``: no longest-match rule, every split
is considered, so lexer ambiguity is part of the language, not resolved away. A terminal marked
``leftmost`` (lark's regex terminals) matches what lark's lexer gives it: the strings its regex
matches leftmost-first, whole (``/a|ab/`` matches ``a`` only; see
:mod:`structgen.regex.leftmost`). lark's Earley parser with ``lexer="dynamic_complete"`` still
matches ignored text greedily, where the IR lets it split anywhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from structgen.key_set_rules import KeySetRules
    from structgen.regex.ast import Node
    from structgen.regex.dfa import ByteAutomaton


@dataclass(frozen=True)
class Terminal:
    """A terminal: ``pattern`` is a regex (Python syntax, ``re.ASCII`` semantics, full match).

    ``literal`` holds the exact text when the terminal is a fixed string (used for forced
    tokens and fast paths); ``pattern`` is then ``re.escape(literal)``. Frontends that build
    regexes programmatically (JSON Schema) may pass the regex AST as ``node``; the engine then
    compiles ``node`` and ``pattern`` is only a readable description (and the cache key).

    ``leftmost`` makes the terminal's strings those its regex matches leftmost-first and whole
    (``re.match(pattern, s).group(0) == s``), as lark's lexer produces them; its pattern may
    then hold one-character lookarounds and its laziness and alternation order count.

    ``automaton`` (a :class:`~structgen.regex.dfa.ByteAutomaton`, usually lazy) replaces both:
    the engine reads the terminal's bytes from it, discovering states only as decoding reaches
    them, so a language with a huge automaton (a pattern × length × format product) needs no
    global state limit. ``pattern`` then only describes it (and keys caches); the automaton
    must say in its own terms what it accepts (see its class).
    """

    name: str
    pattern: str
    literal: str | None = None
    node: Node | None = field(default=None, compare=False, repr=False)
    leftmost: bool = False
    automaton: ByteAutomaton | None = field(default=None, compare=False, repr=False)


class Rule(NamedTuple):
    """``lhs → rhs``; ``rhs`` names terminals and nonterminals (empty tuple: ε). A named tuple:
    a schema's "any order" objects make ~100k rules, and a tuple is built in half the time of
    a frozen dataclass (~0.5 against ~0.9 µs here)."""

    lhs: str
    rhs: tuple[str, ...]


@dataclass(frozen=True)
class RuleArrays:
    """Rules numbered: symbol ``i`` is ``symbols[i]``, terminals first; rule ``i`` is
    ``lhs[i] → rhs[offsets[i]:offsets[i + 1]]``."""

    symbols: list[str]
    num_terminals: int
    lhs: np.ndarray  # int32 [rules]
    offsets: np.ndarray  # int64 [rules + 1]
    rhs: np.ndarray  # int32
    number: dict[str, int] = field(compare=False, repr=False)
    """Each symbol's number (the inverse of ``symbols``)."""
    rules: tuple[Rule, ...] | None = field(default=None, compare=False, repr=False)
    """The rules numbered, when they are a grammar's (see :attr:`Grammar.arrays`)."""

    @classmethod
    def of(cls, rules: Sequence[Rule], terminals: Iterable[str]) -> RuleArrays:
        """``rules`` numbered (``terminals`` first, in their order; then every other symbol by
        first appearance), in C-level passes."""
        terminals = list(terminals)
        heads = [rule.lhs for rule in rules]
        bodies = [rule.rhs for rule in rules]
        body = list(chain.from_iterable(bodies))
        symbols = list(dict.fromkeys(chain(terminals, heads, body)))
        number = dict(zip(symbols, range(len(symbols))))
        offsets = np.zeros(len(rules) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, bodies), dtype=np.int64, count=len(rules)), out=offsets[1:])
        return cls(
            symbols=symbols,
            num_terminals=len(terminals),
            lhs=np.fromiter(map(number.__getitem__, heads), dtype=np.int32, count=len(rules)),
            offsets=offsets,
            rhs=np.fromiter(map(number.__getitem__, body), dtype=np.int32, count=len(body)),
            number=number,
        )

    def take(self, keep: np.ndarray) -> RuleArrays:
        """The rules where ``keep`` (a bool per rule), numbered as here."""
        lengths = np.diff(self.offsets)
        offsets = np.zeros(int(np.count_nonzero(keep)) + 1, dtype=np.int64)
        np.cumsum(lengths[keep], out=offsets[1:])
        rhs = self.rhs[np.repeat(keep, lengths)]
        return RuleArrays(
            self.symbols, self.num_terminals, self.lhs[keep], offsets, rhs, number=self.number
        )


@dataclass(frozen=True)
class Grammar:
    terminals: dict[str, Terminal]
    rules: tuple[Rule, ...]
    start: str
    ignore: tuple[str, ...] = ()
    source_name: str = "<grammar>"
    warnings: tuple[str, ...] = field(default=(), compare=False)
    arrays: RuleArrays | None = field(default=None, compare=False, repr=False)
    """``rules`` numbered (from the frontend that had them so: large schema grammars), for the
    engine's set-up; read only while ``arrays.rules is rules`` (a grammar rebuilt with other
    rules by ``dataclasses.replace`` keeps a stale value otherwise)."""
    lazy: tuple[KeySetRules, ...] = ()
    """Sources of rules made on demand (:mod:`structgen.key_set_rules`): a symbol one of them
    owns that has no rule here has the rules its source makes for it."""

    @property
    def nonterminals(self) -> set[str]:
        return {rule.lhs for rule in self.rules}

    def lazy_roots(self) -> set[str]:
        """The symbols through which the eager rules enter the lazy sources."""
        return {source.root for source in self.lazy}

    def rules_for_examples(self) -> tuple[Rule, ...]:
        """The rules, and of each lazy source a part of its language written out (see
        :meth:`~structgen.key_set_rules.KeySetRules.example_rules`)."""
        if not self.lazy:
            return self.rules
        written = [Rule(lhs, rhs) for source in self.lazy for lhs, rhs in source.example_rules()]
        return self.rules + tuple(written)

    def rules_for(self, nonterminal: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.lhs == nonterminal]

    def fingerprint(self) -> str:
        payload = {
            "terminals": sorted(
                (t.name, t.pattern) + (("leftmost",) if t.leftmost else ())
                for t in self.terminals.values()
            ),
            "rules": [(r.lhs, list(r.rhs)) for r in self.rules],
            "start": self.start,
            "ignore": list(self.ignore),
        }
        if self.lazy:
            payload["lazy"] = [source.payload() for source in self.lazy]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def derivable(rules: Sequence[Rule], base: Iterable[str]) -> frozenset[str]:
    """The symbols outside ``base`` in the least set S ⊇ ``base`` closed under: ``A`` ∈ S when
    some rule ``A → X1..Xn`` has every Xi ∈ S (with ``base`` the terminals: the productive
    nonterminals; with nothing: the nullable ones). A worklist, linear in the rules."""
    return _derive(rules, base)[0]


def derivable_rules(
    rules: Sequence[Rule], base: Iterable[str]
) -> tuple[frozenset[str], list[Rule]]:
    """:func:`derivable`, and the rules whose every symbol is in ``base`` or derivable (with
    the terminals as ``base``: the productive rules), in their order."""
    found, waiting = _derive(rules, base)
    return found, [rule for rule, left in zip(rules, waiting) if not left]


def _derive(rules: Sequence[Rule], base: Iterable[str]) -> tuple[frozenset[str], list[int]]:
    """:func:`derivable`, and per rule how many of its symbols are still outside S."""
    known = frozenset(base)
    waiting = [0] * len(rules)
    users: dict[str, list[int]] = {}
    found = set(known)
    ready: list[str] = []
    for index, rule in enumerate(rules):
        count = 0
        for symbol in rule.rhs:
            if symbol not in known:
                count += 1
                listed = users.get(symbol)
                if listed is None:
                    users[symbol] = [index]
                else:
                    listed.append(index)
        waiting[index] = count
        if count == 0 and rule.lhs not in found:
            found.add(rule.lhs)
            ready.append(rule.lhs)
    while ready:
        for index in users.get(ready.pop(), ()):
            waiting[index] -= 1
            if waiting[index] == 0:
                lhs = rules[index].lhs
                if lhs not in found:
                    found.add(lhs)
                    ready.append(lhs)
    return frozenset(found - known), waiting
