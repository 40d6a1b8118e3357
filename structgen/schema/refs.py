"""Schema documents: dialect, ``$ref`` resolution (local only), locations with JSON pointers.

Resolution uses the ``referencing`` library (the one ``jsonschema`` uses), with a registry that
holds the schema itself and the bundled meta-schemas; nothing is ever fetched: a ``$ref`` to a
document outside that registry raises :class:`~structgen.schema.errors.RemoteRefError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin

from structgen.schema.errors import RemoteRefError, SchemaError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = ["DRAFTS", "Location", "SchemaDocument", "dialect_of", "escape_pointer"]

# Dialect URI (without "#", http or https) → our draft name.
DRAFTS = {
    "json-schema.org/draft/2020-12/schema": "2020-12",
    "json-schema.org/draft/2019-09/schema": "2019-09",
    "json-schema.org/draft-07/schema": "7",
    "json-schema.org/draft-06/schema": "6",
    "json-schema.org/draft-04/schema": "4",
    "json-schema.org/schema": "2020-12",  # "the latest"
}
DEFAULT_DRAFT = "2020-12"
_SPEC_URIS = {
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
    "2019-09": "https://json-schema.org/draft/2019-09/schema",
    "7": "http://json-schema.org/draft-07/schema#",
    "6": "http://json-schema.org/draft-06/schema#",
    "4": "http://json-schema.org/draft-04/schema#",
}


def dialect_of(uri: object) -> str | None:
    """Our draft name for a ``$schema`` value, or None if it is not one we know."""
    if not isinstance(uri, str):
        return None
    text = uri.strip().rstrip("#")
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    return DRAFTS.get(text)


def escape_pointer(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


class Location:
    """A subschema where it sits: its value, the resolver positioned at its base URI, its draft
    and a JSON pointer (for messages). Equal locations are the same subschema under the same base.
    """

    __slots__ = ("draft", "key", "pointer", "resolver", "schema")

    def __init__(self, schema: Any, resolver: Any, draft: str, pointer: str) -> None:
        self.schema = schema
        self.resolver = resolver
        self.draft = draft
        self.pointer = pointer
        self.key = (id(schema), getattr(resolver, "_base_uri", ""), draft)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and other.key == self.key

    def __repr__(self) -> str:
        return f"Location({self.pointer})"

    @property
    def legacy_ref(self) -> bool:
        """Drafts up to 7: a ``$ref`` makes its sibling keywords be ignored."""
        return self.draft in ("4", "6", "7")


class SchemaDocument:
    """A root schema with its registry; makes :class:`Location` s and validates values at them."""

    def __init__(
        self,
        schema: dict | bool,
        *,
        format_assertion: bool = True,
        default_draft: str = DEFAULT_DRAFT,
    ) -> None:
        """``format_assertion``: whether ``format`` is checked when we validate values."""
        self.root_schema = schema
        declared = schema.get("$schema") if isinstance(schema, dict) else None
        self.warnings: list[str] = []
        draft = dialect_of(declared) if declared is not None else default_draft
        self.unknown_dialect = declared if draft is None else None
        if draft is None:
            draft = DEFAULT_DRAFT
        self.draft = draft
        self.format_assertion = format_assertion
        self.registry: Any = None  # None: the document has no references (see _has_references)
        self.base_uri = ""
        if _has_references(schema):
            # imported on first use: a cached compile, or a document without references, never
            # loads referencing (issue 11: 40-50 ms of a fresh process's first compile)
            import referencing.jsonschema as specs
            from jsonschema_specifications import REGISTRY

            self._specs = specs
            resource = self.specification(draft).create_resource(schema)
            self.base_uri = resource.id() or ""
            self.registry = REGISTRY.with_resource(uri=self.base_uri, resource=resource).crawl()
        self._validators: dict[tuple, Any] = {}
        self._pointers: dict[int, str] | None = None
        self._resolved: dict[tuple[str, str, str], Location] = {}
        self._children: dict[tuple, tuple[Location, Any]] = {}
        self._derived: set[tuple] = set()  # keys of the locations derived() made

    def specification(self, draft: str):
        from structgen.validation.specifications import schemas_only  # (loads referencing)

        return schemas_only(self._specs.specification_with(_SPEC_URIS[draft]))

    def root(self) -> Location:
        if self.registry is None:
            return Location(self.root_schema, _NO_REFERENCES, self.draft, "#")
        resolver = self.registry.resolver(base_uri=self.base_uri)
        return Location(self.root_schema, resolver, self.draft, "#")

    def child(self, parent: Location, *path: str | int) -> Location:
        """The subschema at ``path`` below ``parent`` (entering embedded resources on the way;
        one :class:`Location` per place, however often the compiler asks)."""
        memo_key = (parent.key, parent.pointer, path)
        found = self._children.get(memo_key)
        if found is None:
            # the parent's value is kept with its child: its id() stays its own while memoised
            found = self._children[memo_key] = (self._child(parent, path), parent.schema)
        return found[0]

    def keywords_of(self, parent: Location, names: tuple[str, ...]) -> Location:
        """``parent`` with only those of the keywords ``names`` it has (``if``/``then``/``else``
        read apart from their siblings): same place, base and pointer; one :class:`Location`
        per place, as :meth:`child` gives."""
        schema = parent.schema
        return self.derived(
            parent, ("keywords", names), lambda: {n: schema[n] for n in names if n in schema}
        )

    def derived(
        self, parent: Location, tag: Any, make: Callable[[], Any], pointer: str | None = None
    ) -> Location:
        """A subschema the compiler writes from ``parent`` (a complement, a part of its
        keywords): ``make()`` builds it the first time ``(parent, tag)`` is asked, and the same
        :class:`Location` comes back after. It sits at ``parent``'s base, with ``pointer``
        (default ``parent``'s) for messages; :meth:`is_derived` knows it."""
        memo_key = (parent.key, parent.pointer, ("derived", tag))
        found = self._children.get(memo_key)
        if found is None:
            where = parent.pointer if pointer is None else pointer
            location = Location(make(), parent.resolver, parent.draft, where)
            found = self._children[memo_key] = (location, parent.schema)
            self._derived.add(location.key)
        return found[0]

    def is_derived(self, location: Location) -> bool:
        """Whether :meth:`derived` made ``location`` (it is nowhere in the user's schema)."""
        return location.key in self._derived

    def _child(self, parent: Location, path: tuple[str | int, ...]) -> Location:
        value = parent.schema
        for token in path:
            value = value[token]
        pointer = parent.pointer + "".join("/" + escape_pointer(t) for t in path)
        return self._enter(value, parent.resolver, parent.draft, pointer)

    def _enter(self, value: Any, resolver: Any, draft: str, pointer: str) -> Location:
        if isinstance(value, dict):
            declared = dialect_of(value.get("$schema")) if "$schema" in value else None
            if declared is not None:
                draft = declared
            if self.registry is None:  # no base URI changes anywhere: nothing to track
                return Location(value, resolver, draft, pointer)
            resolver = resolver.in_subresource(self.specification(draft).create_resource(value))
        return Location(value, resolver, draft, pointer)

    def resolve(self, location: Location, ref: str, *, keyword: str = "$ref") -> Location:
        """The target of ``ref`` written in ``location``; remote documents are an error."""
        if self.registry is None:  # a ``ref`` that is not a string: nothing it could name
            pointer = f"{location.pointer}/{escape_pointer(keyword)}"
            raise SchemaError(f"$ref {ref!r} does not resolve to a subschema", pointer=pointer)
        base = getattr(location.resolver, "_base_uri", None)
        if base is None:  # not a ``referencing`` resolver: nothing to key a memo on
            return self._resolve(location, ref, "", keyword)
        # The target depends on the base URI, the reference and the draft only (dynamic scopes
        # are never followed): one lookup per distinct reference, however often it is written.
        memo_key = (base, ref, location.draft)
        found = self._resolved.get(memo_key)
        if found is not None:
            return found
        found = self._resolve(location, ref, base, keyword)
        self._resolved[memo_key] = found
        return found

    def _resolve(self, location: Location, ref: str, base: str, keyword: str) -> Location:
        pointer = f"{location.pointer}/{escape_pointer(keyword)}"
        target_uri, _ = urldefrag(urljoin(base, ref))
        from referencing.exceptions import Unresolvable  # imported on use (issue 11)

        try:
            resolved = location.resolver.lookup(ref)
        except Unresolvable:
            if target_uri and target_uri != self.base_uri and not self._known(target_uri):
                raise RemoteRefError(ref, pointer) from None
            raise SchemaError(
                f"$ref {ref!r} does not resolve to a subschema", pointer=pointer
            ) from None
        contents = resolved.contents
        draft = location.draft
        document = self._document_draft(target_uri)
        if document is not None:
            draft = document
        return self._enter(contents, resolved.resolver, draft, self._pointer_of(contents, ref))

    def _known(self, uri: str) -> bool:
        return uri in self.registry

    def _document_draft(self, uri: str) -> str | None:
        if not uri or uri == self.base_uri or uri not in self.registry:
            return None
        contents = self.registry[uri].contents
        return dialect_of(contents.get("$schema")) if isinstance(contents, dict) else None

    def _pointer_of(self, contents: Any, ref: str) -> str:
        if self._pointers is None:
            self._pointers = {}
            stack: list[tuple[Any, str]] = [(self.root_schema, "#")]
            while stack:
                value, pointer = stack.pop()
                if isinstance(value, dict):
                    self._pointers.setdefault(id(value), pointer)
                    stack.extend((v, f"{pointer}/{escape_pointer(k)}") for k, v in value.items())
                elif isinstance(value, list):
                    stack.extend((v, f"{pointer}/{i}") for i, v in enumerate(value))
        return self._pointers.get(id(contents), ref)

    # -- validation (the oracle for finite sets: enum, const) --------------------------------------
    def validator(self, location: Location) -> Validator:
        """structgen's validator (:func:`structgen.validation.make_validator`: ECMA-262 patterns,
        the same format checks as ``structgen validate``) of the subschema at ``location``."""
        key = location.key
        found = self._validators.get(key)
        if found is None:
            # imported on first use: a cached compile never loads jsonschema (issue 11)
            from structgen.validation.validator import make_validator

            found = make_validator(
                location.schema,
                draft=location.draft,
                registry=self.registry,
                resolver=None if self.registry is None else location.resolver,
                format_assertion=self.format_assertion,
            )
            self._validators[key] = found
        return found

    def is_valid(self, value: Any, location: Location) -> bool:
        try:
            return bool(self.validator(location).is_valid(value))
        except RecursionError:
            return False


class _NoReferences:
    """The resolver of every location of a document without references: its base URI is the
    empty one throughout (``Location.key`` reads it)."""

    _base_uri = ""

    def __repr__(self) -> str:
        return "<no references>"


_NO_REFERENCES = _NoReferences()
# Keywords that name or move a resource; their value is a string (a property of that name is a
# subschema, an object), so a key with a string value is the test.
_REFERENCE_KEYWORDS = frozenset(
    ("$ref", "$dynamicRef", "$recursiveRef", "$id", "id", "$anchor", "$dynamicAnchor")
)


def _has_references(schema: Any) -> bool:
    """Whether any object in ``schema`` (at any depth, data in ``enum``/``const`` too: a false
    positive only costs the resolver) has a reference keyword with a string value, or a
    ``$recursiveAnchor`` (a boolean)."""
    stack = [schema]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _REFERENCE_KEYWORDS and isinstance(item, str):
                    return True
                if key == "$recursiveAnchor":
                    return True
                if isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(item for item in value if isinstance(item, (dict, list)))
    return False


def canonical_json(value: Any) -> str:
    """A key that identifies JSON values up to JSON Schema equality (1 == 1.0, true != 1)."""

    def norm(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return ["#num", format(_decimal(v).normalize(), "f") if _decimal(v) != 0 else "0"]
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return repr(v)

    return json.dumps(norm(value), sort_keys=True)


def _decimal(v: float):
    from decimal import Decimal

    return Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
