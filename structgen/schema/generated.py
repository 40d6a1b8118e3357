"""A generated JSON text read back: parsed, checked against its schema, a pydantic model built.

Generation is exact, so an instance that does not validate is a structgen bug — unless the
schema was compiled ``lenient`` (keywords left unenforced), which is the user's choice and says so.
"""

from __future__ import annotations

import json
from typing import Any

from structgen.errors import MatcherError
from structgen.schema.errors import SchemaError
from structgen.schema.loading import load_schema
from structgen.validation import DocumentValidator

__all__ = ["read_generated_json"]


def read_generated_json(
    text: str, schema: Any, *, lenient: bool = False, checked: Any = None
) -> Any:
    """The value of ``text``, validated against ``schema`` (``checked``: the schema to validate
    against when ``schema`` is not it, e.g. a loaded file); a pydantic model class gets an
    instance of itself."""
    value = json.loads(text)
    issues = DocumentValidator(load_schema(schema if checked is None else checked)).issues(value)
    if issues and lenient:
        raise SchemaError(
            f"the generated JSON does not validate: {issues[0].location}: {issues[0].message}; "
            "lenient=True left keywords unenforced (see the SchemaWarnings): call generate() "
            f"for the text, or drop lenient=True: {text!r}"
        )
    if issues:
        raise MatcherError(
            f"generated JSON does not validate (a structgen bug): {issues[0].location}: "
            f"{issues[0].message}"
        )
    if isinstance(schema, type) and hasattr(schema, "model_validate"):
        return schema.model_validate(value)
    return value
