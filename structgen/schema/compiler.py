"""JSON Schema → grammar IR.

Every schema node (a conjunction of subschemas, see :mod:`structgen.schema.normalize`) becomes a
nonterminal, built on demand from a work list so recursive ``$ref`` s become recursive rules.
A node with ``anyOf``/``oneOf`` groups becomes one alternative per choice of branches (the
choice joins the node's own keywords: ``A ∧ anyOf(B, C)`` = ``(A ∧ B) ∨ (A ∧ C)``); ``oneOf`` is
compiled so where its branches are provably disjoint (:mod:`structgen.schema.disjoint`); the
scalar types they overlap on are built as an exactly-one language (:mod:`.exactly_one`). A
node with ``enum``/``const`` is its finite set of values, filtered by ``jsonschema`` against
every keyword of the node (so any keyword next to an ``enum`` is exact). Otherwise the node is
the union over its JSON types of a terminal (null, booleans, numbers, strings) or a structure
(:mod:`structgen.schema.objects`, :mod:`structgen.schema.arrays`).

Terminals carry whitespace where ``json.dumps`` may put it: ``{`` ``[`` are followed by it,
``}`` ``]`` preceded, ``,`` and ``:`` surrounded, each run at most ``max_whitespace`` long; a key's
terminal includes its colon. At the end, unproductive rules (unsatisfiable subschemas) are
removed — a dropped ``anyOf``/``oneOf`` branch gets a warning, an unsatisfiable root an error.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from structgen.errors import LimitExceededError
from structgen.ir import Grammar, Rule, RuleArrays, Terminal, derivable_rules
from structgen.kernels.trie_walk import prune_kernel
from structgen.key_set_rules import KeySetRules
from structgen.regex.ast import CharSet, Node
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import ByteAutomaton
from structgen.regex.nodes import (
    alt,
    char,
    concat,
    depth,
    is_empty_language,
    literal,
    repeat,
)
from structgen.regex.text import to_regex_text
from structgen.rule_arrays import prune_with
from structgen.schema.arrays import build_array
from structgen.schema.decimal_multiples import common_multiple, decimal_multiples
from structgen.schema.disjoint import check_one_of
from structgen.schema.errors import (
    SchemaError,
    UnsatisfiableSchemaError,
    Unsupported,
    UnsupportedSchemaError,
)
from structgen.schema.exactly_one import enforce_exactly_one, restricts
from structgen.schema.float_bounds import float_safe_bounds
from structgen.schema.json_strings import quoted
from structgen.schema.literal_keys import KeyTail, literal_key, literal_name
from structgen.schema.multiples import integer_multiples
from structgen.schema.normalize import (
    Analysis,
    Flat,
    Group,
    SchemaNode,
    StringSpec,
    analyze,
    flatten,
    make_node,
)
from structgen.schema.number_sets import number_set_symbol
from structgen.schema.numbers import (
    Bound,
    int_range,
    integer_bounds,
    integer_modulus,
    integer_node,
    number_node,
    to_decimal,
)
from structgen.schema.objects import ObjectPlan, build_object, plan_object
from structgen.schema.options import SchemaOptions
from structgen.schema.other_keys import key_close, other_keys_dfa
from structgen.schema.refs import Location, SchemaDocument, canonical_json
from structgen.schema.string_terminals import StringTerminals
from structgen.schema.strings import StringLanguage, encoded_strings_except, excluded_names

__all__ = ["SchemaCompiler", "whitespace_run"]

_WHITESPACE = CharSet.chars(" \t\n\r")
_MAX_DEPTH = 300


def whitespace_run(limit: int) -> Node:
    """The whitespace between tokens: at most ``limit`` of space, tab, newline, return."""
    return repeat(_WHITESPACE, 0, limit) if limit else concat()


# From this many rules (an "any order" object of 10+ keys), the grammar is pruned by the numba
# kernel once numba is loaded (below it, or before, the Python pass: the numbering costs more).
_KERNEL_PRUNE_RULES = 5_000
# Keys beside a ``$ref`` that constrain nothing (a schema of only these is its target).
_REF_ONLY = frozenset({"$ref", "title", "description", "examples", "default"})


class SchemaCompiler:
    """One schema document compiled to a :class:`~structgen.ir.Grammar`.

    It implements :class:`~structgen.schema.builder.SchemaBuilder`, the interface that the type
    modules (arrays, objects, disjoint, string terminals) emit rules and terminals through.
    """

    def __init__(self, document: SchemaDocument, options: SchemaOptions) -> None:
        self.document = document
        self.options = options
        self.terminals: dict[str, Terminal] = {}
        self._terminal_ids: dict[Any, str] = {}
        self.rules: list[Rule] = []
        self.lazy: dict[str, KeySetRules] = {}  # by root (see add_lazy)
        self._symbols: dict[frozenset, str] = {}
        self._literal_symbols: dict[str, str] = {}
        self._work: list[tuple[str, SchemaNode]] = []
        self._counter = itertools.count()
        self.unsupported: list[Unsupported] = []
        self.warnings: list[str] = list(document.warnings)
        self.unsat_reasons: list[str] = []
        self.branch_symbols: dict[
            str, str
        ] = {}  # alternative symbol → "anyOf/oneOf branch" description
        self._analyses: dict[frozenset, Analysis] = {}
        self._synthetic: list[dict] = []
        self._ref_targets: dict[tuple, SchemaNode] = {}
        self.strings = StringTerminals(self)
        whitespace = options.whitespace_limit
        self.ws: Node = whitespace_run(whitespace)
        self._key_tail = KeyTail(concat(self.ws, char(":"), self.ws))

    # -- IR plumbing -------------------------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def rule(self, lhs: str, *rhs: str) -> None:
        self.rules.append(Rule(lhs, tuple(rhs)))

    def add_rules(self, rules: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        self.rules.extend([Rule(lhs, rhs) for lhs, rhs in rules])

    def add_lazy(self, source: KeySetRules, placeholders: list[tuple[str, ...]]) -> None:
        self.lazy[source.root] = source
        self.rules.extend([Rule(source.root, rhs) for rhs in placeholders])

    def terminal(
        self, node: Node, *, key: Any = None, name: str = "t", literal_text: str | None = None
    ) -> str:
        """The name of a terminal matching ``node`` (one per distinct ``key``, or per node)."""
        key = ("node", id(node)) if key is None else key  # the Terminal keeps ``node`` alive
        found = self._terminal_ids.get(key)
        if found is not None:
            return found
        if depth(node) > _MAX_DEPTH:
            raise LimitExceededError(
                "the nesting depth of a terminal's regex", _MAX_DEPTH,
                hint="a pattern, number bound or length is too intricate; simplify it",
            )  # fmt: skip
        return self._add_terminal(node, to_regex_text(node), key, name, literal_text)

    def _add_terminal(
        self, node: Node, text: str, key: Any, name: str, literal_text: str | None = None
    ) -> str:
        terminal_name = self.fresh(name.upper() + "_")
        self.terminals[terminal_name] = Terminal(terminal_name, text, literal_text, node)
        self._terminal_ids[key] = terminal_name
        return terminal_name

    def automaton_terminal(
        self,
        automaton: ByteAutomaton,
        description: str,
        *,
        key: Any,
        name: str = "t",
        node: Node | None = None,
    ) -> str:
        """The terminal read through ``automaton``, one per ``key`` (``node``: its regex, for
        readers of the grammar that want one, when there is a small one)."""
        found = self._terminal_ids.get(key)
        if found is None:
            found = self._terminal_ids[key] = self.fresh(name.upper() + "_")
            self.terminals[found] = Terminal(found, description, node=node, automaton=automaton)
        return found

    def punct(self, text: str) -> str:
        """``{`` ``}`` ``[`` ``]`` ``,`` with their whitespace."""
        found = self._terminal_ids.get(("punct", text))
        if found is not None:  # (asked for by every object and array: no node built again)
            return found
        node = {
            "{": concat(char("{"), self.ws),
            "}": concat(self.ws, char("}")),
            "[": concat(char("["), self.ws),
            "]": concat(self.ws, char("]")),
            ",": concat(self.ws, char(","), self.ws),
        }[text]
        compact = self.options.whitespace_limit == 0
        names = {"{": "lbrace", "}": "rbrace", "[": "lbracket", "]": "rbracket", ",": "comma"}
        return self.terminal(
            node, key=("punct", text), name=names[text], literal_text=text if compact else None
        )

    def keyword(self, text: str) -> str:
        found = self._terminal_ids.get(("lit", text))
        if found is not None:
            return found
        return self.terminal(literal(text), key=("lit", text), name=text, literal_text=text)

    @property
    def canonical(self) -> bool:
        return self.options.escapes == "canonical"

    def key_terminal(self, decoded: Node, *, canonical: bool | None = None) -> str:
        """A property name from ``decoded`` (a decoded-string language), quoted, then ``:``."""
        canonical = self.canonical if canonical is None else canonical
        name = literal_name(decoded)
        if name is not None:  # a listed name: its node and text from per-character pieces
            key = ("key", name, canonical)
            found = self._terminal_ids.get(key)
            if found is not None:
                return found
            built = literal_key(name, canonical, self._key_tail)
            if built is not None:
                return self._add_terminal(*built, key, "key")
        names = excluded_names(decoded)
        # (the names key the terminal: hashing the complement's tree costs its size)
        key = ("key", decoded, canonical) if names is None else ("except", names, canonical)
        found = self._terminal_ids.get(key)
        if found is not None:
            return found
        if names is not None and canonical:
            close = key_close(self.ws)
            automaton = other_keys_dfa(names, close)
            if automaton is not None:  # the names' trie over a shared DFA (schema.other_keys)
                description = (
                    f"<JSON key: any string but {json.dumps(sorted(set(names)))}, "
                    f"canonical, then {to_regex_text(close)}>"
                )
                quote = char('"')
                node = concat(quote, encoded_strings_except(names), close)
                return self.automaton_terminal(
                    automaton, description, key=key, name="key", node=node
                )
        node = concat(quoted(decoded, canonical=canonical), self.ws, char(":"), self.ws)
        return self.terminal(node, key=key, name="key")

    # -- strings (see structgen.schema.string_terminals) -------------------------------------------
    def pattern_node(self, pattern: str, pointer: str) -> Node:
        return self.strings.pattern_node(pattern, pointer)

    def pattern_dfa(self, pattern: str, pointer: str, *, complement: bool = False) -> CodePointDFA:
        return self.strings.pattern_dfa(pattern, pointer, complement=complement)

    def decoded_string_of(self, spec: StringSpec, *, pointer: str) -> StringLanguage | None:
        """The decoded strings that a :class:`~structgen.schema.normalize.StringSpec` allows."""
        return self.strings.decoded_string_of(spec, pointer=pointer)

    def string_from_language(
        self, language: StringLanguage, *, close: Node, name: str, canonical: bool | None = None
    ) -> str:
        return self.strings.from_language(language, close=close, name=name, canonical=canonical)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def report(self, items: list[Unsupported]) -> None:
        for item in items:
            if item not in self.unsupported:
                self.unsupported.append(item)

    def unsatisfiable(self, reason: str) -> None:
        self.unsat_reasons.append(reason)

    # -- nodes -------------------------------------------------------------------------------------
    def symbol(self, items: Iterable[tuple[Location, bool]]) -> str:
        """The nonterminal of the conjunction ``items`` (built later, from the work list)."""
        node = make_node(items)
        if len(node.items) == 1 and node.items[0][1]:
            node = self._through_refs(node)
        found = self._symbols.get(node.key)
        if found is None:
            if len(self._symbols) >= self.options.max_nonterminals:
                raise LimitExceededError(
                    "the number of schema nodes",
                    self.options.max_nonterminals,
                    hint="raise max_nonterminals",
                )
            found = self._symbols[node.key] = self.fresh("v")
            self._work.append((found, node))
        return found

    def _through_refs(self, node: SchemaNode) -> SchemaNode:
        """A lone ``$ref`` (drafts ≤ 7: siblings ignored; later drafts: only annotations beside
        it) is its target's node: the properties that refer to one definition then share one
        nonterminal instead of each expanding a copy. ``flatten`` reads both alike; only the
        pointer that messages name becomes the definition's."""
        location = node.items[0][0]
        start = location.key
        found = self._ref_targets.get(start)
        if found is not None:
            return found
        seen = {start}
        while True:
            schema = location.schema
            if not isinstance(schema, dict):
                break
            if not (location.legacy_ref or schema.keys() <= _REF_ONLY):
                break
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                break
            try:
                target = self.document.resolve(location, ref)
            except SchemaError:
                break  # reported where flatten meets it
            if target.key in seen:
                break  # a cycle of references: flatten reads it as it always did
            seen.add(target.key)
            location = target
        found = node if location.key == start else make_node([(location, True)])
        self._ref_targets[start] = found
        return found

    def location_symbol(self, location: Location) -> str:
        return self.symbol([(location, True)])

    def compile(self) -> Grammar:
        if self.document.unknown_dialect is not None:
            self.report(
                [
                    Unsupported(
                        "$schema",
                        "#/$schema",
                        f"unknown dialect {self.document.unknown_dialect!r} "
                        "(read as 2020-12 if lenient)",
                    )
                ]
            )
        start = self.location_symbol(self.document.root())
        while self._work:
            name, node = self._work.pop()
            self._expand(name, node)
        if self.unsupported and not self.options.lenient:
            raise UnsupportedSchemaError(self.unsupported)
        for item in self.unsupported:
            self.warn(f"not enforced (lenient): {item}")
        kept, used, numbered = self._prune(start)
        lazy: tuple[KeySetRules, ...] = ()
        if self.lazy:
            kept, lazy, numbered = self._settle_lazy(kept, numbered)
        terminals = {name: t for name, t in self.terminals.items() if name in used}
        rules = tuple(kept)
        return Grammar(
            terminals=terminals,
            rules=rules,
            start=start,
            source_name="json-schema",
            warnings=tuple(self.warnings),
            arrays=None if numbered is None else replace(numbered, rules=rules),
            lazy=lazy,
        )

    def _settle_lazy(
        self, kept: list[Rule], numbered: RuleArrays | None
    ) -> tuple[list[Rule], tuple[KeySetRules, ...], RuleArrays | None]:
        """The pruned rules without the lazy sources' placeholders, and the sources whose root
        stayed, each with the pairs (and loop) that stayed (see :meth:`add_lazy`)."""
        import numpy as np

        roots = set(self.lazy)
        defined = {rule.lhs for rule in kept}
        sources = []
        for root, source in self.lazy.items():
            if root not in defined:
                continue  # (unproductive or unreachable: nothing names it any more)
            pairs = [(p, b) for p, b in zip(source.pairs, source.bits) if p in defined]
            loop = source.loop if source.loop in defined else None
            sources.append(
                replace(
                    source,
                    pairs=tuple(p for p, _ in pairs),
                    bits=tuple(b for _, b in pairs),
                    loop=loop,
                )
            )
        keep = [rule.lhs not in roots for rule in kept]
        if numbered is not None:
            numbered = numbered.take(np.array(keep, dtype=bool))
        return [rule for rule, k in zip(kept, keep) if k], tuple(sources), numbered

    def _prune(self, start: str) -> tuple[list[Rule], set[str], RuleArrays | None]:
        """The productive rules reachable from ``start``, the terminals they use, and the
        rules numbered when the kernel pruned them."""
        kernel = prune_kernel() if len(self.rules) >= _KERNEL_PRUNE_RULES else None
        if kernel is not None:
            found = prune_with(kernel, self.rules, self.terminals, start)
            kept, is_productive, used, numbered = found
            self._check_productive(start, is_productive)
            return kept, used, numbered
        productive, kept = derivable_rules(self.rules, self.terminals)
        self._check_productive(start, productive.__contains__)
        by_lhs: dict[str, list[tuple[str, ...]]] = {}
        for rule in kept:
            found = by_lhs.get(rule.lhs)
            if found is None:
                by_lhs[rule.lhs] = [rule.rhs]
            else:
                found.append(rule.rhs)
        terminals = self.terminals
        reachable, stack = {start}, [start]
        used: set[str] = set()
        while stack:
            for rhs in by_lhs.get(stack.pop(), ()):
                for s in rhs:
                    if s in terminals:
                        used.add(s)
                    elif s not in reachable:
                        reachable.add(s)
                        stack.append(s)
        return [r for r in kept if r.lhs in reachable], used, None

    def _check_productive(self, start: str, productive: Callable[[str], bool]) -> None:
        """Raise when ``start`` derives nothing; warn of each branch that derives nothing."""
        if not productive(start):
            reasons = (
                "; ".join(dict.fromkeys(self.unsat_reasons)) or "no value satisfies every keyword"
            )
            raise UnsatisfiableSchemaError(f"the schema is unsatisfiable: {reasons}", pointer="#")
        for symbol, description in self.branch_symbols.items():
            if not productive(symbol):
                self.warn(f"{description} is unsatisfiable: dropped")

    def _expand(self, name: str, node: SchemaNode) -> None:
        flat = flatten(self.document, node)
        self.report(flat.unsupported)
        if flat.false_at is not None:
            self.unsat_reasons.append(f"{flat.false_at} is false")
            return
        enum_location = flat.enum_location()
        if enum_location is not None:
            self._expand_finite(name, node, enum_location)
            return
        if flat.groups:
            self._expand_groups(name, node, flat)
            return
        analysis = analyze(self.document, flat.plain, formats=self.options.formats != "annotation")
        self._analyses[node.key] = analysis
        self.report(analysis.unsupported)
        for message in analysis.warnings:
            self.warn(message)
        self.unsat_reasons.extend(analysis.false_reasons)
        self._expand_types(name, analysis)

    # -- enum / const ------------------------------------------------------------------------------
    def _expand_finite(self, name: str, node: SchemaNode, location: Location) -> None:
        schema = location.schema
        candidates = (
            list(schema["enum"]) if "enum" in schema and isinstance(schema["enum"], list) else []
        )
        if "const" in schema and location.draft != "4":
            candidates = [schema["const"]] if "enum" not in schema else candidates
        kept: dict[str, Any] = {}
        for value in candidates:
            if all(self.document.is_valid(value, loc) for loc, _ in node.items):
                kept.setdefault(canonical_json(value), value)
        if not kept:
            self.unsat_reasons.append(
                f"{location.pointer}: no value of enum/const satisfies the other keywords"
            )
        for value in kept.values():
            self.rule(name, self.literal_symbol(value))

    def literal_symbol(self, value: Any) -> str:
        """The symbol for exactly the JSON value ``value`` (any key order, any number spelling)."""
        key = canonical_json(value)
        found = self._literal_symbols.get(key)
        if found is not None:
            return found
        if value is None:
            found = self.keyword("null")
        elif value is True:
            found = self.keyword("true")
        elif value is False:
            found = self.keyword("false")
        elif isinstance(value, (int, float, Decimal)):
            bound = Bound(to_decimal(value))
            found = self.terminal(number_node(bound, bound), key=("num", key), name="num")
        elif isinstance(value, str):
            found = self.terminal(
                quoted(literal(value), canonical=self.canonical), key=("str", value), name="str"
            )
        elif isinstance(value, list):
            found = self.fresh("lit")
            if not value:
                self.rule(found, self.punct("["), self.punct("]"))
            else:
                symbols = [self.literal_symbol(item) for item in value]
                body = [symbols[0]]
                for symbol in symbols[1:]:
                    body += [self.punct(","), symbol]
                self.rule(found, self.punct("["), *body, self.punct("]"))
        elif isinstance(value, dict):
            plan = ObjectPlan(
                named=[(k, self.literal_symbol(v)) for k, v in value.items()],
                regions=[],
                required=list(value),
                pointer="const",
            )
            found = build_object(self, plan)
        else:
            raise TypeError(f"not a JSON value: {value!r}")
        self._literal_symbols[key] = found
        return found

    # -- anyOf / oneOf -----------------------------------------------------------------------------
    def _expand_groups(self, name: str, node: SchemaNode, flat: Flat) -> None:
        plain = [(loc, False) for loc in flat.plain]
        count = 1
        for group in flat.groups:
            count *= max(len(group.branches), 1)
        if count > self.options.max_alternatives:
            raise LimitExceededError(
                f"the number of anyOf/oneOf combinations at {node.items[0][0].pointer}",
                self.options.max_alternatives,
                hint="raise max_alternatives",
            )
        extra: dict[tuple[int, int], list[tuple[Location, bool]]] = {}
        restricted = restricts(node)
        for number, group in enumerate(flat.groups):
            if group.kind == "oneOf" and len(group.branches) > 1:
                check = check_one_of(self, plain, group)
                if check.problem is not None:
                    item = Unsupported("oneOf", f"{group.owner.pointer}/oneOf", check.problem)
                    self.report([item])
                for index, values in check.exclusions.items():
                    extra[number, index] = [(self._excluding(group, index, values), True)]
                if check.problem is None and check.language_kinds:
                    problem, without = enforce_exactly_one(self, name, node, check.language_kinds)
                    if without is None:
                        reason = f"{check.overlap}, and exactly-one cannot be made exact: {problem}"
                        self.report([Unsupported("oneOf", f"{group.owner.pointer}/oneOf", reason)])
                    else:
                        plain.append((without, True))  # those kinds are added above, exactly
                        restricted = True  # a branch left without types is no warning
        indexed = [list(enumerate(group.branches)) for group in flat.groups]
        for picked in itertools.product(*indexed):
            choice = [branch for _, branch in picked]
            exclusions = [
                item
                for number, (index, _) in enumerate(picked)
                for item in extra.get((number, index), ())
            ]
            alternative = self.symbol(
                plain + [(branch, True) for branch in choice] + exclusions
            )
            self.rule(name, alternative)
            description = " and ".join(
                f"{g.kind} branch {b.pointer}" for g, b in zip(flat.groups, choice)
            )
            if not restricted and not any(self.document.is_derived(g.owner) for g in flat.groups):
                self.branch_symbols.setdefault(alternative, description)
        if not all(group.branches for group in flat.groups):
            self.unsat_reasons.append(f"{node.items[0][0].pointer}: an empty anyOf/oneOf")

    def _excluding(self, group: Group, index: int, values: list[Any]) -> Location:
        """A subschema ``not: {enum: values}`` beside branch ``index`` of ``group``: the values a
        finite sibling branch also holds, which match two branches and so not the ``oneOf``."""
        owner = group.owner
        schema = {"not": {"enum": values}}
        self._synthetic.append(schema)  # a Location is keyed by id(): keep the dict alive
        pointer = f"{owner.pointer}/oneOf/{index}"
        return Location(schema, owner.resolver, owner.draft, pointer)

    # -- types -------------------------------------------------------------------------------------
    def _expand_types(self, name: str, analysis: Analysis) -> None:
        types = analysis.types
        if "null" in types:
            self.rule(name, self.keyword("null"))
        if "boolean" in types:
            for value in sorted(analysis.booleans, reverse=True):
                self.rule(name, self.keyword("true" if value else "false"))
        if "number" in types or "integer" in types:
            symbol = self.number_symbol(analysis)
            if symbol is not None:
                self.rule(name, symbol)
        if "string" in types:
            symbol = self.strings.string_symbol(analysis)
            if symbol is not None:
                self.rule(name, symbol)
        if "array" in types:
            symbol = build_array(self, analysis.array)
            if symbol is not None:
                self.rule(name, symbol)
        if "object" in types:
            plan = plan_object(self, analysis.object)
            if plan is not None:
                self.rule(name, build_object(self, plan))

    def number_symbol(self, analysis: Analysis) -> str | None:
        spec = analysis.number
        key = ("number", spec.key())
        if key in self._terminal_ids:
            return self._terminal_ids[key]
        if spec.not_multiples:  # ``not: {multipleOf}`` (schema.number_sets)
            symbol = number_set_symbol(self, spec, pointer=analysis.pointer)
            if symbol is None:
                self.unsat_reasons.append(f"{analysis.pointer}: no number passes (not) multipleOf")
                return None
            self._terminal_ids[key] = symbol
            return symbol
        modulus = integer_modulus([m for m, _ in spec.multiples])
        step = common_multiple([m for m, _ in spec.multiples])
        integral = spec.integer or (step is not None and step.denominator == 1)
        if integral:
            low, high = integer_bounds(spec.low, spec.high)
            ranges = _split_integers(low, high, spec.excluded)
            if modulus > 1:
                where = spec.multiples[0][1]
                symbol = integer_multiples(self, ranges, modulus, pointer=where)
                if symbol is None:
                    self.unsat_reasons.append(f"{analysis.pointer}: no multiple in the bounds")
                    return None
                self._terminal_ids[key] = symbol
                return symbol
            exact = low is not None or high is not None or bool(spec.excluded)
            node = alt(*(integer_node(a, b, float_exact=exact) for a, b in ranges))
        else:
            # A text with a fraction or exponent is read as a float64: its bounds hold both ways
            # (float_bounds). An integer literal is read exactly (Python, structgen validate).
            ranges = _split_decimals(spec.low, spec.high, spec.excluded)
            low, high = integer_bounds(spec.low, spec.high)
            literals = _split_integers(low, high, spec.excluded)
            node = alt(
                *(number_node(*float_safe_bounds(a, b)) for a, b in ranges),
                *(int_range(a, b) for a, b in literals),
            )
            if step is not None:  # a decimal multipleOf: plain notation (decimal_multiples)
                symbol = decimal_multiples(self, node, step, pointer=spec.multiples[0][1])
                if symbol is None:
                    self.unsat_reasons.append(f"{analysis.pointer}: no multiple in the bounds")
                    return None
                self._terminal_ids[key] = symbol
                return symbol
        if is_empty_language(node):
            self.unsat_reasons.append(f"{analysis.pointer}: no number satisfies the bounds")
            return None
        return self.terminal(node, key=key, name="int" if integral else "num")


def _split_integers(
    low: int | None, high: int | None, excluded: list[Decimal]
) -> list[tuple[int | None, int | None]]:
    """``low..high`` without the integers in ``excluded`` (from ``not: {enum}``), as ranges."""
    ranges: list[tuple[int | None, int | None]] = [(low, high)]
    for value in sorted({v for v in excluded if v == v.to_integral_value()}):
        point = int(value)
        following: list[tuple[int | None, int | None]] = []
        for a, b in ranges:
            if (a is not None and point < a) or (b is not None and point > b):
                following.append((a, b))
                continue
            following += [(a, point - 1), (point + 1, b)]
        ranges = [(a, b) for a, b in following if a is None or b is None or a <= b]
    return ranges


def _split_decimals(
    low: Bound | None, high: Bound | None, excluded: list[Decimal]
) -> list[tuple[Bound | None, Bound | None]]:
    """The range between ``low`` and ``high`` without the points in ``excluded``, as ranges."""
    ranges: list[tuple[Bound | None, Bound | None]] = [(low, high)]
    for value in sorted(set(excluded)):
        following: list[tuple[Bound | None, Bound | None]] = []
        for a, b in ranges:
            below = a is not None and (value < a.value or (value == a.value and a.exclusive))
            above = b is not None and (value > b.value or (value == b.value and b.exclusive))
            if below or above:
                following.append((a, b))
                continue
            following += [(a, Bound(value, True)), (Bound(value, True), b)]
        ranges = following
    return ranges
