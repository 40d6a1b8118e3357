"""Whether a draft's metaschema certainly accepts a schema, decided without jsonschema.

Importing jsonschema loads every format package it knows (rfc3986-validator's large regex,
arrow, isoduration, webcolors…: ~60 ms in a fresh process), which the compile of a new schema
would pay for its metaschema check alone (issue 11). Most schemas are plainly well-formed, so
:func:`metaschema_accepts` reads the draft's metaschema (the very document jsonschema uses, from
``jsonschema_specifications``) with the handful of keywords metaschemas are written in, and
answers ``True`` only when every step is certain. Anything it cannot decide exactly — a keyword
it does not know, a float where an integer is asked, a ``$schema`` or ``$ref`` it cannot vouch
for, a ``pattern`` — answers ``False``, and jsonschema decides (and words the issues): the
verdict is a shortcut for :func:`structgen.validation.schema_check.check_schema`, never a
second opinion. The metaschemas are read from their files
(:mod:`~structgen.validation.metaschemas`), so neither jsonschema nor ``referencing`` loads.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from structgen.validation.metaschemas import metaschemas
from structgen.validation.patterns import PatternError, compile_pattern

__all__ = ["METASCHEMA_URIS", "metaschema_accepts"]

# Short draft name → its metaschema. Draft-03 is left to jsonschema (its ``type`` holds schemas).
METASCHEMA_URIS = {
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
    "2019-09": "https://json-schema.org/draft/2019-09/schema",
    "7": "http://json-schema.org/draft-07/schema",
    "6": "http://json-schema.org/draft-06/schema",
    "4": "http://json-schema.org/draft-04/schema",
}
# Keywords that never reject an instance.
_ANNOTATIONS = frozenset(
    {
        "$schema", "$id", "id", "$comment", "title", "description", "default", "examples",
        "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "$vocabulary",
        "$anchor", "$dynamicAnchor", "$recursiveAnchor",
    }
)  # fmt: skip
# ``uri``s known to be URIs: the dialects (with and without an empty fragment).
METASCHEMAS = metaschemas()
_KNOWN_URIS = frozenset(METASCHEMAS) | {uri + "#" for uri in METASCHEMAS}
# A ``uri-reference`` made of "#" and these characters is one (RFC 3986: fragment, pchar).
_FRAGMENT_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/:@!$&'()*+,;=?"
)
# The keywords the walk reads that apply to objects only, and to arrays only.
_OBJECT_KEYWORDS = frozenset(
    {"properties", "additionalProperties", "propertyNames", "dependencies"}
)
_ARRAY_KEYWORDS = frozenset({"items", "minItems", "uniqueItems"})
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def metaschema_accepts(schema: Any, draft: str) -> bool:
    """True when the metaschema of ``draft`` (a short name: ``"2020-12"``, ``"7"``…) accepts
    ``schema`` with formats asserted, as structgen's metaschema validator would; False when
    that is not certain (then ask the validator)."""
    uri = METASCHEMA_URIS.get(draft)
    if uri is None:
        return False
    try:
        return _Walk(uri).valid(schema, METASCHEMAS[uri], uri)
    except RecursionError:
        return False


class _Walk:
    """One instance against one metaschema; results memoised per (instance, subschema) pair."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.memo: dict[tuple[int, int], bool] = {}

    def valid(self, instance: Any, schema: Any, base: str) -> bool:
        if isinstance(schema, bool):
            return schema
        if not isinstance(schema, dict):
            return False
        key = (id(instance), id(schema))
        found = self.memo.get(key)
        if found is None:
            found = all(
                self._keyword(name, value, instance, schema, base) for name, value in schema.items()
            )
            self.memo[key] = found
        return found

    def _keyword(self, name: str, value: Any, instance: Any, schema: dict, base: str) -> bool:
        if name in _ANNOTATIONS:
            return True
        if name == "$ref":
            return self._ref(instance, value, base)
        if name in ("$dynamicRef", "$recursiveRef"):
            # Validation starts at the draft's root, the outermost dynamic scope.
            dynamic = "#meta" if name == "$dynamicRef" else "#"
            return value == dynamic and self._ref(instance, self.root, self.root)
        if name == "allOf":
            return all(self.valid(instance, branch, base) for branch in value)
        if name == "anyOf":
            return any(self.valid(instance, branch, base) for branch in value)
        if name == "type":
            return _has_type(instance, value)
        if name == "enum":
            return any(_same(instance, member) for member in value)
        if name == "format":
            return _format_holds(instance, value)
        if name in ("minimum", "exclusiveMinimum"):
            return _above(instance, name, value, schema)
        if isinstance(instance, dict):
            return self._object_keyword(name, value, instance, schema, base)
        if isinstance(instance, list):
            return self._array_keyword(name, value, instance, base)
        return name in _OBJECT_KEYWORDS or name in _ARRAY_KEYWORDS  # not this type's keyword

    def _object_keyword(
        self, name: str, value: Any, instance: dict, schema: dict, base: str
    ) -> bool:
        if name == "properties":
            return all(
                self.valid(instance[key], sub, base)
                for key, sub in value.items()
                if key in instance
            )
        if name == "additionalProperties":
            if "patternProperties" in schema:
                return False
            named = schema.get("properties", {})
            return all(self.valid(v, value, base) for k, v in instance.items() if k not in named)
        if name == "propertyNames":
            return all(self.valid(key, value, base) for key in instance)
        if name == "dependencies":
            return all(
                self._dependency(instance, d, base) for k, d in value.items() if k in instance
            )
        return name in _ARRAY_KEYWORDS

    def _array_keyword(self, name: str, value: Any, instance: list, base: str) -> bool:
        if name == "items":
            return isinstance(value, (dict, bool)) and all(
                self.valid(item, value, base) for item in instance
            )
        if name == "minItems":
            return len(instance) >= value
        if name == "uniqueItems":
            return not value or _distinct(instance)
        return name in _OBJECT_KEYWORDS

    def _dependency(self, instance: dict, dependency: Any, base: str) -> bool:
        if isinstance(dependency, list):
            return all(name in instance for name in dependency)
        return self.valid(instance, dependency, base)

    def _ref(self, instance: Any, ref: Any, base: str) -> bool:
        if not isinstance(ref, str):
            return False
        key = (base, ref)
        found = _RESOLVED.get(key, _UNSEEN)
        if found is _UNSEEN:
            found = _RESOLVED[key] = _resolve(base, ref)
        if found is None:
            return False
        return self.valid(instance, found[0], found[1])


_UNSEEN = object()
# (base, $ref) → (subschema, its document) in the metaschemas, or None: they never change, so
# each reference is resolved once per process (URL parsing was a third of the walk's time).
_RESOLVED: dict[tuple[str, str], Any] = {}


def _resolve(base: str, ref: str) -> tuple[Any, str] | None:
    target, fragment = urldefrag(urljoin(base, ref))
    if target not in METASCHEMAS or (fragment and not fragment.startswith("/")):
        return None  # another document, or an anchor: not in a metaschema we read
    node: Any = METASCHEMAS[target]
    for token in fragment.split("/")[1:]:
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            return None
        node = node[token]
    return node, target


def _has_type(instance: Any, expected: Any) -> bool:
    names = [expected] if isinstance(expected, str) else expected
    return isinstance(names, list) and any(_is(instance, name) for name in names)


def _is(instance: Any, name: Any) -> bool:
    if name == "null":
        return instance is None
    if name == "integer":  # a float that is whole is an integer in some drafts only
        return type(instance) is int
    if name == "number":
        return type(instance) in (int, float)
    kind = _TYPES.get(name) if isinstance(name, str) else None
    return kind is not None and isinstance(instance, kind)


def _same(instance: Any, member: Any) -> bool:
    """JSON equality where Python's agrees: strings, booleans, null and integers."""
    kind = type(instance)
    return kind is type(member) and kind in (str, bool, int, type(None)) and instance == member


def _distinct(items: list) -> bool:
    """Whether ``items`` are certainly distinct JSON values (``uniqueItems``): decided for
    scalars — ``null``, booleans, strings and numbers, where ``1`` and ``1.0`` are one value
    and ``true`` is not ``1`` — and left to jsonschema (False) for arrays, objects and NaN."""
    keys = []
    for item in items:
        kind = type(item)
        if kind is bool:
            keys.append((1, item))
        elif kind in (int, float):
            if item != item:  # NaN: equal to nothing, not even itself
                return False
            keys.append((0, item))
        elif item is None or kind is str:
            keys.append((2, item))
        else:
            return False
    return len(set(keys)) == len(keys)


def _above(instance: Any, name: str, bound: Any, schema: dict) -> bool:
    if type(instance) not in (int, float):
        return True
    if name == "exclusiveMinimum":
        if isinstance(bound, bool):  # draft-04: makes ``minimum`` strict, checked there
            return True
        return type(bound) in (int, float) and instance > bound
    if type(bound) not in (int, float):
        return False
    if schema.get("exclusiveMinimum") is True:
        return instance > bound
    return instance >= bound


def _format_holds(instance: Any, name: Any) -> bool:
    if not isinstance(instance, str):
        return True
    if name == "regex":
        try:
            compile_pattern(instance)
        except PatternError:
            return False
        return True
    if name == "uri":
        return instance in _KNOWN_URIS
    if name == "uri-reference":
        return instance.startswith("#") and set(instance[1:]) <= _FRAGMENT_CHARACTERS
    return False
