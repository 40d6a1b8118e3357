"""Step 2 of the schema check (:mod:`~structgen.validation.schema_structure`) decided without
``referencing``, for the common schema whose references are plain JSON pointers into itself.

Walking subschemas with base URIs through ``referencing`` costs ~2 ms a schema with ``$ref``
(median of the MaskBench sample, issue 11). When every ``$ref`` anywhere in the schema is
``#`` or ``#/…`` (no percent-escapes), no object but the root names an ``$id``/``id``, and no
anchor, dynamic reference or nested ``$schema`` appears, every such reference means the value
at that pointer in the document, whatever the draft. :func:`locally_sound` then resolves each
one, compiles every ``pattern`` and ``patternProperties`` key, and looks for a cycle among the
same-value keywords of every object (``$ref``, ``allOf``…, a superset of the subschemas the
full check follows). It answers ``True`` only when step 2 certainly reports nothing; anything
else (a pointer to nowhere, a possible loop, a base URI it cannot vouch for) answers ``False``
and the full check decides, and words the issues.
"""

from __future__ import annotations

from typing import Any

from structgen.validation.patterns import PatternError, compile_pattern

__all__ = ["locally_sound"]

_SAME_VALUE_ONE = ("not", "if", "then", "else")
_SAME_VALUE_MANY = ("allOf", "anyOf", "oneOf")
_BASE_KEYWORDS = ("$id", "id", "$schema")
_REFUSED_KEYWORDS = (
    "$dynamicRef", "$recursiveRef", "$anchor", "$dynamicAnchor", "$recursiveAnchor",
)  # fmt: skip
_MISSING = object()


def locally_sound(schema: Any) -> bool:
    """True when every reference of ``schema`` is a local JSON pointer that resolves, none
    loops back to the same value, and every pattern compiles (see the module doc)."""
    objects: list[dict] = []
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if any(keyword in node for keyword in _REFUSED_KEYWORDS):
            return False
        if node is not schema and any(isinstance(node.get(k), str) for k in _BASE_KEYWORDS):
            return False  # a nested base URI or dialect (or a value so named): not vouched for
        if "$ref" in node and not _plain_pointer(node["$ref"]):
            return False
        if not _patterns_compile(node):
            return False
        objects.append(node)
        stack.extend(node.values())
    return not _same_value_cycle(schema, objects)


def _plain_pointer(ref: Any) -> bool:
    return isinstance(ref, str) and (ref == "#" or ref.startswith("#/")) and "%" not in ref


def _patterns_compile(node: dict) -> bool:
    texts = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
    if isinstance(node.get("patternProperties"), dict):
        texts.extend(node["patternProperties"])
    for text in texts:
        try:
            compile_pattern(text)
        except (PatternError, TypeError):
            return False
    return True


def _resolve(root: Any, ref: str) -> Any:
    """The value at the JSON pointer ``ref`` (``#/a/0``) in ``root``, or ``_MISSING``."""
    node = root
    if ref == "#":
        return node
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            if token not in node:
                return _MISSING
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or (token != "0" and token.startswith("0")):
                return _MISSING
            index = int(token)
            if index >= len(node):
                return _MISSING
            node = node[index]
        else:
            return _MISSING
    return node


def _same_value_cycle(root: Any, objects: list[dict]) -> bool:
    """Whether the objects' same-value edges (every ``$ref`` target, ``not``/``if``/``then``/
    ``else``, ``allOf``/``anyOf``/``oneOf`` members, ``dependentSchemas`` values) close a
    cycle; True also when a ``$ref`` does not resolve."""
    edges: dict[int, list[dict]] = {}
    for node in objects:
        targets: list[Any] = []
        if "$ref" in node:
            target = _resolve(root, node["$ref"])
            if target is _MISSING:
                return True
            targets.append(target)
        targets.extend(node.get(keyword) for keyword in _SAME_VALUE_ONE)
        for keyword in _SAME_VALUE_MANY:
            value = node.get(keyword)
            if isinstance(value, list):
                targets.extend(value)
        dependent = node.get("dependentSchemas")
        if isinstance(dependent, dict):
            targets.extend(dependent.values())
        edges[id(node)] = [target for target in targets if isinstance(target, dict)]
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in objects:
        if id(start) in state:
            continue
        state[id(start)] = 1
        stack = [(start, iter(edges[id(start)]))]
        while stack:
            node, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                state[id(node)] = 2
                stack.pop()
                continue
            seen = state.get(id(following))
            if seen == 1:
                return True
            if seen is None:
                state[id(following)] = 1
                stack.append((following, iter(edges[id(following)])))
    return False
