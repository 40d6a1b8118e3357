"""A JSON instance of a schema without a model: derive a string from the schema's grammar.

The schema is compiled to the grammar IR (:func:`structgen.schema.schema_to_grammar`); then
every symbol gets the length of its shortest string — terminals from their regex AST (or, for
a terminal that carries a byte automaton instead, from a search of the automaton:
:mod:`structgen.schema.example_automata`), nonterminals by Knuth's generalisation of Dijkstra's
algorithm to grammars (D. E. Knuth, *A generalization of Dijkstra's algorithm*, IPL 6(1), 1977),
which also finds the productive symbols.
The minimal instance expands every nonterminal with the rule that attained its cost (a
well-founded choice, so the derivation terminates); a seeded instance picks rules and regex
choices at random, falling back to the cheapest ones past a depth and size bound.

Every string derived is in the grammar's language; it is parsed and validated with structgen's
validator (:mod:`structgen.validation`, as ``structgen validate`` does) before it is returned, and
other seeds are tried when it does not validate (a ``lenient`` grammar over-approximates, and
repeated keys collapse when parsed), so an invalid instance is never returned.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from structgen.errors import ConfigurationError, StructgenError
from structgen.regex.ast import Alt, CharSet, Concat, Empty, Node, Repeat
from structgen.schema.errors import UnsatisfiableSchemaError
from structgen.schema.example_automata import ASCII_WEIGHTS as _ASCII_WEIGHTS
from structgen.schema.example_automata import PREFERRED as _PREFERRED
from structgen.schema.example_automata import AutomatonTexts
from structgen.validation.document_validator import DocumentValidator
from structgen.validation.issues import InvalidSchemaError, SchemaReferenceError

if TYPE_CHECKING:
    from structgen.ir import Grammar, Rule
    from structgen.regex.dfa import ByteAutomaton
    from structgen.schema.options import SchemaOptions

__all__ = ["ExampleGenerator", "NoExampleError", "example_instance"]

# Options of the schema compiler used unless overridden: one compact text per value and the
# smallest automata. They change how values are written, never which values validate.
DEFAULT_SCHEMA_OPTIONS: dict[str, Any] = {
    "whitespace": "compact",
    "property_order": "schema",
    "escapes": "canonical",
}
INFINITY = math.inf


class NoExampleError(StructgenError, ValueError):
    """No derived instance validated within the number of attempts allowed."""


def example_instance(schema: Any, *, seed: int | None = None, **options: Any) -> Any:
    """A JSON value (parsed) that validates against ``schema``; no model, no vocabulary.

    ``seed=None`` gives the minimal instance (shortest strings, cheapest alternatives); an int
    gives a random one, reproducibly. ``options`` are :class:`ExampleGenerator` keywords
    (``max_depth``, ``max_nodes``, ``max_attempts``) and schema options (``lenient=True``, …).
    Raises :class:`UnsatisfiableSchemaError` when no value validates, the compiler's
    :class:`SchemaError` for a schema it cannot handle, and :class:`NoExampleError` when no
    derived instance validated.
    """
    return ExampleGenerator(schema, **options).instance(seed)


class ExampleGenerator:
    """Compile ``schema`` once, then derive as many instances as wanted.

    ``max_depth`` bounds the nesting of random rule choices and ``max_nodes`` their number (past
    either, the cheapest rule is taken); ``max_attempts`` is how many derivations may fail
    validation before :class:`NoExampleError`. Other keywords are schema options; without
    ``options``, ``DEFAULT_SCHEMA_OPTIONS`` apply first (they change how values are written,
    not which values are valid).
    """

    def __init__(
        self,
        schema: Any,
        *,
        options: SchemaOptions | None = None,
        max_depth: int = 32,
        max_nodes: int = 400,
        max_attempts: int = 25,
        **overrides: Any,
    ) -> None:
        from structgen.schema.loading import load_schema
        from structgen.schema.to_grammar import schema_to_grammar_with

        limits = {"max_depth": max_depth, "max_nodes": max_nodes, "max_attempts": max_attempts}
        for name, value in limits.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a positive int, got {value!r}")
        self.schema = load_schema(schema)
        if options is None:
            overrides = {**DEFAULT_SCHEMA_OPTIONS, **overrides}
        self.grammar: Grammar = schema_to_grammar_with(
            self.schema, options, overrides, stacklevel=3
        )
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.max_attempts = max_attempts
        self._validator = _validator(self.schema, options, overrides)
        self._texts = _RegexTexts()
        self._automaton_texts = AutomatonTexts(budget=self._texts.budget)
        # Each terminal's text comes from its regex AST, or from its automaton when it has one
        # and no AST (its pattern is then only a description).
        self._nodes: dict[str, Node] = {}
        self._automata: dict[str, ByteAutomaton] = {}
        self._labels: dict[str, str] = {}
        for name, terminal in self.grammar.terminals.items():
            if terminal.node is None and terminal.automaton is not None:
                self._automata[name] = terminal.automaton
                self._labels[name] = f"terminal {name} {_shorten(terminal.pattern)}"
            else:
                self._nodes[name] = _terminal_node(self.grammar, name)
        costs = {name: self._texts.min_length(node) for name, node in self._nodes.items()}
        for name, automaton in self._automata.items():
            label = self._labels[name]
            costs[name] = self._automaton_texts.min_length(automaton, label=label)
        self._cost, self._best = _symbol_costs(self.grammar, costs)
        if self.grammar.start not in self._cost:
            raise UnsatisfiableSchemaError(
                "the schema is unsatisfiable: its grammar derives no JSON text"
            )
        self._choices = _productive_rules(self.grammar, self._cost)

    def format_warnings(self) -> list[str]:
        """One line per ``format`` of the schema that the validator does not check here (the
        instance then relies on the compiler alone for it)."""
        return self._validator.format_warnings()

    def instance(self, seed: int | None = None) -> Any:
        """The minimal instance (``seed=None``) or a random one; always valid (else raises)."""
        value, _ = self._first_valid(seed)
        return value

    def text(self, seed: int | None = None) -> str:
        """One derived string of the grammar (not validated): minimal, or random with ``seed``."""
        if seed is None:
            return "".join(self._derive(None))
        return "".join(self._derive(random.Random(seed)))

    def _first_valid(self, seed: int | None) -> tuple[Any, str]:
        problem = ""
        for attempt in range(self.max_attempts):
            if attempt == 0:
                text = self.text(seed)
            else:  # other seeds, derived from the one asked for
                text = self.text(attempt if seed is None else seed * 1_000_003 + attempt)
            value, problem = self._check(text)
            if not problem:
                return value, text
        warned = self.grammar.warnings
        why = f"; the grammar is approximate: {'; '.join(warned)}" if warned else ""
        raise NoExampleError(
            f"no valid instance in {self.max_attempts} attempts{why}; last problem: {problem}"
        )

    def _check(self, text: str) -> tuple[Any, str]:
        """(value, "") when ``text`` parses and validates, else (None, what went wrong)."""
        try:
            value = json.loads(text)
            json.dumps(value, allow_nan=False)  # 1e999 parses as inf: not printable as JSON
        except (ValueError, RecursionError) as error:
            return None, f"the derived text {text[:60]!r} is not printable JSON: {error}"
        issues = self._validator.issues(value)
        if issues:
            return None, f"{issues[0].location}: {issues[0].message}"
        return value, ""

    def _derive(self, rng: random.Random | None) -> Iterator[str]:
        """The strings of the terminals of one derivation, left to right (an explicit stack:
        chains of thousands of nonterminals are common). ``ignore`` terminals are optional
        between two terminals, so none is written."""
        terminals = self.grammar.terminals
        stack: list[tuple[str, int]] = [(self.grammar.start, 0)]
        expanded = 0
        while stack:
            symbol, depth = stack.pop()
            if symbol in terminals:
                yield self._terminal_text(symbol, rng)
                continue
            rule = self._best[symbol]
            if rng is not None and depth < self.max_depth and expanded < self.max_nodes:
                rule = rng.choice(self._choices[symbol])
            expanded += 1
            stack.extend((child, depth + 1) for child in reversed(rule.rhs))

    def _terminal_text(self, name: str, rng: random.Random | None) -> str:
        """A shortest (``rng`` None) or random string of terminal ``name``."""
        node = self._nodes.get(name)
        if node is not None:
            return self._texts.shortest(node) if rng is None else self._texts.sample(node, rng)
        automaton, label = self._automata[name], self._labels[name]
        if rng is None:
            return self._automaton_texts.shortest(automaton, label=label)
        return self._automaton_texts.sample(automaton, rng, label=label)


def _validator(schema: Any, options: SchemaOptions | None, overrides: dict) -> DocumentValidator:
    """The ``structgen validate`` validator, reading a schema without ``$schema`` in the
    compiler's default draft."""
    from structgen.schema.options import SchemaOptions

    draft = SchemaOptions.build(options, **overrides).default_draft
    if isinstance(schema, dict) and "$schema" not in schema and draft != "2020-12":
        uri = {"2019-09": "https://json-schema.org/draft/2019-09/schema"}.get(
            draft, f"http://json-schema.org/draft-0{draft}/schema#"
        )
        schema = {"$schema": uri, **schema}
    try:
        return DocumentValidator(schema)
    except (InvalidSchemaError, SchemaReferenceError) as error:
        # e.g. a pattern that is not ECMA-262, or a $ref to another document
        found = "; ".join(str(issue) for issue in getattr(error, "issues", ())) or str(error)
        raise NoExampleError(
            f"the validator cannot check instances of this schema, so none is given: {found}"
        ) from None


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _terminal_node(grammar: Grammar, name: str) -> Node:
    from structgen.regex.parser import parse_regex

    terminal = grammar.terminals[name]
    return terminal.node if terminal.node is not None else parse_regex(terminal.pattern)


def _symbol_costs(
    grammar: Grammar, terminal_costs: dict[str, float]
) -> tuple[dict[str, float], dict[str, Rule]]:
    """Knuth's algorithm: the least length of each productive symbol, and for each productive
    nonterminal the rule attaining it (whose right-hand side was settled earlier)."""
    rules = grammar.rules_for_examples()
    waiting = [len(rule.rhs) for rule in rules]
    partial = [0.0] * len(rules)
    uses: dict[str, list[int]] = defaultdict(list)
    for index, rule in enumerate(rules):
        for symbol in rule.rhs:
            uses[symbol].append(index)
    heap: list[tuple[float, int, str, int]] = []  # (cost, tie-break, symbol, rule or -1)
    for name, cost in terminal_costs.items():
        if cost < INFINITY:
            heap.append((cost, len(heap), name, -1))
    for index, rule in enumerate(rules):
        if not rule.rhs:
            heap.append((0.0, len(heap), rule.lhs, index))
    heapq.heapify(heap)
    counter = len(heap)
    cost: dict[str, float] = {}
    best: dict[str, Rule] = {}
    while heap:
        value, _, symbol, rule_index = heapq.heappop(heap)
        if symbol in cost:
            continue
        cost[symbol] = value
        if rule_index >= 0:
            best[symbol] = rules[rule_index]
        for index in uses.get(symbol, ()):
            partial[index] += value
            waiting[index] -= 1
            if waiting[index] == 0 and rules[index].lhs not in cost:
                heapq.heappush(heap, (partial[index], counter, rules[index].lhs, index))
                counter += 1
    return cost, best


def _productive_rules(grammar: Grammar, cost: dict[str, float]) -> dict[str, list[Rule]]:
    choices: dict[str, list[Rule]] = defaultdict(list)
    for rule in grammar.rules_for_examples():
        if rule.lhs in cost and all(symbol in cost for symbol in rule.rhs):
            choices[rule.lhs].append(rule)
    return choices


def _geometric(rng: random.Random, p: float) -> int:
    """How many successes, each of probability ``p``, before the first failure."""
    count = 0
    while rng.random() < p:
        count += 1
    return count


class _RegexTexts:
    """Shortest and random strings of regex ASTs, memoised per node (by identity: the AST's
    generated hash walks the whole tree)."""

    def __init__(self, *, max_extra: int = 6, budget: int = 24) -> None:
        self.max_extra = max_extra  # random repetitions beyond a Repeat's minimum
        self.budget = budget  # code points a random string may take before choices go minimal
        self._min: dict[int, float] = {}
        self._short: dict[int, str] = {}
        self._ascii: dict[int, list[str]] = {}
        self._alive: list[Node] = []  # keeps memoised ids from being reused

    def min_length(self, node: Node) -> float:
        """Code points in the shortest string of ``node`` (``inf`` when it matches nothing)."""
        key = id(node)
        if key in self._min:
            return self._min[key]
        if isinstance(node, CharSet):
            value = 1.0 if self._pick_min(node) is not None else INFINITY
        elif isinstance(node, Empty):
            value = 0.0
        elif isinstance(node, Concat):
            value = sum((self.min_length(part) for part in node.parts), 0.0)
        elif isinstance(node, Alt):
            value = min((self.min_length(option) for option in node.options), default=INFINITY)
        elif isinstance(node, Repeat):
            value = 0.0 if node.low == 0 else node.low * self.min_length(node.node)
        else:  # pragma: no cover - the AST is closed
            raise TypeError(f"unknown regex node {node!r}")
        self._alive.append(node)
        self._min[key] = value
        return value

    def shortest(self, node: Node) -> str:
        """A shortest string of ``node``, preferring letters, then digits, then other ASCII."""
        key = id(node)
        if key in self._short:
            return self._short[key]
        if isinstance(node, CharSet):
            text = self._pick_min(node) or ""
        elif isinstance(node, Empty):
            text = ""
        elif isinstance(node, Concat):
            text = "".join(self.shortest(part) for part in node.parts)
        elif isinstance(node, Alt):
            text = self.shortest(min(node.options, key=self.min_length))
        elif isinstance(node, Repeat):
            text = self.shortest(node.node) * node.low if node.low else ""
        else:  # pragma: no cover
            raise TypeError(f"unknown regex node {node!r}")
        self._alive.append(node)
        self._short[key] = text
        return text

    def sample(self, node: Node, rng: random.Random) -> str:
        """A random string of ``node`` (which must match something): ASCII most of the time,
        short alternatives favoured, a few repetitions beyond the minimum."""
        out: list[str] = []
        self._sample(node, rng, out, [0])
        return "".join(out)

    def _sample(self, node: Node, rng: random.Random, out: list[str], used: list[int]) -> None:
        if isinstance(node, CharSet):
            out.append(self._pick_random(node, rng))
            used[0] += 1
        elif isinstance(node, Concat):
            for part in node.parts:
                self._sample(part, rng, out, used)
        elif isinstance(node, Alt):
            if used[0] >= self.budget:  # long enough: no more growth
                chosen = min(node.options, key=self.min_length)
            else:
                options = [o for o in node.options if self.min_length(o) < INFINITY]
                chosen = rng.choices(options, [self._weight(o) for o in options])[0]
            self._sample(chosen, rng, out, used)
        elif isinstance(node, Repeat):
            for _ in range(node.low):
                self._sample(node.node, rng, out, used)
            length = self.min_length(node.node)
            if length == INFINITY:
                return
            room = (
                self.max_extra if node.high is None else min(self.max_extra, node.high - node.low)
            )
            if length != 1:  # an optional or repeated group: now and then
                room = min(room, _geometric(rng, 0.25))
            for _ in range(rng.randint(0, room) if length == 1 else room):
                if used[0] >= self.budget:
                    break
                self._sample(node.node, rng, out, used)

    def _weight(self, option: Node) -> float:
        """Short alternatives are likelier, and escape sequences (``\\n``, ``\\u00e9``) rare."""
        weight = 1.0 / (1.0 + self.min_length(option))
        return weight * 0.01 if "\\" in self.shortest(option) else weight

    def _ascii_members(self, charset: CharSet) -> list[str]:
        """The characters of ``_PREFERRED`` in ``charset``, in that order."""
        key = id(charset)
        if key not in self._ascii:
            self._alive.append(charset)
            self._ascii[key] = [c for c in _PREFERRED if ord(c) in charset]
        return self._ascii[key]

    def _pick_min(self, charset: CharSet) -> str | None:
        members = self._ascii_members(charset)
        if members:
            return members[0]
        for low, high in charset.ranges:  # the lowest printable code point, surrogates skipped
            for point in (max(low, 0xA0), low):
                if point <= high and not 0xD800 <= point <= 0xDFFF:
                    return chr(point)
            if high > 0xDFFF and low <= 0xDFFF:
                return chr(0xE000)
        return None

    def _pick_random(self, charset: CharSet, rng: random.Random) -> str:
        members = [c for c in self._ascii_members(charset) if c in _ASCII_WEIGHTS]
        if members and rng.random() < 0.95:
            return rng.choices(members, [_ASCII_WEIGHTS[c] for c in members])[0]
        friendly = [c for c in self._ascii_members(charset) if c not in _ASCII_WEIGHTS]
        if friendly and rng.random() < 0.6:
            return rng.choice(friendly)
        ranges = charset.ranges
        for _ in range(8):
            low, high = rng.choices(ranges, [min(high - low + 1, 256) for low, high in ranges])[0]
            point = rng.randint(low, high)
            if not (0xD800 <= point <= 0xDFFF or 0x7F <= point <= 0x9F):  # nor DEL, C1 controls
                return chr(point)
        return self._pick_min(charset) or ""
