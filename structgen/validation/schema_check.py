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
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from jsonschema.protocols import Validator
from referencing.jsonschema import Specification

from structgen.validation.documents import display_name, json_pointer, read_json
from structgen.validation.drafts import draft_class, specification
from structgen.validation.issues import Issue
from structgen.validation.messages import to_issues
from structgen.validation.patterns import PatternError, compile_pattern
from structgen.validation.reference_loops import reference_loops
from structgen.validation.references import reference_issues, subschemas
from structgen.validation.validator import metaschema_validator

__all__ = ["check_schema", "check_schema_file", "schema_issues"]

# Drafts in which ``$ref`` hides its sibling keywords.
_LEGACY_REF_DRAFTS = ("Draft3Validator", "Draft4Validator", "Draft6Validator", "Draft7Validator")


def check_schema(schema: Any, *, source: str = "<schema>", draft: str | None = None) -> list[Issue]:
    """Every issue of ``schema`` (see the module doc), ordered; ``[]`` when it is usable.

    ``draft`` (``"2020-12"``, ``"7"``…) overrides ``$schema``; without it an unknown ``$schema``
    raises :class:`~structgen.validation.issues.InvalidSchemaError`.
    """
    issues, _ = schema_issues(schema, draft_class(schema, source=source, draft=draft), source)
    return issues


def check_schema_file(path: str | os.PathLike[str]) -> list[Issue]:
    """``check_schema`` of a file (``-`` reads standard input)."""
    return check_schema(read_json(path), source=display_name(path))


def schema_issues(
    schema: Any, cls: type[Validator], source: str
) -> tuple[list[Issue], list[tuple[Issue, str]]]:
    """(the issues of ``check_schema`` under draft class ``cls``, and the ``(issue, ref)`` of
    each reference to another document)."""
    issues = to_issues(metaschema_validator(cls).iter_errors(schema), json_pointer, source=source)
    if issues:
        return issues, []
    remote: list[tuple[Issue, str]] = []
    default = specification(cls)
    for issue, ref, is_remote in reference_issues(schema, source, default=default):
        if is_remote:
            remote.append((issue, ref))
        else:
            issues.append(issue)
    legacy = cls.__name__ in _LEGACY_REF_DRAFTS
    issues.extend(reference_loops(schema, source, default=default, legacy=legacy))
    issues.extend(_pattern_issues(schema, source, default))
    return sorted(issues, key=lambda issue: issue.location), remote


def _pattern_issues(schema: Any, source: str, default: Specification[Any]) -> Iterator[Issue]:
    for path, contents, _ in subschemas(schema, default=default):
        if not isinstance(contents, dict):
            continue
        located = []
        if isinstance(pattern := contents.get("pattern"), str):
            located.append(((*path, "pattern"), pattern))
        if isinstance(patterns := contents.get("patternProperties"), dict):
            located.extend(((*path, "patternProperties", key), key) for key in patterns)
        for where, text in located:
            try:
                compile_pattern(text)
            except PatternError as error:
                yield Issue(source, json_pointer(where), str(error))
