"""The vocabulary of JSON Schema keywords that the normaliser and its helpers share."""

from __future__ import annotations

from typing import Any

__all__ = ["ALL_TYPES", "ANNOTATIONS", "OBJECT_KEYWORDS", "SCALAR_TYPES", "schema_types"]

ALL_TYPES = frozenset({"null", "boolean", "object", "array", "string", "number", "integer"})
SCALAR_TYPES = ALL_TYPES - {"object"}  # every type but objects (arrays included)
# Keywords that constrain nothing.
ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default"})
# Keywords that hold on every value that is not an object.
OBJECT_KEYWORDS = frozenset(
    {
        "properties", "patternProperties", "additionalProperties", "required", "minProperties",
        "maxProperties", "propertyNames", "dependencies", "dependentRequired",
        "dependentSchemas", "unevaluatedProperties",
    }
)  # fmt: skip


def schema_types(value: Any) -> frozenset[str]:
    """The JSON types a ``type`` keyword's value names ("number" includes "integer")."""
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    out: set[str] = set()
    for name in names:
        out |= {"number", "integer"} if name == "number" else {name}
    return frozenset(out & ALL_TYPES)
