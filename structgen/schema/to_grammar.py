"""JSON Schema → grammar IR: load, check against the metaschema, resolve, compile to rules."""

from __future__ import annotations

import warnings
from typing import Any

from structgen.ir import Grammar
from structgen.schema.compiler import SchemaCompiler
from structgen.schema.errors import SchemaWarning
from structgen.schema.loading import check_schema, load_schema
from structgen.schema.options import SchemaOptions
from structgen.schema.refs import SchemaDocument

__all__ = ["schema_to_grammar", "schema_to_grammar_with"]


def schema_to_grammar(
    schema: Any, *, options: SchemaOptions | None = None, **overrides: Any
) -> Grammar:
    """The grammar of the JSON texts valid against ``schema``.

    ``schema``: a dict or bool, JSON text, a path, or a pydantic model class. Options are a
    :class:`SchemaOptions` and/or keyword overrides (``whitespace="compact"``, ``lenient=True``, …).
    What is ignored or dropped is reported as :class:`SchemaWarning` and kept in
    ``Grammar.warnings``.
    """
    return schema_to_grammar_with(schema, options, overrides, stacklevel=3)


def schema_to_grammar_with(
    schema: Any, options: SchemaOptions | None, overrides: dict, *, stacklevel: int
) -> Grammar:
    """:func:`schema_to_grammar` with its options as passed, warnings raised ``stacklevel`` up."""
    resolved = SchemaOptions.build(options, **overrides)
    value = load_schema(schema)
    if resolved.validate_schema:
        check_schema(value, default_draft=resolved.default_draft)
    document = SchemaDocument(
        value,
        format_assertion=resolved.formats != "annotation",
        default_draft=resolved.default_draft,
    )
    grammar = SchemaCompiler(document, resolved).compile()
    for message in grammar.warnings:
        warnings.warn(message, SchemaWarning, stacklevel=stacklevel)
    return grammar
