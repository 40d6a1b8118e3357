"""JSON Schema → grammar IR → compiled constraint.

``schema_to_grammar(schema)`` gives a :class:`~structgen.ir.Grammar` whose language is
exactly the JSON texts (with the whitespace :class:`SchemaOptions` allows) of the values that
validate against ``schema``; ``compile_json_schema(schema, vocab)`` compiles it with the CFG
engine. Keywords that a grammar cannot express exactly raise
:class:`UnsupportedSchemaError` (or, with ``lenient=True``, are ignored with a warning).
Supported drafts: 2020-12 (default), 2019-09, 7, 6, 4 — the ``$schema`` keyword decides.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from structgen.schema.errors import (
        RemoteRefError,
        SchemaError,
        SchemaWarning,
        UnsatisfiableSchemaError,
        UnsupportedSchemaError,
    )
    from structgen.schema.options import SchemaOptions
    from structgen.schema.to_grammar import schema_to_grammar

__all__ = [
    "RemoteRefError",
    "SchemaError",
    "SchemaOptions",
    "SchemaWarning",
    "UnsatisfiableSchemaError",
    "UnsupportedSchemaError",
    "example_instance",
    "schema_to_grammar",
]

# Public names resolved on first use: a cached compile imports ``schema.loading`` and
# ``schema.options`` (which run this file) but never the schema compiler (issue 11).
_HOMES = {
    "RemoteRefError": "errors",
    "SchemaError": "errors",
    "SchemaWarning": "errors",
    "UnsatisfiableSchemaError": "errors",
    "UnsupportedSchemaError": "errors",
    "SchemaOptions": "options",
    "schema_to_grammar": "to_grammar",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def example_instance(schema: Any, *, seed: int | None = None, **options: Any) -> Any:
    """A JSON value valid against ``schema``, derived from its grammar (no model, no vocabulary).

    ``seed=None``: the minimal instance; an int: a random one, reproducibly. See
    :func:`structgen.schema.example.example_instance` for the options and errors.
    """
    from structgen.schema.example import example_instance as derive

    return derive(schema, seed=seed, **options)
