"""``oneOf`` over object branches that differ only in which keys they allow or require.

When every key's value schema is the same in every branch that allows the key, whether an
object satisfies branch ``i`` depends only on its key set ``K``: ``Rᵢ ⊆ K`` (``required``) and,
for a closed branch (``additionalProperties: false``), ``K ⊆ Pᵢ`` (its ``properties``). Then
"exactly one branch holds" is a condition on key sets, which the object member machine enforces
(:mod:`structgen.schema.objects`, the ``oneOf`` of ``required`` / ``not: {required}`` branches).
:func:`key_set_schema` writes the ``oneOf`` as one such object schema, or says why it cannot.
"""

from __future__ import annotations

import json
from typing import Any

from structgen.schema.builder import SchemaBuilder
from structgen.schema.exactly_one import kind_location
from structgen.schema.normalize import analyze, flatten, make_node
from structgen.schema.refs import Location

__all__ = ["key_set_schema"]


def key_set_schema(
    builder: SchemaBuilder, siblings: list[Location], branches: list[Location]
) -> Location | str:
    """One object schema equivalent, on objects, to ``oneOf: branches`` next to ``siblings``
    (or why there is none). A branch's value schema that a sibling's ``properties`` also give
    the key is implied there, so it counts as no constraint."""
    implied: dict[str, set[str]] = {}
    for sibling in siblings:
        listed = sibling.schema.get("properties") if isinstance(sibling.schema, dict) else None
        for name, value in (listed or {}).items():
            implied.setdefault(name, set()).add(_text(value))
    shapes = []
    for index, branch in enumerate(branches):
        shape = _shape(builder, branch)
        if isinstance(shape, str):
            return f"branch {index}: {shape}"
        if shape is not None:
            shapes.append(shape)
    if any(_base(s[3]) != _base(shapes[0][3]) for s in shapes):
        return "the branches resolve their references against different bases or drafts"
    closed = {s[2] for s in shapes}
    names: list[str] = []
    for properties, _, _, _ in shapes:
        names.extend(n for n in properties if n not in names)
    for _, required, _, _ in shapes:
        names.extend(n for n in required if n not in names)
    values: dict[str, Any] = {}
    for name in names:
        schemas = []
        for properties, required, is_closed, _ in shapes:
            if name in properties and _text(properties[name]) not in implied.get(name, ()):
                schemas.append(properties[name])
            elif name in properties:
                schemas.append(True)
            elif not is_closed:
                schemas.append(True)  # an open branch takes any value under an unlisted key
        texts = {_text(s) for s in schemas}
        if len(texts) > 1:
            return (
                f"property {name!r} has different value schemas in different branches, so "
                "which branch holds depends on its value, not only on which keys are present"
            )
        values[name] = next((s for s in schemas if s is not True), True)
    if len(closed) > 1:
        return "some branches allow unlisted properties and some do not"
    alternatives = []
    for properties, required, is_closed, _ in shapes:
        alternative: dict[str, Any] = {"required": list(required)}
        outside = [n for n in names if is_closed and n not in properties]
        if outside:
            alternative["not"] = {"anyOf": [{"required": [n]} for n in outside]}
        alternatives.append(alternative)
    schema: dict[str, Any] = {"type": "object", "properties": values, "oneOf": alternatives}
    if closed == {True}:
        schema["additionalProperties"] = False
    where = shapes[0][3] if shapes else branches[0]
    return kind_location(builder, where, schema, draft=where.draft)


def _base(location: Location) -> tuple[str, str]:
    return getattr(location.resolver, "_base_uri", ""), location.draft


def _text(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, default=str)


def _shape(builder: SchemaBuilder, branch: Location) -> tuple | str | None:
    """(properties: name → schema value, required, closed, where they are) of an object branch that
    says nothing else about objects; ``None`` for a branch no object satisfies; a reason
    string otherwise."""
    document = builder.document
    flat = flatten(document, make_node([(branch, True)]))
    if flat.false_at is not None or flat.groups or flat.enum_location() is not None:
        return "it has anyOf/oneOf/enum of its own"
    formats = builder.options.formats != "annotation"
    analysis = analyze(document, flat.plain, formats=formats)
    spec = analysis.object
    if "object" not in analysis.types or analysis.false_reasons:
        return None  # never an object: no part in exactly-one on objects
    if analysis.unsupported:
        return f"{analysis.unsupported[0]}"
    if (
        spec.min_properties or spec.max_properties is not None or spec.property_names
        or spec.dependent_required or spec.forbidden_together or spec.exactly_one
        or spec.conditions or len(spec.owners) > 1
    ):  # fmt: skip
        return "it bounds or conditions its properties beyond properties/required"
    properties: dict[str, Any] = {}
    closed = False
    where = branch
    if spec.owners:
        owner = spec.owners[0]
        if owner.patterns:
            return "it has patternProperties"
        if owner.additional is not None:
            if owner.additional.schema is not False:
                return "its additionalProperties is a schema, not false"
            closed = True
        properties = {name: location.schema for name, location in owner.properties.items()}
        where = owner.location
    return properties, list(spec.required), closed, where
