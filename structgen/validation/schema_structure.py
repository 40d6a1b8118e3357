"""What a schema's metaschema does not say but a usable schema needs, checked once the
metaschema accepts it: every ``$ref`` that points inside the schema resolves, no ``$ref`` loops
back to where it started without moving into the value
(:mod:`~structgen.validation.reference_loops`), and every ``pattern`` and
``patternProperties`` key compiles (older metaschemas do not say so for the keys).

No jsonschema here: the compiler's quick path (:mod:`~structgen.validation.quick_check`) runs
these steps without loading it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from referencing.jsonschema import Specification

from structgen.validation.documents import json_pointer
from structgen.validation.issues import Issue
from structgen.validation.patterns import PatternError, compile_pattern
from structgen.validation.reference_loops import reference_loops
from structgen.validation.references import reference_issues, subschemas

__all__ = ["structure_issues"]


def structure_issues(
    schema: Any, source: str, *, default: Specification[Any], legacy: bool
) -> tuple[list[Issue], list[tuple[Issue, str]]]:
    """(the issues, ordered by location; the ``(issue, ref)`` of each reference to another
    document). ``default``: the draft of a schema without ``$schema``; ``legacy``: whether
    ``$ref`` hides its siblings (drafts ≤ 7)."""
    issues: list[Issue] = []
    remote: list[tuple[Issue, str]] = []
    for issue, ref, is_remote in reference_issues(schema, source, default=default):
        if is_remote:
            remote.append((issue, ref))
        else:
            issues.append(issue)
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
