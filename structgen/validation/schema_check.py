"""What makes a schema usable — the one definition, for ``structgen check-schema``, the
validator and the compiler:

1. its draft's metaschema accepts it (formats asserted, so every ``pattern`` is an ECMA-262
   regex in the dialect of :mod:`~structgen.validation.patterns`);
2. then every ``$ref`` that points inside the schema resolves, no ``$ref`` loops back to where
   it started without moving into the value (:mod:`~structgen.validation.reference_loops`),
   and every ``pattern`` and ``patternProperties`` key compiles (older metaschemas do not say
   so for the keys).

References to other documents are not reported here (they may be fine elsewhere); a validator
refuses them (:class:`~structgen.validation.issues.SchemaReferenceError`), as the compiler does.

Step 1 is jsonschema's (:mod:`~structgen.validation.metaschema_check`), except where
:mod:`~structgen.validation.quick_check` is certain the metaschema accepts the schema: then
jsonschema is not loaded at all (issue 11: ~60 ms of a fresh process's first compile). Step 2
walks subschemas with ``referencing`` (~30 ms to import, ~2 ms a schema), except where
:mod:`~structgen.validation.local_references` is certain it has nothing to report: every
reference a JSON pointer into the schema that resolves, no loop among the same-value keywords
of any object, every ``pattern`` text and ``patternProperties`` key at any depth compiling (a
superset of what step 2 checks).
"""

from __future__ import annotations

import os
from typing import Any

from structgen.validation.documents import display_name, read_json
from structgen.validation.issues import Issue
from structgen.validation.local_references import locally_sound
from structgen.validation.quick_check import METASCHEMA_URIS, metaschema_accepts

__all__ = ["check_schema", "check_schema_file"]

_DEFAULT_DRAFT = "2020-12"  # as structgen.validation.drafts.DEFAULT_DRAFT
_LEGACY_REF_DRAFTS = ("3", "4", "6", "7")  # ``$ref`` hides its sibling keywords


def check_schema(schema: Any, *, source: str = "<schema>", draft: str | None = None) -> list[Issue]:
    """Every issue of ``schema`` (see the module doc), ordered; ``[]`` when it is usable.

    ``draft`` (``"2020-12"``, ``"7"``…) overrides ``$schema``; without it an unknown ``$schema``
    raises :class:`~structgen.validation.issues.InvalidSchemaError`.
    """
    quick = draft if draft is not None else _undeclared_draft(schema)
    if quick is not None and metaschema_accepts(schema, quick):
        if locally_sound(schema):
            return []
        # lazily loaded subsystem on the hot start path: referencing (and attrs)
        from referencing.jsonschema import specification_with

        from structgen.validation.schema_structure import structure_issues

        meta = METASCHEMA_URIS[quick]
        default = specification_with(meta)
        legacy = quick in _LEGACY_REF_DRAFTS
        issues, _ = structure_issues(schema, source, default=default, legacy=legacy)
        return issues
    # lazily loaded subsystem on the hot start path: jsonschema and its format packages
    from structgen.validation.drafts import draft_class
    from structgen.validation.metaschema_check import schema_issues

    issues, _ = schema_issues(schema, draft_class(schema, source=source, draft=draft), source)
    return issues


def check_schema_file(path: str | os.PathLike[str]) -> list[Issue]:
    """``check_schema`` of a file (``-`` reads standard input)."""
    return check_schema(read_json(path), source=display_name(path))


def _undeclared_draft(schema: Any) -> str | None:
    """The default draft when ``schema`` names none (``$schema`` absent or not a string, as
    :func:`~structgen.validation.drafts.draft_class` reads it); None when it names one."""
    dialect = schema.get("$schema") if isinstance(schema, dict) else None
    return None if isinstance(dialect, str) else _DEFAULT_DRAFT
