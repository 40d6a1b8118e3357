"""``$ref`` loops: subschemas that apply themselves again at the same place in the document.

``{"$ref": "#"}``, ``{"allOf": [{"$ref": "#"}]}`` or two ``$defs`` referring to each other ask a
validator to check the same value against the same subschema forever, whatever the document;
such a schema is unusable (an error of the schema, not of the document). Recursion through a
keyword that moves into the document (``properties``, ``items``, …) is fine and not reported:
only ``$ref`` and the keywords that apply a subschema to the same value (``allOf``, ``anyOf``,
``oneOf``, ``not``, ``if``/``then``/``else``, ``dependentSchemas``) are followed. In drafts up to
7 a ``$ref`` hides its sibling keywords, so they are not followed there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from referencing.jsonschema import Specification

from structgen.validation.documents import json_pointer
from structgen.validation.issues import Issue
from structgen.validation.references import REFERENCE_ERRORS, subschemas

__all__ = ["reference_loops"]

_ONE = ("not", "if", "then", "else")
_MANY = ("allOf", "anyOf", "oneOf")

Path = tuple[str | int, ...]


def _same_place(contents: dict[str, Any], resolver: Any, *, legacy: bool) -> Iterator[Any]:
    """The subschemas ``contents`` applies to the very value it is applied to."""
    ref = contents.get("$ref")
    if isinstance(ref, str):
        try:
            yield resolver.lookup(ref).contents
        except REFERENCE_ERRORS:  # reported by reference_issues
            pass
        if legacy:
            return
    for keyword in _ONE:
        yield contents.get(keyword)
    for keyword in _MANY:
        value = contents.get(keyword)
        if isinstance(value, list):
            yield from value
    dependent = contents.get("dependentSchemas")
    if isinstance(dependent, dict):
        yield from dependent.values()


def reference_loops(
    schema: Any, source: str, *, default: Specification[Any], legacy: bool
) -> Iterator[Issue]:
    """One issue per loop (located at the ``$ref`` that closes it); ``default`` is the draft of
    a schema without ``$schema``, ``legacy`` whether ``$ref`` hides its siblings (drafts ≤ 7)."""
    nodes: dict[int, tuple[Path, dict[str, Any], Any]] = {}
    for path, contents, resolver in subschemas(schema, default=default):
        if isinstance(contents, dict):
            nodes.setdefault(id(contents), (path, contents, resolver))
    edges = {
        key: [id(target) for target in _same_place(contents, resolver, legacy=legacy)
              if isinstance(target, dict) and id(target) in nodes]
        for key, (_, contents, resolver) in nodes.items()
    }  # fmt: skip
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for root in nodes:
        if root in state:
            continue
        stack: list[tuple[int, Iterator[int]]] = [(root, iter(edges[root]))]
        trail = [root]
        state[root] = 1
        while stack:
            key, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                stack.pop()
                trail.pop()
                state[key] = 2
                continue
            if state.get(following) == 1:
                yield _loop_issue(trail[trail.index(following) :], nodes, source)
                continue
            if following not in state:
                state[following] = 1
                trail.append(following)
                stack.append((following, iter(edges[following])))


def _loop_issue(
    cycle: list[int], nodes: dict[int, tuple[Path, dict[str, Any], Any]], source: str
) -> Issue:
    pointers = [json_pointer(nodes[key][0]) for key in cycle]
    last_path, last, _ = nodes[cycle[-1]]
    where = (*last_path, "$ref") if "$ref" in last else last_path
    chain = " → ".join([*pointers, pointers[0]])
    return Issue(
        source,
        json_pointer(where),
        f"$ref loop ({chain}): validating would apply these subschemas to the same value "
        "forever; a recursive schema must move into the value (properties, items, …) before "
        "it refers back",
    )
