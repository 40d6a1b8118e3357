"""``$ref`` resolution without the network: the registry validators use (bundled metaschemas,
every other retrieval refused), the walk over a schema's subschemas with their base URIs, and
the references that resolve to nothing, each with a message saying why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import referencing
import referencing.exceptions
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing.jsonschema import DRAFT202012, Specification

from structgen.validation.documents import json_pointer
from structgen.validation.issues import Issue
from structgen.validation.specifications import schemas_only

__all__ = [
    "OFFLINE",
    "REFERENCE_ERRORS",
    "Refused",
    "reference_issues",
    "reference_problem",
    "refusing_registry",
    "subschemas",
]

Path = tuple[str | int, ...]


class Refused(Exception):
    """A retrieval the offline registry refused; ``uri`` is what would have been fetched."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        super().__init__(uri)


def _refuse(uri: str) -> Any:
    raise Refused(uri)


def refusing_registry() -> referencing.Registry[Any]:
    """An empty registry that refuses every retrieval (validators add the schema itself)."""
    return referencing.Registry(retrieve=_refuse)  # type: ignore[call-arg]


# Resolves the metaschemas locally and refuses every other retrieval.
OFFLINE: referencing.Registry[Any] = METASCHEMAS.combine(refusing_registry())

REFERENCE_ERRORS = (
    referencing.exceptions.Unresolvable,
    referencing.exceptions.NoSuchResource,
    referencing.exceptions.Unretrievable,
    referencing.exceptions.CannotDetermineSpecification,
)


def _paths(schema: Any) -> dict[int, Path]:
    """The JSON path of every object and array in ``schema``, by identity."""
    paths: dict[int, Path] = {}
    stack: list[tuple[Any, Path]] = [(schema, ())]
    while stack:
        node, path = stack.pop()
        paths[id(node)] = path
        if isinstance(node, dict):
            items: Any = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        stack.extend(
            (value, (*path, key)) for key, value in items if isinstance(value, (dict, list))
        )
    return paths


def subschemas(
    schema: Any, *, default: Specification[Any] = DRAFT202012
) -> Iterator[tuple[Path, Any, Any]]:
    """Yield ``(path, contents, resolver)`` for every (sub)schema, keyword-aware, with base URIs;
    ``default`` is the draft of a schema without ``$schema``."""
    paths = _paths(schema)
    root = schemas_only(default.detect(schema)).create_resource(schema)
    pending = [(root, OFFLINE.resolver_with_root(root))]
    while pending:
        resource, resolver = pending.pop()
        resolver = resolver.in_subresource(resource)
        yield paths.get(id(resource.contents), ()), resource.contents, resolver
        pending.extend((sub, resolver) for sub in resource.subresources())


def reference_problem(error: BaseException, keyword: str, ref: str) -> tuple[str, bool]:
    """(message, remote) for a reference whose lookup failed."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, Refused):
            fetched = "" if cause.uri == ref else f" (resolved to {cause.uri!r})"
            message = (
                f"{keyword} {ref!r}{fetched} is outside this schema and structgen never fetches "
                "$ref targets (network or disk); bundle it into this schema, e.g. under $defs"
            )
            return message, True
        if isinstance(cause, referencing.exceptions.PointerToNowhere):
            return f"{keyword} {ref!r} does not resolve (no value at that JSON pointer)", False
        if isinstance(cause, referencing.exceptions.NoSuchAnchor):
            return f"{keyword} {ref!r} does not resolve (no anchor named {cause.anchor!r})", False
        if isinstance(cause, referencing.exceptions.InvalidAnchor):
            return f"{keyword} {ref!r} does not resolve (not a valid anchor reference)", False
        cause = cause.__cause__ or cause.__context__
    return f"{keyword} {ref!r} does not resolve ({type(error).__name__})", False


def reference_issues(
    schema: Any, source: str, *, default: Specification[Any] = DRAFT202012
) -> Iterator[tuple[Issue, str, bool]]:
    """``(issue, ref, remote)`` for every ``$ref`` (and the document part of ``$dynamicRef``,
    ``$recursiveRef``) that does not resolve offline; ``default`` as in :func:`subschemas`."""
    for path, contents, resolver in subschemas(schema, default=default):
        if not isinstance(contents, dict):
            continue
        for keyword in ("$ref", "$dynamicRef", "$recursiveRef"):
            ref = contents.get(keyword)
            if not isinstance(ref, str):
                continue
            target = ref if keyword == "$ref" else ref.partition("#")[0]
            if not target:
                continue
            try:
                resolver.lookup(target)
            except REFERENCE_ERRORS as error:
                message, remote = reference_problem(error, keyword, ref)
                yield Issue(source, json_pointer((*path, keyword)), message), ref, remote
