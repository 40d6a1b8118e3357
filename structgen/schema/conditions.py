"""Object schemas as conditions on which keys are present and which values they hold.

A schema met inside a ``not`` or as a schema-valued dependency (``dependencies``,
``dependentSchemas``) is enforced on objects as a boolean *formula* whose atoms are existential:
:class:`Some` (``keys``, ``value``) holds when some property name in the key language ``keys``
has a value that satisfies (or, ``negated``, does not satisfy) the subschema ``value``. Every
object keyword is such a formula: ``required: [a]`` is ``Some(a)``; ``properties: {a: S}`` is
``¬Some(a, ¬S)``; ``patternProperties: {P: S}`` ``¬Some(P, ¬S)``; ``propertyNames: S`` ``¬Some(keys
outside S)``; ``additionalProperties`` likewise over the keys its location lists nowhere; a
dependency ``k → S`` is ``¬Some(k) ∨ S``; ``not``/``allOf``/``anyOf``/``oneOf``/``if`` are the
connectives. The object member machine (:mod:`structgen.schema.objects`) sets one flag per atom
as members go by (a value class per atom: the values in ``S`` and those in its complement) and
checks the formula on its final states. What has no such form (``minProperties``, ``enum`` of
objects, ``unevaluatedProperties``) raises :class:`Inexact` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union

from structgen.schema.normalize import (
    ANNOTATIONS,
    flatten,
    make_node,
    presence_branches,
    schema_types,
)
from structgen.schema.refs import Location, SchemaDocument

__all__ = [
    "All",
    "Either",
    "Formula",
    "Inexact",
    "Keys",
    "Negation",
    "Some",
    "atoms_of",
    "conjunction",
    "disjunction",
    "evaluator",
    "negation",
    "read_condition",
]

_MAX_DEPTH = 32


class Inexact(Exception):
    """A schema that is no condition on key presence and value classes (the reason)."""


@dataclass(frozen=True)
class Keys:
    """A language of property names: one ``name``; the names containing a match of
    ``pattern``; the names ``outside`` the ``names`` and ``patterns`` of one location; or the
    names that the schema at ``location`` (a ``propertyNames``) refuses (``not_names``)."""

    kind: Literal["name", "pattern", "outside", "not_names"]
    name: str = ""
    pattern: str = ""
    names: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    location: Location | None = None


@dataclass(frozen=True)
class Some:
    """Some key in ``keys`` is present with a value in ``value`` (``None``: any value), or with
    a value outside it when ``negated``."""

    keys: Keys
    value: Location | None = None
    negated: bool = False


@dataclass(frozen=True)
class All:
    parts: tuple


@dataclass(frozen=True)
class Either:
    parts: tuple


@dataclass(frozen=True)
class Negation:
    part: Any


Formula = Union[bool, Some, All, Either, Negation]


def conjunction(parts) -> Formula:
    return _flattened(parts, All, absorbing=False)


def disjunction(parts) -> Formula:
    return _flattened(parts, Either, absorbing=True)


def _flattened(parts, kind: type, *, absorbing: bool) -> Formula:
    """``parts`` joined as ``kind`` (All or Either): nested ones of the same kind flattened,
    repeats dropped, ``absorbing`` (False for All, True for Either) decides at once, its
    opposite is left out; one part is itself, none the opposite of ``absorbing``."""
    kept: list = []
    for part in parts:
        if part is absorbing:
            return absorbing
        if part is (not absorbing):
            continue
        for item in part.parts if isinstance(part, kind) else (part,):
            if item not in kept:
                kept.append(item)
    if not kept:
        return not absorbing
    return kept[0] if len(kept) == 1 else kind(tuple(kept))


def negation(part: Formula) -> Formula:
    if isinstance(part, bool):
        return not part
    if isinstance(part, Negation):
        return part.part
    return Negation(part)


def atoms_of(formula: Formula) -> list[Some]:
    """The atoms of ``formula``, each once, in the order they first appear."""
    out: list[Some] = []
    stack = [formula]
    while stack:
        item = stack.pop()
        if isinstance(item, Some):
            if item not in out:
                out.append(item)
        elif isinstance(item, (All, Either)):
            stack.extend(reversed(item.parts))
        elif isinstance(item, Negation):
            stack.append(item.part)
    return out


def evaluator(formula: Formula, bit_of: Callable[[Some], int]) -> Callable[[int], bool]:
    """``formula`` as a test on a bit set (an atom holds where its bit is set)."""
    if isinstance(formula, bool):
        return lambda seen: formula
    if isinstance(formula, Some):
        mask = bit_of(formula)
        return lambda seen: bool(seen & mask)
    if isinstance(formula, Negation):
        inner = evaluator(formula.part, bit_of)
        return lambda seen: not inner(seen)
    parts = [evaluator(p, bit_of) for p in formula.parts]
    if isinstance(formula, All):
        return lambda seen: all(p(seen) for p in parts)
    return lambda seen: any(p(seen) for p in parts)


def _exactly_one(formulas: list[Formula]) -> Formula:
    return disjunction(
        conjunction([f, *(negation(g) for j, g in enumerate(formulas) if j != i)])
        for i, f in enumerate(formulas)
    )


def read_condition(document: SchemaDocument, location: Location, depth: int = 0) -> Formula:
    """What the subschema at ``location`` says of objects, as a formula (:class:`Inexact`:
    it says something that is not a condition on keys and value classes)."""
    if depth > _MAX_DEPTH:
        raise Inexact(f"{location.pointer}: nested or recursive too deeply")
    flat = flatten(document, make_node([(location, True)]))
    if flat.unsupported:
        raise Inexact(str(flat.unsupported[0]))
    if flat.false_at is not None:
        return False
    enum_location = flat.enum_location()
    if enum_location is not None:
        schema = enum_location.schema
        values = schema["enum"] if "enum" in schema else [schema["const"]]
        if any(isinstance(v, dict) for v in (values if isinstance(values, list) else [])):
            raise Inexact(f"{enum_location.pointer}: an enum/const of objects")
        return False  # no object is one of its values
    parts: list[Formula] = []
    for group in flat.groups:
        branches = [read_condition(document, b, depth + 1) for b in group.branches]
        parts.append(disjunction(branches) if group.kind == "anyOf" else _exactly_one(branches))
    for plain in flat.plain:
        parts.append(_keywords(document, plain, depth))
    return conjunction(parts)


# Keywords that say nothing of objects (other types' keywords hold on every object).
_VACUOUS = frozenset(
    {
        "minLength", "maxLength", "pattern", "format", "contentEncoding", "contentMediaType",
        "contentSchema", "multipleOf", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "items", "prefixItems", "additionalItems", "contains", "minContains",
        "maxContains", "minItems", "maxItems", "uniqueItems", "unevaluatedItems",
        "$ref", "allOf", "anyOf", "oneOf", "enum", "const", "$schema", "$id", "id", "$anchor",
        "$defs", "definitions", "$vocabulary", "$dynamicAnchor", "$recursiveAnchor", "then",
        "else", "deprecated", "readOnly", "writeOnly",
    }
)  # fmt: skip


def _trivial(schema: Any) -> bool:
    return schema is True or (isinstance(schema, dict) and not set(schema) - ANNOTATIONS)


def _keywords(document: SchemaDocument, location: Location, depth: int) -> Formula:
    """The object keywords of one location (its ``allOf``/``$ref``/groups read by flatten)."""
    schema = location.schema
    at = location.pointer
    if location.legacy_ref and isinstance(schema.get("$ref"), str):
        return True  # drafts ≤ 7: the siblings of $ref are ignored (its target is read)

    def child(*path) -> Location:
        return document.child(location, *path)

    def holds(*path) -> Formula:
        return read_condition(document, child(*path), depth + 1)

    parts: list[Formula] = []
    presence = presence_branches(schema.get("oneOf"))
    if presence is not None:  # read here: flatten leaves these oneOf to the analysis
        branches = schema["oneOf"]
        parts.append(
            _exactly_one([holds("oneOf", i) for i in range(len(branches))])
        )
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    patterns = (
        schema.get("patternProperties") if isinstance(schema.get("patternProperties"), dict) else {}
    )
    for keyword, value in schema.items():
        if keyword in ANNOTATIONS or keyword in _VACUOUS:
            continue
        if keyword == "type":
            parts.append("object" in schema_types(value))
        elif keyword == "required":
            names = [n for n in value if isinstance(n, str)] if isinstance(value, list) else []
            parts.append(conjunction(Some(Keys("name", name=n)) for n in names))
        elif keyword == "properties":
            for name, sub in properties.items():
                parts.append(_every(Keys("name", name=name), child("properties", name), sub))
        elif keyword == "patternProperties":
            for pattern, sub in patterns.items():
                where = child("patternProperties", pattern)
                parts.append(_every(Keys("pattern", pattern=pattern, location=where), where, sub))
        elif keyword == "additionalProperties":
            keys = Keys(
                "outside", names=tuple(properties), patterns=tuple(patterns), location=location
            )
            parts.append(_every(keys, child("additionalProperties"), value))
        elif keyword == "propertyNames":
            if not _trivial(value):
                keys = Keys("not_names", location=child("propertyNames"))
                parts.append(negation(Some(keys)))
        elif keyword in ("dependencies", "dependentRequired", "dependentSchemas"):
            if keyword != "dependencies" and location.draft not in ("2019-09", "2020-12"):
                continue
            for name, needed in (value if isinstance(value, dict) else {}).items():
                if isinstance(needed, list) and keyword != "dependentSchemas":
                    then = conjunction(
                        Some(Keys("name", name=n)) for n in needed if isinstance(n, str)
                    )
                elif keyword == "dependentRequired":
                    continue
                else:
                    then = holds(keyword, name)
                parts.append(disjunction([negation(Some(Keys("name", name=name))), then]))
        elif keyword == "not":
            parts.append(negation(holds("not")))
        elif keyword == "if":
            if "then" not in schema and "else" not in schema:
                continue
            condition = holds("if")
            then = holds("then") if "then" in schema else True
            otherwise = holds("else") if "else" in schema else True
            parts.append(
                disjunction(
                    [conjunction([condition, then]), conjunction([negation(condition), otherwise])]
                )
            )
        elif keyword in ("minProperties", "maxProperties", "unevaluatedProperties"):
            if keyword == "minProperties" and value == 0:
                continue
            if keyword == "unevaluatedProperties" and _trivial(value):
                continue
            raise Inexact(f"{at}/{keyword}: counts or evaluation, not key presence")
        # any other keyword is unknown to JSON Schema and ignored, as validators do
    return conjunction(parts)


def _every(keys: Keys, where: Location, schema: Any) -> Formula:
    """Every key in ``keys`` has a value that satisfies ``schema`` (at ``where``)."""
    if _trivial(schema):
        return True
    if schema is False:
        return negation(Some(keys))
    return negation(Some(keys, where, negated=True))
