"""Schema inputs (dict, bool, JSON text, path, pydantic model) → a JSON value; meta-validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from structgen.schema.errors import SchemaError
from structgen.schema.refs import DEFAULT_DRAFT, dialect_of
from structgen.validation.schema_check import check_schema as validation_issues

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
    """Raise :class:`SchemaError` naming where ``schema`` is not usable JSON Schema.

    What is checked is :func:`structgen.validation.check_schema` (metaschema with formats,
    ECMA-262 patterns, local ``$ref`` s), in the draft ``$schema`` names, else ``default_draft``
    (an unknown ``$schema`` is reported by the compiler, which names it).
    """
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
