"""Schema inputs (dict, bool, JSON text, path, pydantic model) → a JSON value; meta-validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from structgen.schema.errors import SchemaError
from structgen.schema.refs import DEFAULT_DRAFT, dialect_of, escape_pointer

__all__ = ["check_schema", "load_schema"]


def load_schema(source: Any) -> dict | bool:
    """The schema as a JSON value, from a dict, a bool, JSON text, a path or a pydantic model class."""
    if isinstance(source, (dict, bool)):
        return source
    if isinstance(source, type) and hasattr(source, "model_json_schema"):
        return source.model_json_schema()
    if hasattr(source, "model_json_schema") and callable(source.model_json_schema):
        return source.model_json_schema()
    if isinstance(source, Path):
        return _parse(source.read_text(encoding="utf-8"), str(source))
    if isinstance(source, str):
        text = source.strip()
        if text.startswith("{") or text in ("true", "false"):
            return _parse(text, "<schema text>")
        path = Path(source)
        if path.is_file():
            return _parse(path.read_text(encoding="utf-8"), source)
        raise SchemaError(f"the schema is neither JSON text nor an existing file: {source[:80]!r}")
    raise SchemaError(
        f"expected a JSON Schema as a dict, bool, JSON text, path or pydantic model, got {type(source).__name__}"
    )


def _parse(text: str, where: str) -> dict | bool:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise SchemaError(
            f"{where} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(value, (dict, bool)):
        raise SchemaError(
            f"{where}: a JSON Schema is an object or a boolean, got {type(value).__name__}"
        )
    return value


def check_schema(schema: dict | bool, *, default_draft: str = DEFAULT_DRAFT) -> None:
    """Validate ``schema`` against its dialect's meta-schema; raise :class:`SchemaError` naming where.

    ``format: regex`` is not checked here (Python's ``re`` is not ECMA-262); patterns are parsed
    by our own ECMA-262 parser later, which names the keyword that holds a bad one.
    """
    from jsonschema import exceptions, validators

    draft = (
        dialect_of(schema.get("$schema")) if isinstance(schema, dict) else None
    ) or default_draft
    cls = {
        "2020-12": validators.Draft202012Validator,
        "2019-09": validators.Draft201909Validator,
        "7": validators.Draft7Validator,
        "6": validators.Draft6Validator,
        "4": validators.Draft4Validator,
    }[draft]
    meta = cls(cls.META_SCHEMA)
    error = exceptions.best_match(meta.iter_errors(schema))
    if error is not None:
        pointer = "#" + "".join("/" + escape_pointer(t) for t in error.absolute_path)
        raise SchemaError(f"invalid JSON Schema (draft {draft}): {error.message}", pointer=pointer)
