"""Objects: property keys, their value schemas, and the order the members may come in.

**Keys.** Every property name a schema lists (``properties``, ``required``,
``dependentRequired``) is a *named* key with the conjunction of every schema that applies to it
(its ``properties`` entries, the ``patternProperties`` whose pattern it matches, and the
``additionalProperties`` of the subschemas that list neither). Unlisted keys are split into
*regions* by which patterns they match (decoded-string automata: ``∩`` of the matched patterns,
``∖`` the others and the named keys); a region whose schema is ``false`` is left out.
``propertyNames`` is checked on named keys with ``jsonschema`` and intersected with regions.

**Order** (``property_order="any"``). Members form a language over *moves* (one per named key
and one per region) recognised by a state machine whose state is the set of *tracked* keys
seen and, when ``minProperties``/``maxProperties`` need it, a member count. Tracking every named
key forbids repeating one; when ``2^keys`` states exceed ``max_object_states`` only the
required and dependent keys are tracked (optional keys may then repeat — a repeated key keeps
its last value in ``json.loads``, which still validates). When the only test on the keys seen is
``required`` (no member count, no conditions on which keys are present) and more than eight keys
are tracked, the machine is not written out: its rules are made for each set of keys seen when
the parser first reaches it (:mod:`structgen.key_set_rules`; a document visits ``n + 1`` of the
``2^n`` sets), with no limit. Otherwise, past the limit, the required keys must come in schema
order (with a warning). The machine becomes rules: ``R[q] → "}" | "," PAIR R[q']``,
with moves that keep the state folded into a left-recursive loop so long objects stay cheap.

Conditions on which keys are present are checked on the final states of that machine:
``required``, ``dependentRequired`` (and array-valued ``dependencies``), ``not: {required: […]}``
("not all of these") and ``oneOf`` whose branches only require keys ("exactly one of these key
sets"). They need their keys tracked; when the set of tracked keys is past
``max_object_states`` (and no member count is needed), the machine is a product of minimal
machines, one per group of keys the conditions tie together
(:mod:`structgen.schema.presence_classes`), in which a key asked only "present or not" may
come twice; past that too they are unsupported.

Keys of unlisted properties (regions) accept printable ASCII only as itself, the way
``json.dumps`` writes it, not as a ``\\u`` escape: the automaton that tells them apart from the
listed names stays small (listed keys and all values accept every escape).

Repeating an untracked key (an unlisted one, or an optional one when not every key is tracked)
is not prevented: ``json.loads`` keeps the last value, which validates like the others; only
with ``minProperties`` could a repeated key be counted twice (the one way the grammar can be
looser than the schema; JSON texts from ``json.dumps`` never repeat a key).
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from dataclasses import dataclass, field

from structgen.errors import LimitExceededError
from structgen.key_set_rules import KeySetRules
from structgen.regex.ast import Node
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.ecma import PatternUnsupported
from structgen.regex.nodes import NOTHING, literal
from structgen.schema.builder import SchemaBuilder
from structgen.schema.conditions import All, Formula, atoms_of, evaluator
from structgen.schema.errors import Unsupported
from structgen.schema.normalize import ObjectSpec, analyze, flatten, make_node
from structgen.schema.object_conditions import (
    ObjectConditions,
    key_in,
    plan_conditions,
    value_classes,
)
from structgen.schema.other_keys import key_close
from structgen.schema.presence_classes import Conjunct, class_machine
from structgen.schema.strings import StringLanguage, all_strings_except

__all__ = ["ObjectPlan", "build_object", "plan_object"]

_MAX_PATTERN_REGIONS = 6
# A pattern that matches one key only, ``^name$`` (protobuf's JSON Schemas list each field's
# original name this way): its regions need no automaton.
_LITERAL_PATTERN = re.compile(r"\^([A-Za-z0-9_]+)\$")


def _literal_of(pattern: str) -> str | None:
    """The one key that ``pattern`` matches (ECMA-262, unanchored search), if it is that plain."""
    found = _LITERAL_PATTERN.fullmatch(pattern)
    return None if found is None else found.group(1)


@dataclass
class ObjectPlan:
    """``named``: (key, value symbol) in schema order (a key once per value class when
    ``conditions`` split its values); ``regions``: (key symbol, value symbol); ``named_marks``
    and ``region_marks`` (parallel to them, or empty): the atoms of ``conditions`` that each
    member sets."""

    named: list[tuple[str, str]]
    regions: list[tuple[str, str]]
    required: list[str]
    min_properties: int = 0
    max_properties: int | None = None
    dependent_required: dict[str, list[str]] = field(default_factory=dict)
    forbidden_together: list[list[str]] = field(default_factory=list)
    exactly_one: list[list[tuple]] = field(default_factory=list)
    pointer: str = "#"
    conditions: ObjectConditions = field(default_factory=ObjectConditions)
    named_marks: list[frozenset[int]] = field(default_factory=list)
    region_marks: list[frozenset[int]] = field(default_factory=list)


def plan_object(builder: SchemaBuilder, spec: ObjectSpec) -> ObjectPlan | None:
    """Keys and value symbols of an object schema (``None``: no object satisfies it)."""
    document, options = builder.document, builder.options
    owners = spec.owners
    # Named keys in schema order.
    names: list[str] = []
    for owner in owners:
        names.extend(n for n in owner.properties if n not in names)
    names.extend(n for n in spec.required if n not in names)
    for key, needed in spec.dependent_required.items():
        names.extend(n for n in [key, *needed] if n not in names)
    for group in spec.forbidden_together:  # from ``not: {required: [...]}``
        names.extend(n for n in group if n not in names)
    for branches in spec.exactly_one:  # from ``oneOf`` of ``required``s
        for required, forbidden_sets in branches:
            names.extend(
                n for n in [*required, *(m for f in forbidden_sets for m in f)] if n not in names
            )
    conditions = plan_conditions(
        builder, spec, lambda location: _schema_as_string_language(builder, location)
    )
    if conditions.formula is False:
        builder.unsatisfiable(f"{spec.pointer}: its conditions on keys never hold")
        return None
    names.extend(n for n in conditions.names if n not in names)
    # Pattern languages (decoded strings that contain a match).
    patterns: list[tuple[str, Node, object, object]] = []  # (pattern, language, location, owner)
    for owner in owners:
        for pattern, location in owner.patterns:
            try:
                language = builder.pattern_node(pattern, location.pointer)
            except PatternUnsupported as error:
                builder.report(
                    [Unsupported("patternProperties", location.pointer, f"{pattern!r}: {error}")]
                )
                continue
            patterns.append((pattern, language, location, owner))

    def dfa_of(index: int, complement: bool = False) -> CodePointDFA:
        return builder.pattern_dfa(
            patterns[index][0], patterns[index][2].pointer, complement=complement
        )

    literals = [_literal_of(pattern) for pattern, _, _, _ in patterns]

    def matches(index: int, name: str) -> bool:
        key = literals[index]
        return name == key if key is not None else dfa_of(index).accepts(name)

    forbid_unlisted = not options.additional_properties_default and spec.closed_by_default()
    # propertyNames: named keys checked exactly; regions intersected with its string language.
    names_language = _property_names_language(builder, spec)
    named: list[tuple[str, str]] = []
    named_marks: list[frozenset[int]] = []
    forbidden: set[str] = {group[0] for group in spec.forbidden_together if len(set(group)) == 1}
    for name in names:
        if name in forbidden:
            continue
        items = []
        for owner in owners:
            if name in owner.properties:
                items.append((owner.properties[name], True))
                continue
            matched = False
            for index, (_, _, location, pattern_owner) in enumerate(patterns):
                if pattern_owner is owner and matches(index, name):
                    items.append((location, True))
                    matched = True
            if not matched and owner.additional is not None:
                items.append((owner.additional, True))
        # Patterns of owners that list the name still apply to it.
        for index, (_, _, location, pattern_owner) in enumerate(patterns):
            if name in pattern_owner.properties and matches(index, name):
                items.append((location, True))
        if spec.property_names and not all(
            document.is_valid(name, loc) for loc in spec.property_names
        ):
            forbidden.add(name)
            continue
        node = make_node(items)
        if flatten(document, node).false_at is not None:
            forbidden.add(name)
            continue
        if not conditions:
            named.append((name, builder.symbol(items)))
            continue
        atoms = [(i, a) for i, a in enumerate(conditions.atoms) if key_in(builder, a.keys, name)]
        for class_items, marks in value_classes(builder, items, atoms, spec.pointer):
            named.append((name, builder.symbol(class_items)))
            named_marks.append(marks)
    for name in spec.required:
        if name in forbidden:
            builder.unsatisfiable(f"{spec.pointer}: required property {name!r} is forbidden")
            return None
    splitters = [(None, None, None, None)] * len(conditions.splitters)
    split_dfas = [automaton for _, automaton in conditions.splitters]

    def region_dfa(index: int, complement: bool = False) -> CodePointDFA:
        if index < len(patterns):
            return dfa_of(index, complement)
        automaton = split_dfas[index - len(patterns)]
        return automaton.complement().minimized() if complement else automaton

    regions: list[tuple[str, str]] = []
    region_marks: list[frozenset[int]] = []
    for key_symbol, items, chosen in _regions(
        builder, spec, names, patterns + splitters, region_dfa, names_language,
        forbid_unlisted, literals + [None] * len(splitters),
    ):  # fmt: skip
        if not conditions:
            regions.append((key_symbol, builder.symbol(items)))
            continue
        inside = {conditions.splitters[i - len(patterns)][0] for i in chosen if i >= len(patterns)}
        atoms = [(i, a) for i, a in enumerate(conditions.atoms) if a.keys in inside]
        for class_items, marks in value_classes(builder, items, atoms, spec.pointer):
            regions.append((key_symbol, builder.symbol(class_items)))
            region_marks.append(marks)
    return ObjectPlan(
        named=named,
        regions=regions,
        required=list(spec.required),
        min_properties=spec.min_properties,
        max_properties=spec.max_properties,
        dependent_required={k: [n for n in v] for k, v in spec.dependent_required.items()},
        # A group with a forbidden key can never be complete: nothing to prevent.
        forbidden_together=[
            sorted(set(g))
            for g in spec.forbidden_together
            if len(set(g)) > 1 and not set(g) & forbidden
        ],
        exactly_one=spec.exactly_one,
        pointer=spec.pointer,
        conditions=conditions,
        named_marks=named_marks,
        region_marks=region_marks,
    )


def _property_names_language(builder: SchemaBuilder, spec: ObjectSpec) -> CodePointDFA | None:
    """The decoded key language that ``propertyNames`` allow (None: unconstrained)."""
    if not spec.property_names:
        return None
    options = builder.options
    result: CodePointDFA | None = None
    for location in spec.property_names:
        language = _schema_as_string_language(builder, location)
        if language is None:
            continue
        result = (
            language
            if result is None
            else result.intersect(language, max_states=options.max_regex_states)
        )
    return result


def _schema_as_string_language(builder: SchemaBuilder, location) -> CodePointDFA | None:
    """A subschema applied to property names, as a language of decoded strings."""
    document, options = builder.document, builder.options
    node = make_node([(location, True)])
    flat = flatten(document, node)
    if flat.false_at is not None:
        return CodePointDFA.from_node(NOTHING)
    enum_location = flat.enum_location()
    if flat.groups or enum_location is not None:
        if enum_location is not None and not flat.groups:
            schema = enum_location.schema
            values = schema["enum"] if "enum" in schema else [schema["const"]]
            strings = [v for v in values if isinstance(v, str) and document.is_valid(v, location)]
            return CodePointDFA.from_strings(strings, max_states=options.max_regex_states)
        builder.report(
            [
                Unsupported(
                    "propertyNames",
                    location.pointer,
                    "only string keywords and enum/const are supported here",
                )
            ]
        )
        return None
    analysis = analyze(document, flat.plain, formats=options.formats != "annotation")
    builder.report(analysis.unsupported)
    if "string" not in analysis.types:
        return CodePointDFA.from_node(NOTHING)
    spec = analysis.string
    language = builder.decoded_string_of(spec, pointer=location.pointer)
    if language is None:
        return CodePointDFA.from_node(NOTHING)
    if language.dfa is not None:
        return language.dfa
    return CodePointDFA.from_node(language.node, max_states=options.max_regex_states)


def _regions(
    builder: SchemaBuilder,
    spec,
    names,
    patterns,
    dfa_of,
    names_language,
    forbid_unlisted,
    literals: list[str | None],
) -> list[tuple[str, list, tuple[int, ...]]]:
    """(key symbol, value items, chosen patterns) for the keys no schema lists, split by the
    patterns they match (an entry without an owner only splits: a condition's key language)."""
    options = builder.options
    max_states = options.max_regex_states
    if len(patterns) > _MAX_PATTERN_REGIONS:
        builder.report(
            [
                Unsupported(
                    "patternProperties",
                    spec.pointer,
                    f"more than {_MAX_PATTERN_REGIONS} patterns in one object",
                )
            ]
        )
        return []
    out: list[tuple[str, list, tuple[int, ...]]] = []
    # The keys matching every chosen pattern, per subset (None: no key does), built from the
    # subset without its last pattern: a region whose chosen patterns already exclude each
    # other (``^a$`` and ``^b$``) is empty, and so is every larger one holding them.
    together: dict[tuple[int, ...], CodePointDFA | None] = {}
    # The keys matching the patterns ``i`` with ``flags[i]`` False and none of those with it
    # True, by the flags of the first patterns: subsets share their prefixes' intersections.
    prefixes: dict[tuple[bool, ...], CodePointDFA] = {}

    def matching_all(subset: tuple[int, ...]) -> CodePointDFA | None:
        if subset in together:
            return together[subset]
        result: CodePointDFA | None = dfa_of(subset[-1])
        if len(subset) > 1:
            before = matching_all(subset[:-1])
            result = None if before is None else before.intersect(result, max_states=max_states)
        if result is not None and not result.accepting.any():
            result = None
        together[subset] = result
        return result

    literal_keys = bool(patterns) and names_language is None and None not in literals
    for size in range(len(patterns) + 1):
        for subset in itertools.combinations(range(len(patterns)), size):
            chosen = set(subset)
            items = [(patterns[i][2], True) for i in chosen if patterns[i][3] is not None]
            for owner in spec.owners:
                owner_patterns = {i for i, p in enumerate(patterns) if p[3] is owner}
                if not (owner_patterns & chosen) and owner.additional is not None:
                    items.append((owner.additional, True))
            if forbid_unlisted and all(patterns[i][3] is None for i in chosen):
                continue
            node = make_node(items)
            if flatten(builder.document, node).false_at is not None:
                continue
            if literal_keys:
                region = _literal_region(builder, subset, names, literals)
                if region is not None:
                    out.append((region, items, subset))
                continue
            if size > 1 and matching_all(subset) is None:
                continue  # no key matches all the chosen patterns
            # The key language of this region.
            if not patterns and names_language is None:
                key_node = all_strings_except(names)
                key_symbol = builder.key_terminal(key_node, canonical=True)
            else:
                automaton: CodePointDFA | None = None
                flags: tuple[bool, ...] = ()
                for i in range(len(patterns)):
                    flags += (i not in chosen,)
                    known = prefixes.get(flags)
                    if known is None:
                        piece = dfa_of(i, complement=flags[-1])
                        known = prefixes[flags] = (
                            piece
                            if automaton is None
                            else automaton.intersect(piece, max_states=max_states)
                        )
                    automaton = known
                if automaton is None:
                    automaton = CodePointDFA.everything()
                if names_language is not None:
                    automaton = automaton.intersect(names_language, max_states=max_states)
                relevant = [n for n in names if automaton.accepts(n)]
                if relevant:
                    excluded = CodePointDFA.from_strings(relevant, max_states=max_states)
                    automaton = automaton.difference(excluded, max_states=max_states)
                automaton = automaton.minimized()
                if not automaton.accepting.any():
                    continue
                if (
                    size == 1 and not relevant and names_language is None and len(patterns) == 1
                    and patterns[0][1] is not None
                ):  # fmt: skip
                    language = StringLanguage(node=patterns[subset[0]][1])
                else:
                    language = StringLanguage(dfa=automaton)
                key_symbol = builder.string_from_language(
                    language,
                    close=key_close(builder.ws),
                    name="key",
                    canonical=True,
                )
            out.append((key_symbol, items, subset))
    return out


def _literal_region(
    builder: SchemaBuilder, subset: tuple[int, ...], names: list[str], literals: list[str | None]
) -> str | None:
    """The key symbol of the region of ``subset`` when every pattern is a literal key (None:
    no key is in it): the keys matching exactly the chosen patterns and no listed name."""
    close = key_close(builder.ws)
    if not subset:  # keys that match no pattern and are not listed
        excluded = list(dict.fromkeys([*names, *(key for key in literals if key is not None)]))
        return builder.key_terminal(all_strings_except(excluded), canonical=True)
    chosen = {literals[i] for i in subset}
    key = literals[subset[0]]
    if len(chosen) > 1 or key is None or key in names:
        return None  # two different keys at once, or a listed name (not in a region)
    if any(literals[i] == key for i in range(len(literals)) if i not in subset):
        return None  # an unchosen pattern matches it too: it belongs to a larger subset
    language = StringLanguage(node=literal(key))
    return builder.string_from_language(language, close=close, name="key", canonical=True)


# -- the member state machine ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Move:
    pair: str  # the PAIR symbol
    key: str | None  # a named key, or None for a region
    atoms: frozenset[int] = frozenset()  # the condition atoms it sets


def build_object(builder: SchemaBuilder, plan: ObjectPlan) -> str:
    """The nonterminal of objects following ``plan``."""
    pairs: list[_Move] = []
    for index, (name, value) in enumerate(plan.named):
        pair = builder.fresh("pair")
        builder.rule(pair, builder.key_terminal(literal(name)), value)
        marks = plan.named_marks[index] if plan.named_marks else frozenset()
        pairs.append(_Move(pair, name, marks))
    for index, (key_symbol, value) in enumerate(plan.regions):
        pair = builder.fresh("pair")
        builder.rule(pair, key_symbol, value)
        marks = plan.region_marks[index] if plan.region_marks else frozenset()
        pairs.append(_Move(pair, None, marks))
    available = {m.key for m in pairs if m.key is not None}
    required = [n for n in plan.required if n in available]
    if len(required) < len(plan.required):
        # A required key without an allowed value: already reported by plan_object; no objects.
        return builder.fresh("obj_unsat")
    machine = _machine(builder, plan, pairs, required)
    if isinstance(machine, _LazyMachine):
        return _emit_lazy(builder, pairs, machine.tracked, required)
    return _emit(builder, machine)


@dataclass
class _Machine:
    start: tuple
    transitions: dict[tuple, list[tuple[_Move, tuple]]]
    final: set[tuple]


@dataclass(frozen=True)
class _LazyMachine:
    """A set machine over ``tracked`` keys (required ones before ``}``) whose rules are made
    as the parser reaches its states (:mod:`structgen.key_set_rules`)."""

    tracked: list[str]


LAZY_PAST_STATES = 256
"""A set machine of more key sets than this (eight keys) whose final test is only "every
required key seen" is made on demand (:class:`_LazyMachine`): writing out ``2^n`` states' rules
took most of the compile of "any order" objects of 9–12 keys, and past ``max_object_states``
the required keys had to keep schema order."""


def _machine(
    builder: SchemaBuilder,
    plan: ObjectPlan,
    moves: list[_Move],
    required: list[str],
    *,
    classes: bool = True,
) -> _Machine:
    """The member machine (``classes``: past the set machine's limit, try the product of
    minimal per-group machines before giving up on tracking the keys seen)."""
    options = builder.options
    limit = options.max_object_states
    named = list(dict.fromkeys(m.key for m in moves if m.key is not None))
    condition = plan.conditions
    atoms = condition.atoms if condition else []
    # An atom "key k is present" is k's bit; every other atom has a flag bit of its own.
    presence_atoms = {
        i: a.keys.name for i, a in enumerate(atoms) if a.keys.kind == "name" and a.value is None
    }
    flag_atoms = [i for i in range(len(atoms)) if i not in presence_atoms]
    flags = 1 << len(flag_atoms)
    dependent = {
        k: [n for n in v if n in named] for k, v in plan.dependent_required.items() if k in named
    }
    minimum, maximum = plan.min_properties, plan.max_properties
    has_regions = any(m.key is None for m in moves)

    # Counting is needed unless the tracked keys already imply the bounds.
    def needs_count(tracked_all: bool) -> bool:
        need_max = maximum is not None and (has_regions or not tracked_all or maximum < len(named))
        return minimum > len(required) or need_max

    def counts(tracked_all: bool) -> int:
        if not needs_count(tracked_all):
            return 1
        return maximum + 1 if maximum is not None else minimum + 1

    together = [group for group in plan.forbidden_together if set(group) <= set(named)]
    allowed = set(named)
    # A branch needing a key that cannot appear never holds; one forbidding a set with such a
    # key never fails on it.
    exactly_one = [
        [
            (set(required), [set(f) for f in forbidden_sets if set(f) <= allowed])
            for required, forbidden_sets in branches
            if set(required) <= allowed
        ]
        for branches in plan.exactly_one
    ]
    presence_keys = {
        n for branches in exactly_one for r, fs in branches for n in r | {m for f in fs for m in f}
    }
    dependent_keys = set(dependent) | {n for v in dependent.values() for n in v}
    dependent_keys |= {n for group in together for n in group} | presence_keys
    dependent_keys |= {a.keys.name for a in atoms if a.keys.kind == "name"}
    # Conditions on which keys are present need the set of keys seen; schema order does not
    # track it, so such objects take the any-order machine (a superset of schema order).
    presence_conditions = bool(dependent or together or exactly_one or condition)
    # Made on demand when the final test is "every required key seen" alone: the keys the
    # machine written out would track (every named key within the limit, else the required).
    lazy_tracked = None
    if (
        not presence_conditions
        and not flag_atoms
        and len(named) == sum(1 for m in moves if m.key is not None)  # (one move per key)
    ):
        if (1 << len(named)) <= limit:
            lazy_tracked = None if needs_count(True) else named
        elif not needs_count(False):
            lazy_tracked = [n for n in named if n in set(required)]
    if options.property_order == "schema" and not presence_conditions:
        mode = "schema"
        tracked: list[str] = []
    elif lazy_tracked is not None and (1 << len(lazy_tracked)) > LAZY_PAST_STATES:
        return _LazyMachine(lazy_tracked)
    elif (1 << len(named)) * flags * counts(True) <= limit:
        mode, tracked = "set", named
    else:
        tracked = [n for n in named if n in set(required) | dependent_keys]
        if (1 << len(tracked)) * flags * counts(False) <= limit:
            mode = "set"
        elif classes and presence_conditions and not needs_count(False):
            mode = "classes"  # minimal machines per group of keys (schema.presence_classes)
        elif condition:
            raise LimitExceededError(
                f"the member states of the object at {plan.pointer} (its keys "
                f"{', '.join(map(repr, tracked[:8]))} and {len(flag_atoms)} conditions tracked)",
                limit,
                hint="raise max_object_states",
            )
        else:
            mode = "ordered"
            required = sorted(
                required, key=named.index
            )  # the order of ``properties``, as generators write
            builder.warn(
                f"object at {plan.pointer}: {len(tracked)} required properties are too many "
                "to track in any order "
                f"(max_object_states={limit}); they must come in the order of 'properties'"
            )
    keyed = mode in ("set", "classes")  # the state holds the set of tracked keys seen
    if not keyed and (dependent or together or exactly_one):
        keyword = "dependentRequired" if dependent else "not" if together else "oneOf"
        builder.report(
            [
                Unsupported(
                    keyword,
                    plan.pointer,
                    "needs the set of keys seen, which this object has too many keys to track",
                )
            ]
        )
    # With every key tracked and no regions, the member count is the size of the set.
    derived = mode == "set" and tracked == named and not has_regions and not flag_atoms
    counting = not derived and needs_count(mode == "set" and tracked == named)
    required_set = set(required)
    index_of = {name: i for i, name in enumerate(named)}
    # Set mode: the keys seen are a bit set over ``tracked`` (bit i: tracked[i] was seen).
    bit = {name: 1 << i for i, name in enumerate(tracked)}
    atom_bit = {i: bit.get(name, 0) for i, name in presence_atoms.items()}
    atom_bit.update({i: 1 << (len(tracked) + j) for j, i in enumerate(flag_atoms)})
    holds = evaluator(condition.formula, lambda atom: atom_bit[atoms.index(atom)])

    def bits(names) -> int:
        out = 0
        for name in names:
            out |= bit[name]
        return out

    required_bits = bits(required) if keyed else 0
    together_bits = [bits(group) for group in together] if keyed else []
    exactly_one_bits = (
        [[(bits(r), [bits(f) for f in fs]) for r, fs in branches] for branches in exactly_one]
        if keyed
        else []
    )
    dependent_bits = [(bit[k], bits(v)) for k, v in dependent.items()] if keyed else []

    def bump(count: int) -> int | None:
        if not counting:
            return 0
        following = count + 1
        if maximum is not None:
            return following if following <= maximum else None
        return min(following, minimum)

    def is_final(state: tuple) -> bool:
        seen, count = state[0], state[1]
        if (counting and count < minimum) or (derived and seen.bit_count() < minimum):
            return False
        if mode == "set":
            if required_bits & ~seen or any(group & ~seen == 0 for group in together_bits):
                return False
            for branches in exactly_one_bits:
                holding = sum(
                    1
                    for r, fs in branches
                    if r & ~seen == 0 and not any(f & ~seen == 0 for f in fs)
                )
                if holding != 1:
                    return False
            if not holds(seen):
                return False
            return all(not (seen & k) or v & ~seen == 0 for k, v in dependent_bits)
        if mode == "ordered":
            return seen >= len(required)
        # schema order: no required key left at or after the position
        return all(index_of[n] < seen for n in required)

    # Set mode: each move's bit (0: the move keeps the set as it is), and the flags it sets.
    move_bits = [bit.get(move.key, 0) if move.key is not None else 0 for move in moves]
    move_flags = [sum(atom_bit[i] for i in move.atoms if i not in presence_atoms) for move in moves]

    def successors(state: tuple) -> list[tuple[_Move, tuple]]:
        seen, count = state[0], state[1]
        following = bump(count)
        if following is None or (derived and maximum is not None and seen.bit_count() >= maximum):
            return []
        out = []
        if mode == "set":
            for move, move_bit, flag in zip(moves, move_bits, move_flags):
                if move_bit & seen:
                    continue
                out.append((move, (seen | move_bit | flag, following)))
            return out
        for move in moves:
            if mode == "ordered":
                if move.key is not None and move.key in required_set:
                    if seen < len(required) and required[seen] == move.key:
                        out.append((move, (seen + 1, following)))
                else:
                    out.append((move, (seen, following)))
            else:  # schema order: position = index of the next named key that may come
                if move.key is not None:
                    position = index_of[move.key]
                    skipped = named[seen:position]
                    if position >= seen and not (set(skipped) & required_set):
                        out.append((move, (position + 1, following)))
                elif not (set(named[seen:]) & required_set):
                    out.append((move, (len(named), following)))
        return out

    if mode == "classes":
        conjuncts = _conjuncts(
            [bit[n] for n in required],
            together_bits,
            exactly_one_bits,
            dependent_bits,
            condition.formula,
            lambda atom: atom_bit[atoms.index(atom)],
        )
        strict_keys = {m.key for m, f in zip(moves, move_flags) if f and m.key is not None}
        letters = [
            (move_bit | flag, move_bit if move.key in strict_keys else 0)
            for move, move_bit, flag in zip(moves, move_bits, move_flags)
        ]
        try:
            found = class_machine(conjuncts, letters, limit=limit, pointer=plan.pointer)
        except LimitExceededError:
            if condition:
                raise
            # Only dependentRequired / not-required / oneOf-of-required: the keys in schema
            # order, reported as before.
            return _machine(builder, plan, moves, required, classes=False)
        transitions = {
            state: [(moves[i], target) for i, target in edges]
            for state, edges in found.transitions.items()
        }
        return _Machine(found.start, transitions, found.final)
    bound = max(limit, 4 * len(moves) + 16)
    if mode == "set" and not counting:
        return _set_machine(
            moves, move_bits, move_flags, plan.pointer, limit, bound, is_final, maximum, derived
        )
    start = (0, 0)
    transitions: dict[tuple, list] = {}
    queue = deque([start])
    seen_states = {start}
    while queue:
        state = queue.popleft()
        transitions[state] = edges = successors(state)
        for _, target in edges:
            if target not in seen_states:
                seen_states.add(target)
                if len(seen_states) > bound:
                    raise LimitExceededError(
                        f"the member states of the object at {plan.pointer}", limit,
                        hint="raise max_object_states, or use property_order='schema'",
                    )  # fmt: skip
                queue.append(target)
    final = {s for s in transitions if is_final(s)}
    return _Machine(start, transitions, final)


def _conjuncts(
    required: list[int],
    together: list[int],
    exactly_one: list[list[tuple[int, list[int]]]],
    dependent: list[tuple[int, int]],
    formula: Formula,
    bit_of,
) -> list[Conjunct]:
    """The final test of a set-mode machine as conjuncts, each with the bits it reads."""
    out = [Conjunct(b, lambda seen, b=b: bool(seen & b)) for b in required]
    out += [Conjunct(g, lambda seen, g=g: bool(g & ~seen)) for g in together]
    for branches in exactly_one:
        mask = 0
        for r, fs in branches:
            mask |= r
            for f in fs:
                mask |= f

        def one(seen: int, branches=branches) -> bool:
            holding = 0
            for r, fs in branches:
                if r & ~seen == 0 and not any(f & ~seen == 0 for f in fs):
                    holding += 1
            return holding == 1

        out.append(Conjunct(mask, one))
    out += [
        Conjunct(k | v, lambda seen, k=k, v=v: not (seen & k) or v & ~seen == 0)
        for k, v in dependent
    ]
    parts = formula.parts if isinstance(formula, All) else (formula,)
    for part in parts:
        if part is True:
            continue
        mask = 0
        for atom in atoms_of(part):
            mask |= bit_of(atom)
        out.append(Conjunct(mask, evaluator(part, bit_of)))
    return out


def _set_machine(
    moves: list[_Move],
    move_bits: list[int],
    move_flags: list[int],
    pointer: str,
    limit: int,
    bound: int,
    is_final,
    maximum: int | None,
    derived: bool,
) -> _Machine:
    """The set-mode machine without a member count: a state is the bit set of the tracked keys
    seen (the same states, edges and breadth-first order as the general case, as plain ints)."""
    pairs = list(zip(moves, move_bits, move_flags))
    capped = derived and maximum is not None
    transitions: dict[int, list[tuple[_Move, int]]] = {}
    queue = deque([0])
    known = {0}
    while queue:
        seen = queue.popleft()
        edges: list[tuple[_Move, int]] = []
        transitions[seen] = edges
        if capped and seen.bit_count() >= maximum:  # type: ignore[operator]
            continue
        for move, move_bit, flag in pairs:
            if seen & move_bit:
                continue
            target = seen | move_bit | flag
            if target == seen:
                edges.append((move, seen))
                continue
            edges.append((move, target))
            if target not in known:
                known.add(target)
                if len(known) > bound:
                    raise LimitExceededError(
                        f"the member states of the object at {pointer}", limit,
                        hint="raise max_object_states, or use property_order='schema'",
                    )  # fmt: skip
                queue.append(target)
    final = {state for state in transitions if is_final((state, 0))}
    return _Machine(0, transitions, final)  # type: ignore[arg-type]


def _emit_lazy(
    builder: SchemaBuilder, moves: list[_Move], tracked: list[str], required: list[str]
) -> str:
    """An object read through :class:`~structgen.key_set_rules.KeySetRules`: ``{`` then the
    members, every tracked key at most once and every required one before ``}``; untracked
    moves (regions) anywhere, any number of times."""
    obj = builder.fresh("obj")
    lbrace, rbrace, comma = builder.punct("{"), builder.punct("}"), builder.punct(",")
    bit = {name: 1 << i for i, name in enumerate(tracked)}
    bits = tuple(bit.get(move.key, 0) if move.key is not None else 0 for move in moves)
    required_bits = 0
    for name in required:
        required_bits |= bit[name]
    untracked = sorted({move.pair for move, b in zip(moves, bits) if not b})
    loop = None
    if untracked:
        loop = builder.fresh("loop")
        for pair in untracked:
            builder.add_rules([(loop, (comma, pair)), (loop, (loop, comma, pair))])
    root = builder.fresh("members")
    source = KeySetRules(
        root, tuple(move.pair for move in moves), bits, required_bits, comma, rbrace, loop
    )
    # While the grammar is pruned, the root stands for: every required pair (it derives a
    # document only if each of them does), and each other pair or the loop (reached, if so).
    needed = tuple(move.pair for move, b in zip(moves, bits) if b & required_bits)
    others = [move.pair for move, b in zip(moves, bits) if b and not b & required_bits]
    if loop is not None:
        others.append(loop)
    placeholders = [(rbrace, comma, *needed)]
    placeholders += [(rbrace, comma, *needed, other) for other in others]
    builder.add_lazy(source, placeholders)
    builder.rule(obj, lbrace, root)
    return obj


def _emit(builder: SchemaBuilder, machine: _Machine) -> str:
    """The rules of an object read through ``machine`` (one nonterminal per state; a set
    machine of twelve keys has ~30k rules: collected as tuples and added in one call)."""
    obj = builder.fresh("obj")
    lbrace, rbrace, comma = builder.punct("{"), builder.punct("}"), builder.punct(",")
    fresh, final = builder.fresh, machine.final
    names = {state: fresh("r") for state in machine.transitions}
    loops: dict[frozenset, str] = {}
    rules: list[tuple[str, tuple[str, ...]]] = []
    add = rules.append
    if machine.start in final:
        add((obj, (lbrace, rbrace)))
    for move, target in machine.transitions[machine.start]:
        add((obj, (lbrace, move.pair, names[target])))
    for state, edges in machine.transitions.items():
        rest = names[state]
        looping = frozenset([move.pair for move, target in edges if target == state])
        body = rest
        if looping:
            loop = loops.get(looping)
            if loop is None:
                loop = loops[looping] = fresh("loop")
                for pair in sorted(looping):
                    add((loop, (comma, pair)))
                    add((loop, (loop, comma, pair)))
            body = fresh("r")
            add((rest, (loop, body)))
            add((rest, (body,)))
        if state in final:
            add((body, (rbrace,)))
        for move, target in edges:
            if target != state:
                add((body, (comma, move.pair, names[target])))
    builder.add_rules(rules)
    return obj
