"""Conjunctions of subschemas → one normal form per JSON type.

A *schema node* is a set of :class:`~structgen.schema.refs.Location` s that must all hold, each
either ``full`` (every keyword, ``$ref``/``allOf``/``anyOf``/``oneOf`` included) or ``plain`` (its
own keywords only: its ``anyOf``/``oneOf`` choice was already made). :func:`flatten` expands
``$ref`` and ``allOf`` (``allOf`` is merged, never compiled as an intersection of grammars) and
collects the ``anyOf``/``oneOf`` groups still to distribute; :func:`analyze` reads the keywords of
a node without groups into a type set plus :class:`StringSpec`, :class:`NumberSpec`,
:class:`ObjectSpec` and :class:`ArraySpec`, and lists what cannot be enforced exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from structgen.schema.errors import SchemaError, Unsupported
from structgen.schema.keywords import ALL_TYPES, ANNOTATIONS, SCALAR_TYPES, schema_types
from structgen.schema.negation import ObjectCondition, ScalarChange, negate_scalar, off_objects
from structgen.schema.numbers import Bound, common_multiple, exact_decimal, to_decimal
from structgen.schema.refs import Location, SchemaDocument

__all__ = [
    "ALL_TYPES",
    "ANNOTATIONS",
    "Analysis",
    "ArrayOwner",
    "ArraySpec",
    "Flat",
    "Group",
    "NumberSpec",
    "ObjectOwner",
    "ObjectSpec",
    "SchemaNode",
    "StringSpec",
    "ObjectCondition",
    "analyze",
    "flatten",
    "make_node",
    "off_objects",
    "presence_branches",
    "schema_types",
]


Item = tuple  # (Location, full: bool)


class SchemaNode:
    """An immutable conjunction of locations (see the module doc); ``key`` identifies it."""

    __slots__ = ("items", "key")

    def __init__(self, items: tuple[Item, ...], key: frozenset) -> None:
        self.items = items
        self.key = key

    def __repr__(self) -> str:
        return (
            "SchemaNode("
            + ", ".join(f"{loc.pointer}{'' if full else '(plain)'}" for loc, full in self.items)
            + ")"
        )


def make_node(items) -> SchemaNode:
    full_keys = {loc.key for loc, full in items if full}
    unique: dict[tuple, Item] = {}
    for loc, full in items:
        if not full and loc.key in full_keys:
            continue
        unique.setdefault((loc.key, full), (loc, full))
    return SchemaNode(_in_order(unique.values()), frozenset(unique))


def _in_order(items: Iterable[Item]) -> tuple[Item, ...]:
    """``items`` in an order that is the same in every process: by place (pointer, base URI,
    draft, ``full``), then by content where two share a place (a synthetic subschema written
    beside its branch). Never by ``id()``: that order changes from run to run, and with it the
    order of the branches, the rules and the warnings."""
    placed = sorted(((_place(item), item) for item in items), key=lambda pair: pair[0])
    if any(a[0] == b[0] for a, b in zip(placed, placed[1:])):
        placed.sort(key=lambda pair: (pair[0], _content(pair[1][0].schema)))
    return tuple(item for _, item in placed)


def _place(item: Item) -> tuple[str, str, str, bool]:
    location, full = item
    return (location.pointer, location.key[1], location.key[2], full)


def _content(schema: Any) -> str:
    try:
        return json.dumps(schema, sort_keys=True, default=repr)
    except (TypeError, ValueError):  # keys of mixed types (a schema built in Python), cycles
        return repr(schema)


@dataclass
class Group:
    kind: str  # "anyOf" | "oneOf"
    owner: Location
    branches: list[Location]


@dataclass
class Flat:
    plain: list[Location] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    false_at: str | None = None
    unsupported: list[Unsupported] = field(default_factory=list)

    def enum_location(self) -> Location | None:
        for loc in self.plain:
            if "enum" in loc.schema or ("const" in loc.schema and loc.draft != "4"):
                return loc
        return None


def flatten(document: SchemaDocument, node: SchemaNode) -> Flat:
    flat = Flat()
    plain_keys: set = set()
    seen: set = set()
    stack = list(node.items)
    while stack:
        loc, full = stack.pop()
        if (loc.key, full) in seen:
            continue
        seen.add((loc.key, full))
        schema = loc.schema
        if schema is True:
            continue
        if schema is False:
            flat.false_at = flat.false_at or loc.pointer
            continue
        if not isinstance(schema, dict):
            raise SchemaError(
                f"a schema must be an object or a boolean, got {type(schema).__name__}",
                pointer=loc.pointer,
            )
        if full and "$ref" in schema and isinstance(schema["$ref"], str):
            stack.append((document.resolve(loc, schema["$ref"]), True))
            if loc.legacy_ref:
                continue  # drafts ≤ 7: the siblings of $ref are ignored
        for keyword in ("$dynamicRef", "$recursiveRef"):
            if keyword in schema:
                flat.unsupported.append(
                    Unsupported(
                        keyword, f"{loc.pointer}/{keyword}", "dynamic references are not supported"
                    )
                )
        keywords = loc
        if full and "not" in schema:
            rewritten = _rewritten_not(document, loc)
            if rewritten is not None:  # the other keywords, and what stands for the not
                keywords, replacement = rewritten
                stack.append((replacement, True))
        if keywords.key not in plain_keys:
            plain_keys.add(keywords.key)
            flat.plain.append(keywords)
        if not full:
            continue
        for index in range(len(schema.get("allOf", ()))):
            stack.append((document.child(loc, "allOf", index), True))
        for kind in ("anyOf", "oneOf"):
            branches = schema.get(kind)
            if kind == "oneOf" and presence_branches(branches) is not None:
                continue  # read by analyze() as a condition on which keys are present
            if isinstance(branches, list):
                flat.groups.append(
                    Group(kind, loc, [document.child(loc, kind, i) for i in range(len(branches))])
                )
    return flat


# -- per-type specs -------------------------------------------------------------------------------
@dataclass
class StringSpec:
    min_length: int = 0
    max_length: int | None = None
    patterns: list[tuple[str, str]] = field(default_factory=list)  # (pattern, pointer)
    formats: list[tuple[str, str]] = field(default_factory=list)  # (format, pointer)
    excluded_patterns: list[tuple[str, str]] = field(
        default_factory=list
    )  # from ``not: {pattern}``
    excluded_values: list[str] = field(default_factory=list)  # from ``not: {enum}``

    def key(self) -> tuple:
        return (
            self.min_length,
            self.max_length,
            tuple(sorted({p for p, _ in self.patterns})),
            tuple(sorted({f for f, _ in self.formats})),
            tuple(sorted({p for p, _ in self.excluded_patterns})),
            tuple(sorted(set(self.excluded_values))),
        )


@dataclass
class NumberSpec:
    integer: bool = False
    low: Bound | None = None
    high: Bound | None = None
    multiples: list[tuple[Decimal, str]] = field(default_factory=list)
    excluded: list[Decimal] = field(default_factory=list)  # from ``not: {enum}``
    # From ``not: {multipleOf}``: no value is a multiple of any of these steps.
    not_multiples: list[tuple[Decimal, str]] = field(default_factory=list)

    def key(self) -> tuple:
        multiples = tuple(sorted({m for m, _ in self.multiples}))
        not_multiples = tuple(sorted({m for m, _ in self.not_multiples}))
        excluded = tuple(sorted(set(self.excluded)))
        return (self.integer, self.low, self.high, multiples, excluded, not_multiples)


@dataclass
class ObjectOwner:
    """The object keywords of one location (``additionalProperties`` refers to its own lists)."""

    location: Location
    properties: dict[str, Location]
    patterns: list[tuple[str, Location]]
    additional: Location | None


@dataclass
class ObjectSpec:
    owners: list[ObjectOwner] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    min_properties: int = 0
    max_properties: int | None = None
    property_names: list[Location] = field(default_factory=list)
    dependent_required: dict[str, list[str]] = field(default_factory=dict)
    forbidden_together: list[list[str]] = field(default_factory=list)  # ``not: {required: [...]}``
    exactly_one: list[list[Presence]] = field(default_factory=list)  # ``oneOf`` of ``required``s
    conditions: list[ObjectCondition] = field(default_factory=list)
    pointer: str = "#"

    def has_explicit_additional(self) -> bool:
        return any(owner.additional is not None for owner in self.owners)

    def closed_by_default(self) -> bool:
        """Whether ``additional_properties_default=False`` forbids unlisted keys here: only
        where some ``properties`` lists keys and no ``additionalProperties`` is given."""
        listed = any(owner.properties for owner in self.owners)
        return listed and not self.has_explicit_additional()


@dataclass
class ArrayOwner:
    location: Location
    prefix: list[Location]
    rest: Location | None


@dataclass
class ArraySpec:
    owners: list[ArrayOwner] = field(default_factory=list)
    min_items: int = 0
    max_items: int | None = None
    contains: list[tuple[Location, int]] = field(default_factory=list)
    unique: str | None = None  # pointer of uniqueItems: true
    pointer: str = "#"


@dataclass
class Analysis:
    types: frozenset[str]
    string: StringSpec
    number: NumberSpec
    object: ObjectSpec
    array: ArraySpec
    unsupported: list[Unsupported]
    warnings: list[str]
    false_reasons: list[str]
    pointer: str = "#"
    booleans: frozenset[bool] = frozenset({True, False})  # ``not: {const: true}`` removes one


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if float(value).is_integer() else None


def analyze(document: SchemaDocument, locations: list[Location], *, formats: bool) -> Analysis:
    """Merge the keywords of ``locations`` (a node without pending groups)."""
    types = ALL_TYPES
    string, number, obj, array = StringSpec(), NumberSpec(), ObjectSpec(), ArraySpec()
    unsupported: list[Unsupported] = []
    warnings: list[str] = []
    reasons: list[str] = []
    booleans = frozenset({True, False})
    negations: list[Location] = []
    if locations:
        obj.pointer = array.pointer = locations[0].pointer
    for loc in locations:
        schema = loc.schema
        at = loc.pointer

        def unsupported_keyword(keyword: str, reason: str) -> None:
            unsupported.append(Unsupported(keyword, f"{at}/{keyword}", reason))  # noqa: B023

        if "type" in schema:
            types = types & schema_types(schema["type"])
            if not types:
                reasons.append(f"{at}/type: no JSON type left")
        # -- strings
        if (n := _count(schema.get("minLength"))) is not None:
            string.min_length = max(string.min_length, n)
        if (n := _count(schema.get("maxLength"))) is not None:
            string.max_length = n if string.max_length is None else min(string.max_length, n)
        if isinstance(schema.get("pattern"), str):
            string.patterns.append((schema["pattern"], f"{at}/pattern"))
        if isinstance(schema.get("format"), str) and formats:
            string.formats.append((schema["format"], f"{at}/format"))
        # -- numbers
        _number_keywords(schema, loc, number)
        if (
            "multipleOf" in schema
            and isinstance(schema["multipleOf"], (int, float))
            and not isinstance(schema["multipleOf"], bool)
        ):
            number.multiples.append((to_decimal(schema["multipleOf"]), f"{at}/multipleOf"))
        # -- objects
        _object_keywords(document, loc, obj, unsupported_keyword)
        # -- arrays
        _array_keywords(document, loc, array, unsupported_keyword)
        # -- applicators we cannot enforce
        presence = presence_branches(schema.get("oneOf"))
        if presence is not None:
            # Non-objects satisfy every branch, so more than one: only objects remain.
            types = types & {"object"}
            obj.exactly_one.append(presence)
        if "not" in schema:
            negations.append(loc)
        if "if" in schema and ("then" in schema or "else" in schema):
            conditional = _conditional(document, loc)
            if conditional is None:
                unsupported_keyword(
                    "if",
                    "if/then/else needs the complement of the 'if' schema, which is exact "
                    "only where the three are made of object keywords and types",
                )
            else:
                holds, condition = conditional
                types = types & (holds | {"object"})
                if not types:
                    reasons.append(f"{at}/if: no JSON type left")
                obj.conditions.append(condition)
        for keyword in ("unevaluatedProperties", "unevaluatedItems"):
            if keyword in schema and schema[keyword] not in (True, {}):
                unsupported_keyword(keyword, "depends on what the other subschemas evaluated")
    # ``not`` last: what its complement leaves depends on the types every location allows
    # (``not: {type: integer}`` beside ``type: [integer, string]`` leaves strings), whatever
    # order the locations come in.
    for loc in negations:

        def refuse(keyword: str, reason: str, at: str = loc.pointer) -> None:
            unsupported.append(Unsupported(keyword, f"{at}/{keyword}", reason))

        negation = _Negation(types, string, number, obj, booleans)
        _not(document, loc, negation, refuse, reasons)
        types, booleans = negation.types, negation.booleans
    if "number" not in types and "integer" in types:
        number.integer = True
    pointer = locations[0].pointer if locations else "#"
    if not booleans:
        types = types - {"boolean"}
    return Analysis(
        types, string, number, obj, array, unsupported, warnings, reasons, pointer, booleans
    )


def _tighter_low(current: Bound | None, new: Bound) -> Bound:
    if (
        current is None
        or new.value > current.value
        or (new.value == current.value and new.exclusive)
    ):
        return new
    return current


def _tighter_high(current: Bound | None, new: Bound) -> Bound:
    if (
        current is None
        or new.value < current.value
        or (new.value == current.value and new.exclusive)
    ):
        return new
    return current


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _number_keywords(schema: dict, loc: Location, number: NumberSpec) -> None:
    legacy = loc.draft == "4"
    if _is_number(schema.get("minimum")):
        exclusive = legacy and schema.get("exclusiveMinimum") is True
        number.low = _tighter_low(number.low, Bound(to_decimal(schema["minimum"]), exclusive))
    if _is_number(schema.get("maximum")):
        exclusive = legacy and schema.get("exclusiveMaximum") is True
        number.high = _tighter_high(number.high, Bound(to_decimal(schema["maximum"]), exclusive))
    if not legacy:
        if _is_number(schema.get("exclusiveMinimum")):
            number.low = _tighter_low(
                number.low, Bound(to_decimal(schema["exclusiveMinimum"]), True)
            )
        if _is_number(schema.get("exclusiveMaximum")):
            number.high = _tighter_high(
                number.high, Bound(to_decimal(schema["exclusiveMaximum"]), True)
            )


def _object_keywords(
    document: SchemaDocument, loc: Location, obj: ObjectSpec, unsupported_keyword
) -> None:
    schema = loc.schema
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    patterns = (
        schema.get("patternProperties") if isinstance(schema.get("patternProperties"), dict) else {}
    )
    if properties or patterns or "additionalProperties" in schema:
        obj.owners.append(
            ObjectOwner(
                location=loc,
                properties={name: document.child(loc, "properties", name) for name in properties},
                patterns=[(p, document.child(loc, "patternProperties", p)) for p in patterns],
                additional=document.child(loc, "additionalProperties")
                if "additionalProperties" in schema
                else None,
            )
        )
    if isinstance(schema.get("required"), list):
        for name in schema["required"]:
            if isinstance(name, str) and name not in obj.required:
                obj.required.append(name)
    if (n := _count(schema.get("minProperties"))) is not None:
        obj.min_properties = max(obj.min_properties, n)
    if (n := _count(schema.get("maxProperties"))) is not None:
        obj.max_properties = n if obj.max_properties is None else min(obj.max_properties, n)
    if "propertyNames" in schema:
        obj.property_names.append(document.child(loc, "propertyNames"))
    dependent = (
        dict(schema.get("dependentRequired") or {}) if loc.draft in ("2019-09", "2020-12") else {}
    )
    # ``dependencies`` (drafts ≤ 7) is also read in later drafts, for compatibility.
    if isinstance(schema.get("dependencies"), dict):
        for name, value in schema["dependencies"].items():
            if isinstance(value, list):
                dependent[name] = value
            elif value not in (True, {}):
                where = document.child(loc, "dependencies", name)
                obj.conditions.append(ObjectCondition(where, when=name))
    if loc.draft in ("2019-09", "2020-12") and isinstance(schema.get("dependentSchemas"), dict):
        for name, value in schema["dependentSchemas"].items():
            if value not in (True, {}):
                where = document.child(loc, "dependentSchemas", name)
                obj.conditions.append(ObjectCondition(where, when=name))
    for name, needed in dependent.items():
        if isinstance(needed, list) and needed:
            merged = obj.dependent_required.setdefault(name, [])
            merged.extend(n for n in needed if isinstance(n, str) and n not in merged)


def _array_keywords(
    document: SchemaDocument, loc: Location, array: ArraySpec, unsupported_keyword
) -> None:
    schema = loc.schema
    prefix: list[Location] = []
    rest: Location | None = None
    if loc.draft == "2020-12":
        if isinstance(schema.get("prefixItems"), list):
            prefix = [
                document.child(loc, "prefixItems", i) for i in range(len(schema["prefixItems"]))
            ]
        if "items" in schema:
            rest = document.child(loc, "items")
    else:
        items = schema.get("items")
        if isinstance(items, list):
            prefix = [document.child(loc, "items", i) for i in range(len(items))]
            if "additionalItems" in schema:
                rest = document.child(loc, "additionalItems")
        elif "items" in schema:
            rest = document.child(loc, "items")
    if prefix or rest is not None:
        array.owners.append(ArrayOwner(loc, prefix, rest))
    if (n := _count(schema.get("minItems"))) is not None:
        array.min_items = max(array.min_items, n)
    if (n := _count(schema.get("maxItems"))) is not None:
        array.max_items = n if array.max_items is None else min(array.max_items, n)
    if schema.get("uniqueItems") is True:
        array.unique = f"{loc.pointer}/uniqueItems"
    if "contains" in schema and loc.draft != "4":
        minimum = 1
        if loc.draft in ("2019-09", "2020-12"):
            if (n := _count(schema.get("minContains"))) is not None:
                minimum = n
            if "maxContains" in schema:
                unsupported_keyword(
                    "maxContains",
                    "counting items that do NOT match 'contains' needs its complement",
                )
        if minimum > 0:
            array.contains.append((document.child(loc, "contains"), minimum))


@dataclass
class _Negation:
    """What a ``not`` may narrow: the types and the per-type specs."""

    types: frozenset[str]
    string: StringSpec
    number: NumberSpec
    object: ObjectSpec
    booleans: frozenset[bool]


Presence = tuple  # (required names, [name sets that must not all be present])


def presence_branches(branches: Any) -> list[Presence] | None:
    """For ``oneOf`` branches that only speak of which keys are present (``required``, and
    ``not: {required}``), each branch's condition; ``None`` otherwise (or for one branch)."""
    if not isinstance(branches, list) or len(branches) < 2:
        return None
    out: list[Presence] = []
    for branch in branches:
        if not isinstance(branch, dict) or not set(branch) - _NOT_IGNORED <= {"required", "not"}:
            return None
        required = branch.get("required", [])
        if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
            return None
        forbidden: list[list[str]] = []
        if "not" in branch:
            negated = branch["not"]
            names = _required_list(negated)
            alternatives = (
                negated.get("anyOf")
                if isinstance(negated, dict) and set(negated) - _NOT_IGNORED == {"anyOf"}
                else None
            )
            if names is not None:
                forbidden.append(names)
            elif isinstance(alternatives, list) and all(
                _required_list(a) is not None for a in alternatives
            ):
                forbidden.extend(_required_list(a) for a in alternatives)  # type: ignore[misc]
            else:
                return None
        out.append((list(required), forbidden))
    return out


def _required_list(schema: Any) -> list[str] | None:
    """The names of a schema that is exactly ``{"required": [...]}`` (annotations aside)."""
    if (
        isinstance(schema, dict)
        and set(schema) - _NOT_IGNORED == {"required"}
        and isinstance(schema["required"], list)
    ):
        return [n for n in schema["required"] if isinstance(n, str)]
    return None


def _not(
    document: SchemaDocument,
    loc: Location,
    negation: _Negation,
    unsupported_keyword,
    reasons: list[str],
) -> None:
    """``not`` where its complement is expressible, exactly; else an unsupported keyword.

    A keyword that only constrains one JSON type holds vacuously for the others, so its negation
    also *requires* that type: ``not: {pattern: p}`` means "a string with no match of p",
    ``not: {required: [a]}`` "an object without a". Handled: ``true``/``false``/``{}``, ``type``,
    ``enum``/``const`` (values removed from strings, numbers, booleans, null; other keywords
    beside them filter the values), one scalar keyword (``pattern``, lengths, bounds; with or
    without ``type``), ``required`` and ``anyOf``/``allOf`` of ``required``, and any schema of
    object keywords (an :class:`ObjectCondition` on objects, see :mod:`.conditions`).
    """
    where = _sole_branch(document, document.child(loc, "not"))
    negated = where.schema
    at = where.pointer
    keys = set(negated) - _NOT_IGNORED if isinstance(negated, dict) else None
    if negated is False:
        return
    if negated is True or keys == set():
        reasons.append(f"{at}: excludes everything")
        negation.types = frozenset()
        return
    if keys is not None and ("enum" in keys or ("const" in keys and loc.draft != "4")):
        values = negated["enum"] if "enum" in negated else [negated["const"]]
        if not isinstance(values, list):
            unsupported_keyword("not", "malformed enum")
            return
        if keys - {"enum", "const"}:  # the values that every keyword beside them holds
            values = [v for v in values if document.is_valid(v, where)]
        _exclude_values(values, negation, unsupported_keyword)
        return
    if keys == {"type"}:
        excluded = schema_types(negated["type"])
        remaining = negation.types - excluded
        if "number" in excluded:
            remaining -= {"number", "integer"}
        elif "integer" in excluded and "number" in remaining:
            unsupported_keyword(
                "not",
                "'not: integer' on numbers leaves the non-integers, "
                "which a number grammar cannot single out",
            )
            return
        if not remaining:
            reasons.append(f"{at}: no JSON type left")
        negation.types = frozenset(remaining)
        return
    if keys is not None and len(keys - {"type"}) == 1:
        (keyword,) = keys - {"type"}
        change = negate_scalar(keyword, negated[keyword], loc.draft)
        if change is not None:
            _negate_scalar(negated, at, keyword, change, negation, unsupported_keyword)
            return
    required = _required_list(negated)
    branches = (
        negated.get("anyOf")
        if keys == {"anyOf"}
        else negated.get("allOf")
        if keys == {"allOf"}
        else None
    )
    if required is None and isinstance(branches, list):
        steps = [_multiple_step(branch) for branch in branches]
        if steps and all(step is not None for step in steps):
            _exclude_multiples(negation, at, keys == {"anyOf"}, steps)  # type: ignore[arg-type]
            return
        lists = [_required_list(branch) for branch in branches]
        if all(names is not None for names in lists):
            if keys == {"allOf"}:
                required = sorted({n for names in lists for n in names})  # type: ignore[union-attr]
            else:  # not (any of them) = none of them
                negation.types = negation.types & {"object"}
                for names in lists:
                    negation.object.forbidden_together.append(list(names))  # type: ignore[arg-type]
                return
    if required is not None:
        negation.types = negation.types & {"object"}
        if not required:
            reasons.append(f"{at}: 'required: []' always holds")
            negation.types = frozenset()
        else:
            negation.object.forbidden_together.append(required)
        return
    holds = off_objects(document, where)
    if holds is not None:
        # Its complement: the other types where it fails, and objects where it fails.
        negation.types = negation.types & ((SCALAR_TYPES - holds) | {"object"})
        if "object" in negation.types:
            negation.object.conditions.append(ObjectCondition(where, negated=True, keyword="not"))
        return
    unsupported_keyword("not", "the complement of a schema is not context-free in general")


def _conditional(
    document: SchemaDocument, loc: Location
) -> tuple[frozenset[str], ObjectCondition] | None:
    """``if``/``then``/``else`` at ``loc`` as the scalar types it leaves and a condition on
    objects, when all three are made of object keywords, types and connectives (each then
    holds on every value of a scalar type or on none, so the choice of branch is a choice of
    types off objects, and a formula on keys and value classes on them); else ``None``."""
    view = document.keywords_of(loc, ("if", "then", "else"))
    holds = off_objects(document, view)
    if holds is None:
        return None
    return holds, ObjectCondition(view, keyword="if")


def complement_of(document: SchemaDocument, location: Location) -> Any:
    """A schema of the values that fail the one at ``location``, in the form the normaliser
    reads best: ``not`` of an ``anyOf`` is the ``allOf`` of the branches' complements, of an
    ``allOf`` (or of several independent scalar keywords: lengths, bounds, patterns, type)
    the ``anyOf`` of theirs (De Morgan); anything else is ``{"not": schema}``."""
    schema = location.schema
    if not isinstance(schema, dict) or _read_by_not(document, location):
        return {"not": schema}
    keywords = set(schema) - _NOT_IGNORED
    if keywords in ({"anyOf"}, {"allOf"}) and isinstance(schema[min(keywords)], list):
        (kind,) = keywords
        other = "allOf" if kind == "anyOf" else "anyOf"
        return {other: [{"not": branch} for branch in schema[kind]]}
    if len(keywords - {"type"}) > 1 and all(
        k == "type" or negate_scalar(k, schema[k], location.draft) is not None for k in keywords
    ):
        return {"anyOf": [{"not": {k: schema[k]}} for k in sorted(keywords)]}
    return {"not": schema}


def _read_by_not(document: SchemaDocument, location: Location) -> bool:
    """Whether :func:`_not` reads the complement of ``location`` whole as it is: a schema
    of object keywords (a condition on objects), ``anyOf``/``allOf`` of ``multipleOf`` or of
    ``required`` alone."""
    schema = location.schema
    keywords = set(schema) - _NOT_IGNORED
    if keywords in ({"anyOf"}, {"allOf"}) and isinstance(schema[min(keywords)], list):
        branches = schema[min(keywords)]
        if branches and (
            all(_multiple_step(b) is not None for b in branches)
            or all(_required_list(b) is not None for b in branches)
        ):
            return True
    return off_objects(document, location) is not None


def _rewritten_not(document: SchemaDocument, loc: Location) -> tuple[Location, Location] | None:
    """For a ``not`` at ``loc`` whose complement :func:`_not` cannot read but its parts can
    (``not: {not: X}``, ``not`` of ``anyOf``/``allOf``, of several scalar keywords): ``loc``'s
    other keywords and the schema that replaces the ``not``; else ``None``."""
    where = _sole_branch(document, document.child(loc, "not"))
    negated = where.schema
    if not isinstance(negated, dict):
        return None
    keywords = set(negated) - _NOT_IGNORED
    if keywords == {"not"} and off_objects(document, where) is None:
        replacement = document.child(where, "not")
    else:
        replacement = document.derived(where, "complement", lambda: complement_of(document, where))
        if replacement.schema == {"not": negated}:
            return None
    others = tuple(k for k in loc.schema if k != "not")
    return document.keywords_of(loc, others), replacement


def _never(schema: Any) -> bool:
    """Whether ``schema`` holds on no value: ``false`` or ``not: {}``/``not: true``."""
    if schema is False:
        return True
    if not isinstance(schema, dict) or set(schema) - _NOT_IGNORED != {"not"}:
        return False
    inner = schema["not"]
    return inner is True or (isinstance(inner, dict) and not set(inner) - _NOT_IGNORED)


def _sole_branch(document: SchemaDocument, location: Location) -> Location:
    """``location``, or the one branch of its ``anyOf``/``oneOf`` that can hold when the others
    never do (``oneOf: [{not: {}}, {enum: [false]}]`` is ``enum: [false]``)."""
    for _ in range(_MAX_SOLE_DEPTH):
        schema = location.schema
        if not isinstance(schema, dict):
            return location
        keys = set(schema) - _NOT_IGNORED
        if len(keys) != 1 or not keys <= {"anyOf", "oneOf"}:
            return location
        (kind,) = keys
        branches = schema[kind]
        if not isinstance(branches, list):
            return location
        possible = [i for i, branch in enumerate(branches) if not _never(branch)]
        if len(possible) != 1:
            return location
        location = document.child(location, kind, possible[0])
    return location


_MAX_SOLE_DEPTH = 8


def _multiple_step(schema: Any) -> Decimal | None:
    """The step of a schema that is exactly ``{"multipleOf": m}`` (annotations aside)."""
    if not isinstance(schema, dict) or set(schema) - _NOT_IGNORED != {"multipleOf"}:
        return None
    value = schema["multipleOf"]
    if not _is_number(value) or value <= 0:
        return None
    return to_decimal(value)


def _exclude_multiples(negation: _Negation, at: str, any_of: bool, steps: list[Decimal]) -> None:
    """``not: {anyOf: [multipleOf…]}`` (a multiple of none of the steps) or ``not: {allOf:
    [multipleOf…]}`` (not a multiple of their least common multiple): numbers only, since the
    keyword holds on every other type."""
    negation.types = negation.types & _FAMILIES["number"]
    kind = "anyOf" if any_of else "allOf"
    if any_of:
        for index, step in enumerate(steps):
            negation.number.not_multiples.append((step, f"{at}/anyOf/{index}/multipleOf"))
        return
    step = exact_decimal(common_multiple(steps) or Fraction(1))
    negation.number.not_multiples.append((step, f"{at}/{kind}"))


def _exclude_values(values: list, negation: _Negation, unsupported_keyword) -> None:
    """Remove the scalar ``values`` from what ``negation`` allows."""
    for value in values:
        if value is None:
            negation.types = negation.types - {"null"}
        elif isinstance(value, bool):
            negation.booleans = negation.booleans - {value}
        elif isinstance(value, (int, float, Decimal)):
            negation.number.excluded.append(to_decimal(value))
        elif isinstance(value, str):
            negation.string.excluded_values.append(value)
        else:
            kind = "array" if isinstance(value, list) else "object"
            if kind in negation.types:
                unsupported_keyword(
                    "not", f"excluding one {kind} value from {kind}s is not supported"
                )


_FAMILIES = {"string": frozenset({"string"}), "number": frozenset({"number", "integer"})}


def _negate_scalar(
    negated: dict,
    at: str,
    keyword: str,
    change: ScalarChange,
    negation: _Negation,
    unsupported_keyword,
) -> None:
    """``not: {[type: T,] keyword: v}``: the types outside ``T`` stay whole; within ``T`` only the
    keyword's family stays, narrowed to the values that fail the keyword."""
    family = _FAMILIES[change.family]
    listed = schema_types(negated["type"]) if "type" in negated else ALL_TYPES
    if family & listed and not family <= listed:  # ``type: integer`` beside a number keyword
        if "number" in negation.types:
            unsupported_keyword(
                "not", "'type: integer' beside a number keyword leaves two kinds of numbers"
            )
            return
        listed = listed | family  # only integers are left, and T holds them all
    if not family & listed:
        negation.types = negation.types - listed  # the keyword holds on every value of T
        return
    negation.types = (negation.types - listed) | (negation.types & family)
    if change.field is None:
        negation.types = negation.types - family
    elif change.field == "excluded_patterns":
        negation.string.excluded_patterns.append((change.value, f"{at}/{keyword}"))
    elif change.field == "max_length":
        current = negation.string.max_length
        negation.string.max_length = change.value if current is None else min(current, change.value)
    elif change.field == "min_length":
        negation.string.min_length = max(negation.string.min_length, change.value)
    elif change.field == "not_multiples":
        negation.number.not_multiples.append((change.value, f"{at}/{keyword}"))
    elif change.field == "low":
        negation.number.low = _tighter_low(negation.number.low, change.value)
    else:
        negation.number.high = _tighter_high(negation.number.high, change.value)


_NOT_IGNORED = ANNOTATIONS
