"""Pieces of ``not`` that the normaliser reads: one scalar keyword's complement, what a schema
about objects says of the other types, and the conditions it leaves on objects.

A keyword of one JSON type holds on every value of the others, so ``not: {minLength: 3}`` is
"a string shorter than 3" and ``not: {required: [a]}`` "an object without a". A schema made of
object keywords (and ``type``, ``$ref``, the connectives) holds on each other type either always
or never (:func:`off_objects`); its complement on objects is an :class:`ObjectCondition`,
enforced by the object member machine (:mod:`structgen.schema.conditions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from structgen.schema.errors import SchemaError
from structgen.schema.keywords import ANNOTATIONS, OBJECT_KEYWORDS, SCALAR_TYPES, schema_types
from structgen.schema.numbers import Bound, to_decimal
from structgen.schema.refs import Location, SchemaDocument

__all__ = ["ObjectCondition", "ScalarChange", "negate_scalar", "off_objects"]

_MAX_DEPTH = 32
# Keywords that never constrain anything (identifiers, definitions, branches read with "if").
_INERT = ANNOTATIONS | {
    "$schema", "$id", "id", "$anchor", "$defs", "definitions", "$vocabulary", "$dynamicAnchor",
    "$recursiveAnchor", "then", "else", "deprecated", "readOnly", "writeOnly",
    "contentEncoding", "contentMediaType", "contentSchema",
}  # fmt: skip
# Keywords whose truth on a scalar or array depends on the value.
_VALUE_KEYWORDS = frozenset(
    {
        "minLength", "maxLength", "pattern", "format", "multipleOf", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "items", "prefixItems", "additionalItems",
        "contains", "minContains", "maxContains", "minItems", "maxItems", "uniqueItems",
        "unevaluatedItems", "enum", "const", "$dynamicRef", "$recursiveRef",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ObjectCondition:
    """The subschema at ``location`` holds (``negated``: fails) on the object, when key ``when``
    is present (``None``: always): from ``keyword`` — ``not``, schema-valued dependencies, or
    ``if``/``then``/``else`` (``location`` then holds those three alone)."""

    location: Location
    negated: bool = False
    when: str | None = None
    keyword: str = "dependencies"


@dataclass(frozen=True)
class ScalarChange:
    """The complement of one scalar keyword within its ``family`` (``"string"``/``"number"``):
    the spec ``field`` narrowed to ``value`` (``field`` None: no value of the family is left)."""

    family: str
    field: str | None = None
    value: Any = None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if float(value).is_integer() else None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def negate_scalar(keyword: str, value: Any, draft: str) -> ScalarChange | None:
    """The values of one type family that fail ``keyword: value`` alone (``None``: a keyword
    whose complement is not one narrowing of a string or number spec)."""
    if keyword == "pattern" and isinstance(value, str):
        return ScalarChange("string", "excluded_patterns", value)
    if keyword in ("minLength", "maxLength"):
        n = _count(value)
        if n is None:
            return None
        if keyword == "minLength":
            return ScalarChange("string", "max_length", n - 1) if n > 0 else ScalarChange("string")
        return ScalarChange("string", "min_length", n + 1)
    if not _number(value):
        return None
    bound = to_decimal(value)
    if keyword == "multipleOf":
        return ScalarChange("number", "not_multiples", bound) if bound > 0 else None
    if keyword == "minimum":
        return ScalarChange("number", "high", Bound(bound, True))
    if keyword == "maximum":
        return ScalarChange("number", "low", Bound(bound, True))
    if draft != "4" and keyword == "exclusiveMinimum":
        return ScalarChange("number", "high", Bound(bound, False))
    if draft != "4" and keyword == "exclusiveMaximum":
        return ScalarChange("number", "low", Bound(bound, False))
    return None


def off_objects(
    document: SchemaDocument, location: Location, depth: int = 0
) -> frozenset[str] | None:
    """The types other than object on which the subschema at ``location`` holds, when it holds
    on all or none of each (``None``: its truth depends on the value, or integers and other
    numbers differ)."""
    schema = location.schema
    if schema is True:
        return SCALAR_TYPES
    if schema is False:
        return frozenset()
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None

    def child(*path) -> frozenset[str] | None:
        return off_objects(document, document.child(location, *path), depth + 1)

    out = SCALAR_TYPES
    for keyword, value in schema.items():
        if keyword in _INERT or keyword in OBJECT_KEYWORDS:
            continue
        found: frozenset[str] | None
        if keyword in _VALUE_KEYWORDS:
            return None
        if keyword == "$ref":
            if not isinstance(value, str):
                continue
            try:
                target = document.resolve(location, value)
            except SchemaError:
                return None
            found = off_objects(document, target, depth + 1)
            if location.legacy_ref:
                return found  # drafts ≤ 7: the siblings of $ref are ignored
        elif keyword == "type":
            found = schema_types(value) & SCALAR_TYPES
        elif keyword in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            branches = [child(keyword, i) for i in range(len(value))]
            if any(b is None for b in branches):
                return None
            if keyword == "allOf":
                found = SCALAR_TYPES.intersection(*branches)  # type: ignore[arg-type]
            elif keyword == "anyOf":
                found = frozenset().union(*branches)  # type: ignore[arg-type]
            else:
                found = frozenset(
                    t for t in SCALAR_TYPES if sum(t in b for b in branches) == 1  # type: ignore[operator]
                )
        elif keyword == "not":
            inner = child("not")
            found = None if inner is None else SCALAR_TYPES - inner
        elif keyword == "if":
            condition = child("if")
            then = child("then") if "then" in schema else SCALAR_TYPES
            otherwise = child("else") if "else" in schema else SCALAR_TYPES
            if condition is None or then is None or otherwise is None:
                return None
            found = (condition & then) | ((SCALAR_TYPES - condition) & otherwise)
        else:
            continue  # unknown keywords are ignored, as validators do
        if found is None:
            return None
        out &= found
    if ("number" in out) != ("integer" in out):
        return None  # holds on integers but not on other numbers, or the reverse
    return out
