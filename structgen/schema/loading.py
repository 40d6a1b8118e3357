"""Schema inputs (dict, bool, JSON text, a file path, pydantic model) → a JSON value;
meta-validation.

Text is text: a ``str`` is always parsed as JSON, never opened, so schema text from an
untrusted caller cannot make structgen read local files. Files come as ``os.PathLike``
(``pathlib.Path``) or through ``path=``, and are read by one function
(:func:`structgen.validation.read_json`, shared with ``structgen validate``): UTF-8 with or
without a byte-order mark; other bytes are a :class:`SchemaError` naming the file and the byte
offset, and no error quotes the file's contents.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from structgen.schema.errors import SchemaError
from structgen.schema.refs import DEFAULT_DRAFT, dialect_of
from structgen.validation.documents import JSONFileError, read_json

__all__ = ["check_schema", "load_schema", "read_schema_file"]

_BOM = "\ufeff"


def load_schema(source: Any = None, *, path: str | os.PathLike[str] | None = None) -> dict | bool:
    """The schema as a JSON value, from a dict, a bool, JSON text (``str``), a file
    (``os.PathLike``, or ``path=``) or a pydantic model class. A ``str`` is never read as a file.
    """
    if path is not None:
        if source is not None:
            raise SchemaError("pass the schema or path=, not both")
        return read_schema_file(path)
    if isinstance(source, (dict, bool)):
        return source
    if isinstance(source, type) and hasattr(source, "model_json_schema"):
        return source.model_json_schema()
    if hasattr(source, "model_json_schema") and callable(source.model_json_schema):
        return source.model_json_schema()
    if isinstance(source, os.PathLike):
        return read_schema_file(source)
    if isinstance(source, str):
        return _parse_text(source)
    raise SchemaError(
        "expected a JSON Schema as a dict, bool, JSON text, pathlib.Path or pydantic model, "
        f"got {type(source).__name__}"
    )


def read_schema_file(path: str | os.PathLike[str]) -> dict | bool:
    """The schema in the file at ``path`` (``-``: standard input), as ``structgen validate``
    reads it."""
    if Path(path).is_dir():
        raise SchemaError(f"{os.fspath(path)} is a directory, not a schema file")
    try:
        value = read_json(path)
    except JSONFileError as error:
        raise SchemaError(str(error)) from None
    return _as_schema(value, os.fspath(path))


def _parse_text(text: str) -> dict | bool:
    try:
        value = json.loads(text.removeprefix(_BOM))
    except json.JSONDecodeError as error:
        hint = ""
        if _looks_like_a_path(text):
            hint = (
                f"; a string is schema text and never read as a file: pass "
                f"pathlib.Path({text!r}) to load a schema file"
            )
        raise SchemaError(
            f"the schema text is not valid JSON: {error.msg} "
            f"(line {error.lineno}, column {error.colno}){hint}"
        ) from None
    except RecursionError:
        raise SchemaError("the schema text is nested too deeply to parse") from None
    return _as_schema(value, "the schema text")


def _looks_like_a_path(text: str) -> bool:
    return len(text) < 4096 and "\n" not in text and not text.lstrip().startswith(("{", "["))


def _as_schema(value: Any, where: str) -> dict | bool:
    if not isinstance(value, (dict, bool)):
        raise SchemaError(
            f"{where}: a JSON Schema is an object or a boolean, got {type(value).__name__}"
        )
    return value


def check_schema(schema: dict | bool, *, default_draft: str = DEFAULT_DRAFT) -> None:
    """Raise :class:`SchemaError` naming where ``schema`` is not usable JSON Schema.

    What is checked is :func:`structgen.validation.check_schema` (metaschema with formats,
    ECMA-262 patterns, local ``$ref`` s), in the draft ``$schema`` names, else ``default_draft``
    (an unknown ``$schema`` is reported by the compiler, which names it).
    """
    # imported on first use: a cached compile never loads jsonschema (issue 11)
    from structgen.validation.schema_check import check_schema as validation_issues

    draft = (
        dialect_of(schema.get("$schema")) if isinstance(schema, dict) else None
    ) or default_draft
    issues = validation_issues(schema, draft=draft)
    if issues:
        first = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        raise SchemaError(
            f"invalid JSON Schema (draft {draft}): {first.message}{more}", pointer=first.location
        )
