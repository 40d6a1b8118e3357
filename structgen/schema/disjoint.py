"""Proofs that ``oneOf`` branches cannot both match, so ``oneOf`` may be compiled as ``anyOf``.

``oneOf`` is exact as a union only when no value satisfies two branches. The checks, each sound
(a "disjoint" answer is always right; "unknown" makes ``oneOf`` unsupported):

- no JSON type in common (``integer`` is inside ``number``);
- a finite branch (``enum``/``const``) none of whose values validates the other branch
  (``jsonschema`` decides, against the other branch's own subschemas: the schema around the
  ``oneOf`` holds the ``oneOf`` itself, which a shared value fails);
- numbers: ranges that do not meet; strings: languages whose automata do not intersect;
- objects: a key required by one branch that the other forbids or allows only with values
  disjoint from the first branch's (a discriminator); ranges of ``minProperties``/
  ``maxProperties`` apart;
- arrays: length ranges apart, or a position both require with disjoint items.

Branches are compared together with the schema around the ``oneOf`` (its siblings), which can
only make them more disjoint. Two branches that may overlap are compared again per JSON type:
on null, booleans, numbers and strings the compiler then builds exactly-one as a language
(:mod:`structgen.schema.exactly_one`); on objects per connected group of branches that may
overlap, when within the group which branch holds depends only on the key set
(:mod:`structgen.schema.key_sets`); on objects and arrays when two branches take every value of
that type (then none holds exactly one branch); any other overlap is refused. A
``oneOf`` whose branches only require keys is not a union at all: objects enforce "exactly one
branch holds" on the keys seen (:mod:`structgen.schema.objects`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from structgen.errors import LimitExceededError
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.ecma import PatternUnsupported
from structgen.regex.nodes import NOTHING
from structgen.schema.builder import SchemaBuilder
from structgen.schema.errors import SchemaError
from structgen.schema.exactly_one import SCALAR_KINDS, kind_location
from structgen.schema.key_sets import key_set_schema
from structgen.schema.normalize import (
    Analysis,
    Flat,
    Group,
    SchemaNode,
    analyze,
    flatten,
    make_node,
)
from structgen.schema.numbers import integer_bounds
from structgen.schema.refs import Location

__all__ = ["OneOfCheck", "check_one_of", "disjoint"]

_MAX_DEPTH = 4
_MAX_EXPANSION = 64
_KINDS = ("null", "boolean", "number", "string", "object", "array")


@dataclass
class OneOfCheck:
    """What compiling a ``oneOf`` as a union needs: ``problem`` (why it cannot, or ``None``) and,
    per branch index, values of finite sibling branches it also matches, to exclude from it;
    ``language_kinds``: the JSON types on which branches overlap, where exactly-one is computed
    as a language instead (:mod:`structgen.schema.exactly_one`): scalars (``None``), objects or
    arrays that two branches take all of (``None``: none holds exactly one branch), and objects
    as alternatives, each a conjunction of subschemas (see :func:`_objects_exactly_one`)."""

    problem: str | None = None
    exclusions: dict[int, list[Any]] = field(default_factory=dict)
    language_kinds: dict[str, Any] = field(default_factory=dict)
    overlap: str = ""  # the first two branches that may both match, for messages


def check_one_of(builder: SchemaBuilder, plain: list, group: Group) -> OneOfCheck:
    """How ``group`` becomes exact as a union of its branches.

    A finite branch (``enum``/``const``) never needs a proof: its values are filtered by the
    whole schema (so a value two branches match is dropped there), and the values it shares
    with another branch are excluded from that branch (``not: {enum}``). Every other two
    branches must be provably disjoint.
    """
    nodes = [make_node(plain + [(branch, True)]) for branch in group.branches]
    finite = [_finite_values(builder, node) for node in nodes]
    check = OneOfCheck()
    object_pairs: list[tuple[int, int]] = []  # branches that may both match as objects
    arrays_meet = False  # two branches may both match an array (the empty one only)
    for (i, a), (j, b) in itertools.combinations(enumerate(nodes), 2):
        if finite[i] is None and finite[j] is None:
            if disjoint(builder, a, b, 0):
                continue
            kinds = {
                kind
                for kind in _KINDS
                if not disjoint(builder, _of_kind(builder, a, kind), _of_kind(builder, b, kind), 0)
            }
            structured = [
                kind
                for kind in _KINDS
                if kind in kinds - set(SCALAR_KINDS)
                and sum(_takes_all(builder, branch, kind) for branch in group.branches) < 2
            ]
            found: dict[str, Any] = dict.fromkeys(kinds)
            if "object" in structured:
                object_pairs.append((i, j))
                found.pop("object")  # built from every such pair below
                structured.remove("object")
            if "array" in structured and _meet_only_empty(builder, a, b):
                arrays_meet = True
                found.pop("array")  # built below
                structured.remove("array")
            if structured or not kinds:
                what = f" as {structured[0]}s" if structured else ""
                check.problem = (
                    f"branches {i} and {j} may both match{what} (oneOf needs exactly one, "
                    "enforced as a language on null, booleans, numbers and strings only); "
                    "make them disjoint (different types, consts, required keys) or use anyOf"
                )
                return check
            for kind, value in found.items():
                if check.language_kinds.get(kind) is None:
                    check.language_kinds[kind] = value
            check.overlap = check.overlap or f"branches {i} and {j} may both match"
            continue
        for values, other, index in ((finite[i], b, j), (finite[j], a, i)):
            if values is None or finite[index] is not None:
                continue
            shared = [v for v in values if _matches(builder, v, other)]
            structured = [v for v in shared if isinstance(v, (list, dict))]
            if structured:
                check.problem = (
                    f"branch {index} also matches the value {structured[0]!r} of a finite branch, "
                    "and an array or object value cannot be excluded from a branch; make the "
                    "branches disjoint or use anyOf"
                )
                return check
            if shared:
                check.exclusions.setdefault(index, []).extend(shared)
    if object_pairs:
        objects = _objects_exactly_one(builder, plain, group, nodes, object_pairs)
        if isinstance(objects, str):
            check.problem = objects
            return check
        check.language_kinds["object"] = objects
    if arrays_meet:
        check.language_kinds["array"] = _arrays_exactly_one(builder, group, nodes)
    return check


def _meet_only_empty(builder: SchemaBuilder, a: SchemaNode, b: SchemaNode) -> bool:
    """Whether no array of one item or more satisfies both ``a`` and ``b``."""
    owner = a.items[0][0]
    non_empty = kind_location(builder, owner, {"type": "array", "minItems": 1})
    return disjoint(
        builder,
        make_node([*a.items, (non_empty, True)]),
        make_node([*b.items, (non_empty, True)]),
        0,
    )


def _arrays_exactly_one(
    builder: SchemaBuilder, group: Group, nodes: list[SchemaNode]
) -> list[list[tuple[Location, bool]]]:
    """The arrays exactly one branch of ``group`` holds, when any two branches share at most
    the empty array: every branch's non-empty arrays, and ``[]`` with the one branch that
    holds it, if only one does (``jsonschema`` decides on each branch)."""
    alternatives: list[list[tuple[Location, bool]]] = []
    empty_in = [k for k, branch in enumerate(group.branches)
                if builder.document.is_valid([], branch)]  # fmt: skip
    for index, branch in enumerate(group.branches):
        if not _may_be(builder, nodes[index], "array"):
            continue
        non_empty = kind_location(builder, branch, {"type": "array", "minItems": 1})
        alternatives.append([(branch, True), (non_empty, True)])
    if len(empty_in) == 1:
        branch = group.branches[empty_in[0]]
        alternatives.append([(branch, True), (kind_location(builder, branch, {"const": []}), True)])
    return alternatives


def _objects_exactly_one(
    builder: SchemaBuilder,
    plain: list,
    group: Group,
    nodes: list[SchemaNode],
    pairs: list[tuple[int, int]],
) -> list[list[tuple[Location, bool]]] | str:
    """The objects exactly one branch of ``group`` holds, as alternatives (each a conjunction to
    add to ``plain``), or why that is not exact.

    Branches that may both match an object are joined; every other two are disjoint on objects,
    so the branches an object matches all lie in one connected part, and exactly-one is the
    union over the parts of exactly-one within the part: a part of one branch is that branch (as
    an object), a larger part one key-set schema (:mod:`structgen.schema.key_sets`).
    """
    parent = list(range(len(nodes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        parent[root(i)] = root(j)
    parts: dict[int, list[int]] = {}
    for index in range(len(nodes)):
        parts.setdefault(root(index), []).append(index)
    siblings = [loc for loc, _ in plain]
    alternatives: list[list[tuple[Location, bool]]] = []
    for members in parts.values():
        if len(members) == 1:
            (index,) = members
            if _may_be(builder, nodes[index], "object"):
                owner = group.branches[index]
                objects = kind_location(builder, owner, {"type": "object"})
                alternatives.append([(group.branches[index], True), (objects, True)])
            continue
        schema = key_set_schema(builder, siblings, [group.branches[k] for k in members])
        if isinstance(schema, str):
            i, j = next((a, b) for a, b in pairs if a in members)
            found = re.match(r"branch (\d+):", schema)
            if found is not None:  # numbered within the part: name the oneOf's own index
                schema = f"branch {members[int(found.group(1))]}:{schema[found.end() :]}"
            return (
                f"branches {i} and {j} may both match as objects, and exactly-one on "
                f"their key sets is not exact: {schema}; make them disjoint "
                "(different consts, required keys) or use anyOf"
            )
        alternatives.append([(schema, True)])
    return alternatives


def _may_be(builder: SchemaBuilder, node: SchemaNode, kind: str) -> bool:
    """Whether some value of the JSON type ``kind`` may satisfy ``node`` (``False`` only when
    none can)."""
    flat = flatten(builder.document, _of_kind(builder, node, kind))
    if flat.false_at is not None:
        return False
    if flat.groups or flat.enum_location() is not None:
        return True
    analysis = analyze(
        builder.document, flat.plain, formats=builder.options.formats != "annotation"
    )
    return kind in analysis.types


def _of_kind(builder: SchemaBuilder, node: SchemaNode, kind: str) -> SchemaNode:
    """``node`` restricted to the JSON type ``kind``."""
    owner = node.items[0][0]
    return make_node([*node.items, (kind_location(builder, owner, {"type": kind}), True)])


def _takes_all(builder: SchemaBuilder, branch, kind: str) -> bool:
    """Whether the branch at ``branch`` puts no constraint on values of type ``kind``."""
    flat = flatten(builder.document, make_node([(branch, True)]))
    if flat.false_at is not None or flat.groups or flat.enum_location() is not None:
        return False
    analysis = analyze(
        builder.document, flat.plain, formats=builder.options.formats != "annotation"
    )
    if kind not in analysis.types or analysis.unsupported:
        return False
    if kind == "object":
        spec = analysis.object
        return not (
            spec.owners or spec.required or spec.min_properties or spec.max_properties is not None
            or spec.property_names or spec.dependent_required or spec.forbidden_together
            or spec.exactly_one or spec.conditions
        )  # fmt: skip
    array = analysis.array
    return not (
        array.owners or array.min_items or array.max_items is not None or array.contains
        or array.unique
    )  # fmt: skip


def _matches(builder: SchemaBuilder, value: Any, node: SchemaNode) -> bool:
    """Whether ``value`` may satisfy ``node``: its full items decide (its plain items, which hold
    the ``oneOf`` being checked, are left out — fewer constraints, so never a wrong "no")."""
    document = builder.document
    return all(document.is_valid(value, loc) for loc, full in node.items if full)


def _finite_values(builder: SchemaBuilder, node: SchemaNode) -> list[Any] | None:
    """The values of ``node``'s ``enum``/``const`` that satisfy its full items (``None``: not
    finite)."""
    location = flatten(builder.document, node).enum_location()
    if location is None:
        return None
    schema = location.schema
    if isinstance(schema.get("enum"), list):
        values = list(schema["enum"])
    elif "enum" in schema:
        return None
    else:
        values = [schema.get("const")]
    return [v for v in values if _matches(builder, v, node)]


def _alternatives(flat: Flat) -> list[SchemaNode] | None:
    """The conjunctions ``flat`` stands for, one per choice of anyOf/oneOf branches
    (``None``: more than ``_MAX_EXPANSION``)."""
    plain = [(loc, False) for loc in flat.plain]
    combos = list(
        itertools.islice(itertools.product(*(g.branches for g in flat.groups)), _MAX_EXPANSION + 1)
    )
    if len(combos) > _MAX_EXPANSION:
        return None
    return [make_node(plain + [(b, True) for b in combo]) for combo in combos]


def disjoint(builder: SchemaBuilder, a: SchemaNode, b: SchemaNode, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    document = builder.document
    flat_a, flat_b = flatten(document, a), flatten(document, b)
    if flat_a.false_at is not None or flat_b.false_at is not None:
        return True
    for this, other in ((a, b), (b, a)):
        values = _finite_values(builder, this)
        if values is not None:
            return not any(_matches(builder, v, other) for v in values)
    for this, flat, other in ((a, flat_a, b), (b, flat_b, a)):
        if flat.groups:
            alternatives = _alternatives(flat)
            if alternatives is None:
                return False
            return all(
                disjoint(builder, alternative, other, depth + 1) for alternative in alternatives
            )
    analysis_a = analyze(document, flat_a.plain, formats=builder.options.formats != "annotation")
    analysis_b = analyze(document, flat_b.plain, formats=builder.options.formats != "annotation")
    types_a, types_b = analysis_a.types, analysis_b.types
    for kind in ("null", "boolean"):
        if kind in types_a and kind in types_b:
            return False
    numbers_a = bool(types_a & {"number", "integer"})
    numbers_b = bool(types_b & {"number", "integer"})
    if numbers_a and numbers_b and not _numbers_disjoint(analysis_a, analysis_b):
        return False
    if (
        "string" in types_a
        and "string" in types_b
        and not _strings_disjoint(builder, analysis_a, analysis_b)
    ):
        return False
    if (
        "object" in types_a
        and "object" in types_b
        and not _objects_disjoint(builder, analysis_a, analysis_b, depth)
    ):
        return False
    if (
        "array" in types_a
        and "array" in types_b
        and not _arrays_disjoint(builder, analysis_a, analysis_b, depth)
    ):
        return False
    return True


def _below(high, low) -> bool:
    """Every value ≤ ``high`` is below every value ≥ ``low``."""
    if high is None or low is None:
        return False
    return high.value < low.value or (high.value == low.value and (high.exclusive or low.exclusive))


def _numbers_disjoint(a: Analysis, b: Analysis) -> bool:
    x, y = a.number, b.number
    if _below(x.high, y.low) or _below(y.high, x.low):
        return True
    if x.integer or y.integer:
        first = integer_bounds(x.low, x.high)
        second = integer_bounds(y.low, y.high)
        low = (
            max(v for v in (first[0], second[0]) if v is not None)
            if first[0] is not None or second[0] is not None
            else None
        )
        high = (
            min(v for v in (first[1], second[1]) if v is not None)
            if first[1] is not None or second[1] is not None
            else None
        )
        if x.integer and y.integer and low is not None and high is not None and low > high:
            return True
    return False


def _string_dfa(builder: SchemaBuilder, analysis: Analysis) -> CodePointDFA | None:
    spec = analysis.string
    language = builder.decoded_string_of(spec, pointer=analysis.pointer)
    if language is None:
        return CodePointDFA.from_node(NOTHING)
    if language.dfa is not None:
        return language.dfa
    return CodePointDFA.from_node(language.node, max_states=builder.options.max_regex_states)


def _strings_disjoint(builder: SchemaBuilder, a: Analysis, b: Analysis) -> bool:
    x, y = a.string, b.string
    if x.max_length is not None and x.max_length < y.min_length:
        return True
    if y.max_length is not None and y.max_length < x.min_length:
        return True
    constrained = x.patterns or x.formats or x.excluded_patterns or x.excluded_values
    if not constrained or not (y.patterns or y.formats or y.excluded_patterns or y.excluded_values):
        return False
    try:
        first, second = _string_dfa(builder, a), _string_dfa(builder, b)
        if first is None or second is None:
            return False
        return first.intersect(second, max_states=builder.options.max_regex_states).is_empty()
    except LimitExceededError:
        return False


def _key_node(builder: SchemaBuilder, analysis: Analysis, name: str) -> SchemaNode | None:
    """The value schema of key ``name`` in an object schema; ``None`` if the key is forbidden."""
    spec = analysis.object
    document = builder.document
    items = []
    named_anywhere = False
    for owner in spec.owners:
        matched = False
        for pattern, location in owner.patterns:
            try:
                language = builder.pattern_dfa(pattern, location.pointer)
            except (PatternUnsupported, SchemaError, LimitExceededError):
                return make_node([])  # unknown: treat as unconstrained
            if language.accepts(name):
                items.append((location, True))
                matched = True
        if name in owner.properties:
            items.append((owner.properties[name], True))
            named_anywhere = True
        elif not matched and owner.additional is not None:
            items.append((owner.additional, True))
        named_anywhere = named_anywhere or matched
    if spec.property_names and not all(document.is_valid(name, loc) for loc in spec.property_names):
        return None
    if (
        not named_anywhere
        and not builder.options.additional_properties_default
        and spec.closed_by_default()
        and name not in spec.required
    ):
        return None
    node = make_node(items)
    if flatten(document, node).false_at is not None:
        return None
    return node


def _objects_disjoint(builder: SchemaBuilder, a: Analysis, b: Analysis, depth: int) -> bool:
    x, y = a.object, b.object
    if (x.max_properties is not None and x.max_properties < y.min_properties) or (
        y.max_properties is not None and y.max_properties < x.min_properties
    ):
        return True
    for first, second, spec in ((a, b, x), (b, a, y)):
        for name in spec.required:
            if _key_node(builder, second, name) is None:
                return True
    # A key one branch requires must hold a value both branches allow under it.
    for first, second, spec in ((a, b, x), (b, a, y)):
        for name in spec.required:
            own, other = _key_node(builder, first, name), _key_node(builder, second, name)
            if own is None or other is None or disjoint(builder, own, other, depth + 1):
                return True
    return False


def _arrays_disjoint(builder: SchemaBuilder, a: Analysis, b: Analysis, depth: int) -> bool:
    x, y = a.array, b.array
    if (x.max_items is not None and x.max_items < y.min_items) or (
        y.max_items is not None and y.max_items < x.min_items
    ):
        return True
    both = min(x.min_items, y.min_items)
    for position in range(min(both, 8)):
        items_a = [
            (o.prefix[position], True) if position < len(o.prefix) else (o.rest, True)
            for o in x.owners
            if position < len(o.prefix) or o.rest is not None
        ]
        items_b = [
            (o.prefix[position], True) if position < len(o.prefix) else (o.rest, True)
            for o in y.owners
            if position < len(o.prefix) or o.rest is not None
        ]
        if (
            items_a
            and items_b
            and disjoint(builder, make_node(items_a), make_node(items_b), depth + 1)
        ):
            return True
    return False
