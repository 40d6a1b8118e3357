"""JSON Schema drafts: which jsonschema class validates a schema, and how a draft is named.

Drafts have short names (``"2020-12"``, ``"2019-09"``, ``"7"``, ``"6"``, ``"4"``, ``"3"``), the
ones :mod:`structgen.schema.refs` uses; a schema's own ``$schema`` decides unless a caller
forces a draft (the compiler does, reporting an unknown dialect its own way).
"""

from __future__ import annotations

from typing import Any

import jsonschema
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing.jsonschema import Specification, specification_with

from structgen.validation.issues import InvalidSchemaError

__all__ = ["DEFAULT_DRAFT", "DRAFT_CLASSES", "draft_class", "draft_name", "specification"]

DEFAULT_DRAFT = "2020-12"
DRAFT_CLASSES: dict[str, type[Validator]] = {
    "2020-12": jsonschema.Draft202012Validator,
    "2019-09": jsonschema.Draft201909Validator,
    "7": jsonschema.Draft7Validator,
    "6": jsonschema.Draft6Validator,
    "4": jsonschema.Draft4Validator,
    "3": jsonschema.Draft3Validator,
}
_DRAFT_NAMES = {
    "Draft3Validator": "draft-03",
    "Draft4Validator": "draft-04",
    "Draft6Validator": "draft-06",
    "Draft7Validator": "draft-07",
    "Draft201909Validator": "draft 2019-09",
    "Draft202012Validator": "draft 2020-12",
}


def draft_class(
    schema: Any, *, source: str = "<schema>", draft: str | None = None
) -> type[Validator]:
    """The class for ``draft`` if given, else for the draft ``$schema`` names (2020-12 when
    absent or not a string: the metaschema judges such values).

    Raises :class:`InvalidSchemaError` for a ``$schema`` naming no known draft.
    """
    if draft is not None:
        return DRAFT_CLASSES[draft]
    dialect = schema.get("$schema") if isinstance(schema, dict) else None
    if not isinstance(dialect, str):
        return DRAFT_CLASSES[DEFAULT_DRAFT]
    cls: type[Validator] | None = validator_for(schema, default=None)
    if cls is None:
        raise InvalidSchemaError(
            f"{source}: #/$schema: unknown dialect {dialect!r}; known: draft-03, -04, -06, -07 "
            "(e.g. http://json-schema.org/draft-07/schema#), 2019-09 and 2020-12 "
            "(https://json-schema.org/draft/2020-12/schema)"
        )
    return cls


def draft_name(cls: type[Validator]) -> str:
    """How messages name the draft of ``cls`` (``draft-07``, ``draft 2020-12``)."""
    return _DRAFT_NAMES.get(cls.__name__, cls.__name__)


def specification(cls: type[Validator]) -> Specification[Any]:
    """The ``referencing`` specification of draft class ``cls`` (which keywords hold
    subschemas, how ``$id`` is read)."""
    return specification_with(cls.META_SCHEMA["$schema"])
