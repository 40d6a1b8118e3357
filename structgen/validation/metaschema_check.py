"""The full schema check with jsonschema: the draft's metaschema (formats asserted, so every
``pattern`` is an ECMA-262 regex in the dialect of :mod:`~structgen.validation.patterns`), then
the steps of :mod:`~structgen.validation.schema_structure`. Messages are jsonschema's."""

from __future__ import annotations

from typing import Any

from jsonschema.protocols import Validator

from structgen.validation.documents import json_pointer
from structgen.validation.drafts import specification
from structgen.validation.issues import Issue
from structgen.validation.messages import to_issues
from structgen.validation.schema_structure import structure_issues
from structgen.validation.validator import metaschema_validator

__all__ = ["LEGACY_REF_DRAFTS", "schema_issues"]

# Drafts in which ``$ref`` hides its sibling keywords.
LEGACY_REF_DRAFTS = ("Draft3Validator", "Draft4Validator", "Draft6Validator", "Draft7Validator")


def schema_issues(
    schema: Any, cls: type[Validator], source: str
) -> tuple[list[Issue], list[tuple[Issue, str]]]:
    """(the issues of :func:`~structgen.validation.schema_check.check_schema` under draft class
    ``cls``, and the ``(issue, ref)`` of each reference to another document)."""
    issues = to_issues(metaschema_validator(cls).iter_errors(schema), json_pointer, source=source)
    if issues:
        return issues, []
    legacy = cls.__name__ in LEGACY_REF_DRAFTS
    return structure_issues(schema, source, default=specification(cls), legacy=legacy)
