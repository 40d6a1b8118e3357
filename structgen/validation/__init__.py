"""Validate JSON documents against JSON Schemas, and schemas against their metaschemas.

The library behind ``structgen validate``, ``check-schema`` and ``example``, the compiler's
metaschema check and its ``enum``/``const`` oracle, and ``generate_json``: one validator
(:mod:`~structgen.validation.validator`). Every draft ``jsonschema`` knows (3, 4, 6, 7, 2019-09,
2020-12) is honoured through ``$schema`` (default 2020-12), ``format`` is asserted, ``pattern``
and ``patternProperties`` are ECMA-262 (:mod:`~structgen.validation.patterns`, run by
``regress``), and ``$ref`` targets are never fetched.

Modules: ``documents`` (reading and parsing JSON, locations), ``issues`` (what is reported),
``patterns`` and ``keywords`` (ECMA-262 regexes), ``format_checks``, ``drafts``,
``references``, ``messages``, ``validator`` (the class factory), ``schema_check`` (the one
``check_schema``: ``quick_check`` or jsonschema's ``metaschema_check``, then
``schema_structure``), ``document_validator``, and ``formats`` (the compiler's format grammars).

Numbers are compared as a JSON consumer reads them: an integer literal (no fraction, no
exponent) exactly, any other number as the nearest float64. So ``0.29999999999999999`` is
``0.3`` and fails ``exclusiveMaximum: 0.3``, ``8E-758`` is ``0.0`` and fails
``exclusiveMinimum: 0``, ``1e400`` is infinite, and ``9007199254740993`` exceeds ``maximum:
9007199254740992``. The compiler generates numbers within their bounds both as exact decimals
and after float64 parsing, so what it generates validates here; a non-integer ``multipleOf`` is
decimal on the shortest ``repr`` of the double read (``0.3`` is a multiple of ``0.1``), as the
compiler enforces it. Objects with a repeated key are reported (parsers disagree on which value
counts); the value validated is the last one.

Importing this package is light (no ``jsonschema``): the names below load their module on
first use, so ``import structgen.validation.formats`` stays cheap for the compiler.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from structgen.validation.document_validator import DocumentValidator
    from structgen.validation.documents import (
        STDIN,
        JSONFileError,
        display_name,
        iter_json_lines,
        json_path,
        json_pointer,
        parse_json,
        read_json,
    )
    from structgen.validation.issues import (
        DocumentResult,
        InvalidSchemaError,
        Issue,
        SchemaReferenceError,
    )
    from structgen.validation.patterns import PatternError, ecma_search, is_ecma_regex
    from structgen.validation.schema_check import check_schema, check_schema_file
    from structgen.validation.validator import make_validator

__all__ = [
    "STDIN",
    "DocumentResult",
    "DocumentValidator",
    "InvalidSchemaError",
    "Issue",
    "JSONFileError",
    "PatternError",
    "SchemaReferenceError",
    "check_schema",
    "check_schema_file",
    "display_name",
    "ecma_search",
    "is_ecma_regex",
    "iter_json_lines",
    "json_path",
    "json_pointer",
    "make_validator",
    "parse_json",
    "read_json",
]

_HOMES = {
    "DocumentValidator": "document_validator",
    "STDIN": "documents",
    "JSONFileError": "documents",
    "display_name": "documents",
    "iter_json_lines": "documents",
    "json_path": "documents",
    "json_pointer": "documents",
    "parse_json": "documents",
    "read_json": "documents",
    "DocumentResult": "issues",
    "InvalidSchemaError": "issues",
    "Issue": "issues",
    "SchemaReferenceError": "issues",
    "PatternError": "patterns",
    "ecma_search": "patterns",
    "is_ecma_regex": "patterns",
    "check_schema": "schema_check",
    "check_schema_file": "schema_check",
    "make_validator": "validator",
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
