"""JSON Schema → grammar IR → compiled constraint.

``schema_to_grammar(schema)`` gives a :class:`~structgen.grammar.ir.Grammar` whose language is
exactly the JSON texts (with the whitespace :class:`SchemaOptions` allows) of the values that
validate against ``schema``; ``compile_json_schema(schema, vocab)`` compiles it with the CFG
engine. Keywords that a grammar cannot express exactly raise
:class:`UnsupportedSchemaError` (or, with ``lenient=True``, are ignored with a warning).
Supported drafts: 2020-12 (default), 2019-09, 7, 6, 4 — the ``$schema`` keyword decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from structgen.schema.errors import (
    RemoteRefError,
    SchemaError,
    SchemaWarning,
    UnsatisfiableSchemaError,
    UnsupportedSchemaError,
)
from structgen.schema.options import SchemaOptions

if TYPE_CHECKING:
    from structgen.automata.compiled import CompiledGrammar
    from structgen.grammar.ir import Grammar
    from structgen.vocab import Vocabulary

__all__ = [
    "RemoteRefError",
    "SchemaError",
    "SchemaOptions",
    "SchemaWarning",
    "UnsatisfiableSchemaError",
    "UnsupportedSchemaError",
    "compile_json_schema",
    "example_instance",
    "schema_to_grammar",
]


def schema_to_grammar(
    schema: Any, *, options: SchemaOptions | None = None, **overrides: Any
) -> Grammar:
    """The grammar of the JSON texts valid against ``schema``.

    ``schema``: a dict or bool, JSON text, a path, or a pydantic model class. Options are a
    :class:`SchemaOptions` and/or keyword overrides (``whitespace="compact"``, ``lenient=True``, …).
    What is ignored or dropped is reported as :class:`SchemaWarning` and kept in ``Grammar.warnings``.
    """
    return _schema_to_grammar(schema, options, overrides, stacklevel=3)


def _schema_to_grammar(
    schema: Any, options: SchemaOptions | None, overrides: dict, *, stacklevel: int
) -> Grammar:
    import warnings

    from structgen.schema.compiler import SchemaCompiler
    from structgen.schema.loading import check_schema, load_schema
    from structgen.schema.refs import SchemaDocument

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


def compile_json_schema(
    schema: Any,
    vocab: Vocabulary,
    *,
    options: SchemaOptions | None = None,
    max_lexer_states: int = 200_000,
    max_items: int = 200_000,
    **overrides: Any,
) -> CompiledGrammar:
    """Compile ``schema`` against ``vocab`` (see :func:`schema_to_grammar` for the options)."""
    import time

    from structgen.compiler import compile_grammar

    started = time.perf_counter()
    grammar = _schema_to_grammar(schema, options, overrides, stacklevel=4)
    compiled = compile_grammar(
        grammar, vocab, max_lexer_states=max_lexer_states, max_items=max_items
    )
    compiled.compile_seconds = time.perf_counter() - started
    compiled.source = "json schema"
    return compiled


def example_instance(schema: Any, *, seed: int | None = None, **options: Any) -> Any:
    """A JSON value valid against ``schema``, derived from its grammar (no model, no vocabulary).

    ``seed=None``: the minimal instance; an int: a random one, reproducibly. See
    :func:`structgen.schema.example.example_instance` for the options and errors.
    """
    from structgen.schema.example import example_instance as derive

    return derive(schema, seed=seed, **options)
