"""Validate JSON documents against JSON Schemas, and schemas against their metaschemas.

The library behind ``structgen validate`` and ``structgen check-schema``; it needs neither torch
nor transformers. Every draft ``jsonschema`` knows (3, 4, 6, 7, 2019-09, 2020-12) is honoured
through ``$schema`` (default 2020-12), ``format`` is asserted, and ``$ref`` targets are never
fetched: a reference to a document that is not part of the schema is an error naming its URI.

``pattern``, ``patternProperties`` (also where ``additionalProperties`` and
``unevaluatedProperties`` consult it) and ``format: "regex"`` follow ECMA-262, as JSON Schema
says, not Python's ``re`` (see :mod:`structgen.regex.ecma_to_python`): the validator classes
are jsonschema's, extended with those keywords, and their format checkers are copies with our
``regex``, ``iri`` and ``iri-reference`` checks; jsonschema's own objects are left untouched.

Locations are printed as JSONPath for documents (``$.items[0].name``) and as a JSON Pointer in
fragment form for schemas (``#/properties/age/minimum``, not percent-encoded).
"""

from __future__ import annotations

import json
import os
import re
import reprlib
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from jsonschema._utils import extras_msg
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing.jsonschema import DRAFT202012, lookup_recursive_ref

from structgen.errors import StructgenError
from structgen.regex.ecma_to_python import PatternError, ecma_search_regex, is_ecma_regex

__all__ = [
    "JSONFileError",
    "InvalidSchemaError",
    "SchemaReferenceError",
    "Issue",
    "DocumentResult",
    "DocumentValidator",
    "check_schema",
    "check_schema_file",
    "read_json",
    "parse_json",
    "iter_json_lines",
    "json_path",
    "json_pointer",
]

STDIN = "-"
_STDIN_NAME = "<stdin>"

_DRAFT_NAMES = {
    "Draft3Validator": "draft-03",
    "Draft4Validator": "draft-04",
    "Draft6Validator": "draft-06",
    "Draft7Validator": "draft-07",
    "Draft201909Validator": "draft 2019-09",
    "Draft202012Validator": "draft 2020-12",
}

# Formats the drafts define; jsonschema checks some of them only with optional packages.
_STANDARD_FORMATS = frozenset(
    {
        "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
        "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
        "json-pointer", "relative-json-pointer", "regex", "color", "host-name", "ip-address",
    }
)  # fmt: skip
# The package jsonschema needs to check a format (all are structgen dependencies).
_FORMAT_PACKAGES = {
    "hostname": "fqdn", "idn-hostname": "idna", "idn-email": "idna", "duration": "isoduration",
    "date-time": "rfc3339-validator", "time": "rfc3339-validator", "uri": "rfc3986-validator",
    "uri-reference": "rfc3986-validator", "json-pointer": "jsonpointer",
    "relative-json-pointer": "jsonpointer", "uri-template": "uri-template", "color": "webcolors",
}  # fmt: skip


class JSONFileError(StructgenError, ValueError):
    """A schema or document that cannot be read, decoded or parsed as JSON."""


class InvalidSchemaError(StructgenError, ValueError):
    """A schema its draft's metaschema rejects; ``issues`` holds every error found."""

    def __init__(self, message: str, issues: Iterable[Issue] = ()) -> None:
        self.issues = tuple(issues)
        if self.issues:
            message += ":\n" + "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(message)


class SchemaReferenceError(StructgenError, ValueError):
    """A ``$ref`` that does not resolve inside the schema; ``remote`` when it needs a fetch."""

    def __init__(self, message: str, *, uri: str, remote: bool) -> None:
        self.uri = uri
        self.remote = remote
        super().__init__(message)


@dataclass(frozen=True)
class Issue:
    """One finding: ``source[:line]: location: message``."""

    source: str
    location: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.location}: {self.message}"


@dataclass(frozen=True)
class DocumentResult:
    """The outcome for one document (one file, or one line of a JSON Lines file)."""

    source: str
    line: int | None = None
    issues: tuple[Issue, ...] = ()
    error: StructgenError | None = None  # the document could not be read or parsed

    @property
    def valid(self) -> bool:
        return self.error is None and not self.issues


# --------------------------------------------------------------------------- reading JSON


def display_name(path: str | os.PathLike[str]) -> str:
    """How a path is named in messages (``-`` is ``<stdin>``)."""
    return _STDIN_NAME if os.fspath(path) == STDIN else os.fspath(path)


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    name = display_name(path)
    try:
        if os.fspath(path) == STDIN:
            return _stdin_bytes()
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise JSONFileError(f"cannot read {name}: {error.strerror or error}") from None


def _stdin_bytes() -> bytes:
    if sys.stdin is None:
        raise JSONFileError("cannot read <stdin>: there is no standard input")
    data = getattr(sys.stdin, "buffer", sys.stdin).read()
    return data.encode() if isinstance(data, str) else data


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file (``-`` reads standard input); errors say ``file:line:column``."""
    return parse_json(_read_bytes(path), source=display_name(path))


def iter_json_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, raw_line)`` for every non-blank line of a JSON Lines file.

    Lines are split on ``\\n`` only (``\\r\\n`` is accepted): JSON strings may hold U+2028 and
    other characters that ``str.splitlines`` would split on. Reading is streamed.
    """
    name = display_name(path)
    try:
        if os.fspath(path) == STDIN:
            if sys.stdin is None:
                raise JSONFileError("cannot read <stdin>: there is no standard input")
            stream = getattr(sys.stdin, "buffer", None)
            if stream is None:  # a text stream without a buffer (tests, embedding)
                yield from _numbered(line.encode() for line in sys.stdin)
                return
            yield from _numbered(stream)
            return
        with open(path, "rb") as handle:
            yield from _numbered(handle)
    except OSError as error:
        raise JSONFileError(f"cannot read {name}: {error.strerror or error}") from None


def _numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if raw.strip(b" \t\r\n"):
            yield number, raw.rstrip(b"\r\n")


class _NonStandardConstant(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)


def _reject_constant(name: str) -> Any:
    raise _NonStandardConstant(name)


_CONSTANT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)', re.DOTALL)


def parse_json(data: str | bytes, *, source: str = "<string>", line: int | None = None) -> Any:
    """Parse one JSON text strictly (no NaN/Infinity), or raise ``JSONFileError``.

    The message starts with ``source:line:column``; ``line`` is the line the text starts on
    (for a line of a JSON Lines file), else positions count from the text's first line.
    """

    def where(row: int, column: int) -> str:
        return f"{source}:{row if line is None else line + row - 1}:{column}"

    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig" if line in (None, 1) else "utf-8")
        except UnicodeDecodeError as error:
            row = data.count(b"\n", 0, error.start) + 1
            column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
            bad = data[error.start : error.start + 1].hex()
            raise JSONFileError(f"{where(row, column)}: not valid UTF-8 (byte 0x{bad})") from None
    else:
        text = data
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise JSONFileError(
            f"{where(error.lineno, error.colno)}: invalid JSON: {error.msg}"
        ) from None
    except _NonStandardConstant as error:
        row, column = _position_of_constant(text)
        raise JSONFileError(
            f"{where(row, column)}: invalid JSON: {error.name} is not a JSON value "
            "(JSON has no NaN or Infinity)"
        ) from None
    except RecursionError:
        raise JSONFileError(f"{source}: JSON nested too deeply to parse") from None
    except ValueError as error:  # e.g. an integer beyond Python's digit limit
        raise JSONFileError(f"{source}: invalid JSON: {error}") from None


def _position_of_constant(text: str) -> tuple[int, int]:
    for match in _CONSTANT_OR_STRING.finditer(text):
        if match.group(1):
            offset = match.start(1)
            return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1
    return 1, 1


# --------------------------------------------------------------------------- locations


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def json_path(path: Iterable[str | int]) -> str:
    """``["a", 0, "b c"]`` → ``$.a[0]["b c"]`` (RFC 9535 JSONPath, dot form where possible)."""
    parts = ["$"]
    for element in path:
        if isinstance(element, int):
            parts.append(f"[{element}]")
        elif _IDENTIFIER.match(element):
            parts.append(f".{element}")
        else:
            parts.append(f"[{json.dumps(element, ensure_ascii=False)}]")
    return "".join(parts)


def json_pointer(path: Iterable[str | int]) -> str:
    """``["properties", "a/b"]`` → ``#/properties/a~1b`` (RFC 6901, fragment form)."""
    tokens = (str(token).replace("~", "~0").replace("/", "~1") for token in path)
    return "#" + "".join("/" + token for token in tokens)


_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60
_SHORT.maxdict = _SHORT.maxlist = 4
_SHORT.maxlevel = 2


def _message(error: ValidationError, locate: Callable[[Iterable[str | int]], str]) -> str:
    """jsonschema's message, with a huge instance shortened and the closest sub-error added."""
    message = str(error.message)
    shown = repr(error.instance)
    if len(shown) > 100 and shown in message:
        message = message.replace(shown, _SHORT.repr(error.instance), 1)
    closest = best_match(error.context) if error.context else None
    if closest is None:
        return message
    deeper = len(closest.absolute_path) > len(error.absolute_path)
    if deeper:  # a branch that failed further in is the likely intent
        message += f" (closest: {locate(closest.absolute_path)}: {_message(closest, locate)})"
    elif closest.validator != "type":  # e.g. the enum of type names when a type is misspelt
        message += f" (closest: {_message(closest, locate)})"
    return message


def _unique(issues: Iterable[Issue]) -> list[Issue]:
    """Drop repeats (an ``allOf`` of metaschemas reports one root type error per vocabulary)."""
    return list(dict.fromkeys(issues))


def _path_key(path: Iterable[str | int]) -> tuple[tuple[int, Any], ...]:
    return tuple((0, item) if isinstance(item, int) else (1, item) for item in path)


# --------------------------------------------------------------------------- ECMA-262 keywords
# jsonschema's ``pattern``, ``patternProperties``, ``additionalProperties`` and
# ``unevaluatedProperties`` with ``re.search`` replaced by ECMA-262 semantics; messages unchanged.


def _search(pattern: str, text: str) -> bool:
    """ECMA-262 search; a pattern that cannot run matches nothing (``DocumentValidator`` refuses
    such schemas up front, and the ``pattern`` keyword reports it)."""
    try:
        return ecma_search_regex(pattern).search(text) is not None
    except PatternError:
        return False


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        regex = ecma_search_regex(pattern)
    except PatternError as error:
        yield ValidationError(str(error))
        return
    if regex.search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = {
        key
        for key in instance
        if key not in properties and not any(_search(pattern, key) for pattern in patterns)
    }
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")
        else:
            yield ValidationError(
                "Additional properties are not allowed (%s %s unexpected)"
                % extras_msg(sorted(extras, key=str))
            )


def _unevaluated_properties(*, legacy: bool) -> Callable[..., Iterator[ValidationError]]:
    """``unevaluatedProperties`` of 2020-12, or of 2019-09 (``legacy``: ``$recursiveRef``, and
    ``properties``/``additionalProperties`` count every key they name)."""

    def evaluated(validator: Any, instance: dict[str, Any], schema: Any) -> set[str]:
        if validator.is_type(schema, "boolean"):
            return set()
        keys: set[str] = set()
        targets = []
        if (ref := schema.get("$ref")) is not None:
            targets.append(validator._resolver.lookup(ref))
        if legacy and "$recursiveRef" in schema:
            targets.append(lookup_recursive_ref(validator._resolver))
        if not legacy and (dynamic := schema.get("$dynamicRef")) is not None:
            targets.append(validator._resolver.lookup(dynamic))
        for resolved in targets:
            inner = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
            keys |= evaluated(inner, instance, resolved.contents)
        if legacy:
            for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
                value = schema.get(keyword)
                if value is True:
                    keys |= instance.keys()
                elif validator.is_type(value, "object"):
                    keys |= value.keys() & instance.keys()
        else:
            if validator.is_type(properties := schema.get("properties"), "object"):
                keys |= properties.keys() & instance.keys()
            for keyword in ("additionalProperties", "unevaluatedProperties"):
                if (subschema := schema.get(keyword)) is not None:
                    keys |= {
                        key
                        for key, value in instance.items()
                        if next(validator.descend(value, subschema), None) is None
                    }
        for pattern in schema.get("patternProperties", {}):
            keys |= {key for key in instance if _search(pattern, key)}
        for key, subschema in schema.get("dependentSchemas", {}).items():
            if key in instance:
                keys |= evaluated(validator, instance, subschema)
        for keyword in ("allOf", "oneOf", "anyOf"):
            for subschema in schema.get(keyword, []):
                if next(validator.descend(instance, subschema), None) is None:
                    keys |= evaluated(validator, instance, subschema)
        if "if" in schema:
            if validator.evolve(schema=schema["if"]).is_valid(instance):
                keys |= evaluated(validator, instance, schema["if"])
                if "then" in schema:
                    keys |= evaluated(validator, instance, schema["then"])
            elif "else" in schema:
                keys |= evaluated(validator, instance, schema["else"])
        return keys

    def unevaluated_properties(
        validator: Any, unevaluated: Any, instance: Any, schema: Any
    ) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        seen = evaluated(validator, instance, schema)
        failed = [
            key
            for key in instance
            if key not in seen
            and next(
                validator.descend(instance[key], unevaluated, path=key, schema_path=key), None
            )
            is not None
        ]
        if not failed:
            return
        if unevaluated is False:
            yield ValidationError(
                "Unevaluated properties are not allowed (%s %s unexpected)"
                % extras_msg(sorted(failed, key=str))
            )
        else:
            yield ValidationError(
                "Unevaluated properties are not valid under the given schema "
                "(%s %s unevaluated and invalid)" % extras_msg(failed)
            )

    return unevaluated_properties


def _is_regex(instance: object) -> bool:
    return not isinstance(instance, str) or is_ecma_regex(instance)


def _is_iri(instance: object) -> bool:
    return not isinstance(instance, str) or _iri_regex("iri").fullmatch(instance) is not None


def _is_iri_reference(instance: object) -> bool:
    return (
        not isinstance(instance, str)
        or _iri_regex("iri-reference").fullmatch(instance) is not None
    )


@cache
def _iri_regex(name: str) -> re.Pattern[str]:
    from structgen.validation.formats import FORMAT_REGEXES

    return re.compile(FORMAT_REGEXES[name])


_IRI_DRAFTS = ("Draft7Validator", "Draft201909Validator", "Draft202012Validator")


@cache
def _ecma(cls: type[Validator]) -> type[Validator]:
    """``cls`` with ECMA-262 pattern keywords and a format checker of its own (see module doc)."""
    base = cls.FORMAT_CHECKER
    checker = jsonschema.FormatChecker(())
    checker.checkers.update(base.checkers)
    if "regex" in base.checkers:
        checker.checks("regex")(_is_regex)
    if cls.__name__ in _IRI_DRAFTS:
        checker.checks("iri")(_is_iri)
        checker.checks("iri-reference")(_is_iri_reference)
    keywords: dict[str, Any] = {}
    for name, function in (
        ("pattern", _pattern),
        ("patternProperties", _pattern_properties),
        ("additionalProperties", _additional_properties),
    ):
        if name in cls.VALIDATORS:
            keywords[name] = function
    if "unevaluatedProperties" in cls.VALIDATORS:
        legacy = cls.__name__ == "Draft201909Validator"
        keywords["unevaluatedProperties"] = _unevaluated_properties(legacy=legacy)
    return extend(cls, keywords, format_checker=checker)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- schemas


_DEFAULT_DRAFT: type[Validator] = jsonschema.Draft202012Validator


def _validator_class(schema: Any, source: str) -> type[Validator]:
    """The draft named by ``$schema`` (2020-12 when absent; the metaschema judges bad values)."""
    dialect = schema.get("$schema") if isinstance(schema, dict) else None
    if not isinstance(dialect, str):
        return _DEFAULT_DRAFT
    cls: type[Validator] | None = validator_for(schema, default=None)
    if cls is None:
        raise InvalidSchemaError(
            f"{source}: #/$schema: unknown dialect {dialect!r}; known: draft-03, -04, -06, -07 "
            "(e.g. http://json-schema.org/draft-07/schema#), 2019-09 and 2020-12 "
            "(https://json-schema.org/draft/2020-12/schema)"
        )
    return cls


def _draft_name(cls: type[Validator]) -> str:
    return _DRAFT_NAMES.get(cls.__name__, cls.__name__)


class _Refused(Exception):
    def __init__(self, uri: str) -> None:
        self.uri = uri
        super().__init__(uri)


def _refuse(uri: str) -> Any:
    raise _Refused(uri)


# Resolves the metaschemas locally and refuses every other retrieval.
_OFFLINE = METASCHEMAS.combine(referencing.Registry(retrieve=_refuse))  # type: ignore[call-arg]


def _subschemas(schema: Any) -> Iterator[tuple[tuple[str | int, ...], Any, Any]]:
    """Yield ``(path, contents, resolver)`` for every (sub)schema, keyword-aware, with base URIs."""
    paths: dict[int, tuple[str | int, ...]] = {}
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(schema, ())]
    while stack:
        node, path = stack.pop()
        paths[id(node)] = path
        if isinstance(node, dict):
            stack.extend(
                (value, (*path, key))
                for key, value in node.items()
                if isinstance(value, (dict, list))
            )
        elif isinstance(node, list):
            stack.extend(
                (value, (*path, i))
                for i, value in enumerate(node)
                if isinstance(value, (dict, list))
            )

    root = referencing.Resource.from_contents(schema, default_specification=DRAFT202012)
    pending = [(root, _OFFLINE.resolver_with_root(root))]
    while pending:
        resource, resolver = pending.pop()
        resolver = resolver.in_subresource(resource)
        yield paths.get(id(resource.contents), ()), resource.contents, resolver
        pending.extend((sub, resolver) for sub in resource.subresources())


def _reference_problem(error: BaseException, keyword: str, ref: str) -> tuple[str, bool]:
    """(message, remote) for a reference whose lookup failed."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, _Refused):
            fetched = "" if cause.uri == ref else f" (resolved to {cause.uri!r})"
            return (
                f"{keyword} {ref!r}{fetched} is outside this schema and structgen never fetches "
                "$ref targets (network or disk); bundle it into this schema, e.g. under $defs",
                True,
            )
        if isinstance(cause, referencing.exceptions.PointerToNowhere):
            return f"unresolvable {keyword} {ref!r}: no value at that JSON pointer", False
        if isinstance(cause, referencing.exceptions.NoSuchAnchor):
            return f"unresolvable {keyword} {ref!r}: no anchor named {cause.anchor!r}", False
        if isinstance(cause, referencing.exceptions.InvalidAnchor):
            return f"unresolvable {keyword} {ref!r}: not a valid anchor reference", False
        cause = cause.__cause__ or cause.__context__
    return f"unresolvable {keyword} {ref!r} ({type(error).__name__})", False


_REFERENCE_ERRORS = (
    referencing.exceptions.Unresolvable,
    referencing.exceptions.NoSuchResource,
    referencing.exceptions.Unretrievable,
    referencing.exceptions.CannotDetermineSpecification,
)


def _reference_issues(schema: Any, source: str) -> Iterator[tuple[Issue, str, bool]]:
    """Every ``$ref`` (and the document part of ``$dynamicRef``) that does not resolve offline."""
    for path, contents, resolver in _subschemas(schema):
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
            except _REFERENCE_ERRORS as error:
                message, remote = _reference_problem(error, keyword, ref)
                yield Issue(source, json_pointer((*path, keyword)), message), ref, remote


def check_schema(schema: Any, *, source: str = "<schema>") -> list[Issue]:
    """Every error the schema's metaschema reports, plus ``$ref``s that point to nothing.

    References to documents outside the schema are not fetched and not reported here (they may
    be fine); ``DocumentValidator`` refuses them. Raises ``InvalidSchemaError`` when the draft
    cannot be determined (an unknown ``$schema``).
    """
    issues = _metaschema_issues(schema, _validator_class(schema, source), source)
    if not issues:
        issues = [issue for issue, _, remote in _reference_issues(schema, source) if not remote]
    return issues


def _metaschema_issues(schema: Any, cls: type[Validator], source: str) -> list[Issue]:
    meta_cls = _ecma(validator_for(cls.META_SCHEMA, default=cls))
    meta = meta_cls(cls.META_SCHEMA, format_checker=meta_cls.FORMAT_CHECKER)
    errors = sorted(meta.iter_errors(schema), key=lambda e: _path_key(e.absolute_path))
    return _unique(
        Issue(source, json_pointer(e.absolute_path), _message(e, json_pointer)) for e in errors
    )


def _pattern_issues(schema: Any, source: str) -> Iterator[Issue]:
    """Well-formed ECMA patterns that neither the translation nor Python's ``re`` can run."""
    for path, contents, _ in _subschemas(schema):
        if not isinstance(contents, dict):
            continue
        located = []
        if isinstance(pattern := contents.get("pattern"), str):
            located.append(((*path, "pattern"), pattern))
        if isinstance(patterns := contents.get("patternProperties"), dict):
            located.extend(((*path, "patternProperties", key), key) for key in patterns)
        for where, text in located:
            try:
                ecma_search_regex(text)
            except PatternError as error:
                yield Issue(source, json_pointer(where), str(error))


def check_schema_file(path: str | os.PathLike[str]) -> list[Issue]:
    """``check_schema`` of a file (``-`` reads standard input)."""
    return check_schema(read_json(path), source=display_name(path))


# --------------------------------------------------------------------------- documents


class DocumentValidator:
    """A schema ready to validate documents: meta-validated, references resolved offline,
    ``format`` asserted (only the formats ``jsonschema`` can check here: see
    ``unchecked_formats``).

    Raises ``InvalidSchemaError`` for a schema its metaschema rejects and
    ``SchemaReferenceError`` for a ``$ref`` that does not resolve inside the schema.
    """

    def __init__(self, schema: Any, *, source: str = "<schema>") -> None:
        self.schema = schema
        self.source = source
        cls = _validator_class(schema, source)
        self.draft = _draft_name(cls)
        issues = _metaschema_issues(schema, cls, source)
        references = [] if issues else list(_reference_issues(schema, source))
        issues += [issue for issue, _, remote in references if not remote]
        if issues:
            raise InvalidSchemaError(f"invalid schema {source} ({self.draft})", issues)
        for issue, ref, _ in references:  # only remote ones are left
            raise SchemaReferenceError(str(issue), uri=ref, remote=True)
        issues = list(_pattern_issues(schema, source))
        if issues:
            raise InvalidSchemaError(
                f"schema {source} has patterns structgen cannot evaluate", issues
            )
        ecma_cls = _ecma(cls)
        self._validator = ecma_cls(
            schema,
            registry=referencing.Registry(retrieve=_refuse),  # type: ignore[call-arg]
            format_checker=ecma_cls.FORMAT_CHECKER,
        )
        checked = ecma_cls.FORMAT_CHECKER.checkers
        formats = {
            value
            for _, contents, _ in _subschemas(schema)
            if isinstance(contents, dict) and isinstance(value := contents.get("format"), str)
        }
        self.unchecked_formats: tuple[str, ...] = tuple(sorted(formats - set(checked)))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> DocumentValidator:
        """Load a schema file (``-`` reads standard input)."""
        return cls(read_json(path), source=display_name(path))

    def format_warnings(self) -> list[str]:
        """One line per ``format`` in the schema that is not checked, saying why."""
        lines = []
        for name in self.unchecked_formats:
            package = _FORMAT_PACKAGES.get(name)
            if package is not None:
                why = f"jsonschema needs the package {package!r} for it: pip install {package}"
            elif name in _STANDARD_FORMATS:
                why = f"not a format of {self.draft}"
            else:
                why = "unknown format"
            lines.append(f"{self.source}: format {name!r} is not checked ({why})")
        return lines

    def issues(
        self, instance: Any, *, source: str = "<document>", line: int | None = None
    ) -> list[Issue]:
        """Every validation error of ``instance``, ordered by location."""
        try:
            errors = sorted(
                self._validator.iter_errors(instance), key=lambda e: _path_key(e.absolute_path)
            )
        except _REFERENCE_ERRORS as error:  # a reference only reached at validation time
            ref = str(getattr(error, "ref", "?"))
            message, remote = _reference_problem(error, "$ref", ref)
            raise SchemaReferenceError(
                f"{self.source}: {message}", uri=ref, remote=remote
            ) from None
        except RecursionError:
            return [Issue(source, "$", "document or schema nested too deeply to validate", line)]
        return _unique(
            Issue(source, json_path(e.absolute_path), _message(e, json_path), line) for e in errors
        )

    def is_valid(self, instance: Any) -> bool:
        return not self.issues(instance)

    def validate_file(
        self, path: str | os.PathLike[str], *, jsonl: bool = False
    ) -> Iterator[DocumentResult]:
        """One result per document: the file, or every non-blank line with ``jsonl``.

        A file that cannot be read or a document that is not JSON gives a result whose
        ``error`` is set; the other lines of a JSON Lines file are still validated.
        """
        name = display_name(path)
        if not jsonl:
            try:
                instance = read_json(path)
            except JSONFileError as error:
                yield DocumentResult(name, error=error)
                return
            yield DocumentResult(name, issues=tuple(self.issues(instance, source=name)))
            return
        try:
            for number, raw in iter_json_lines(path):
                try:
                    instance = parse_json(raw, source=name, line=number)
                except JSONFileError as error:
                    yield DocumentResult(name, number, error=error)
                    continue
                yield DocumentResult(
                    name, number, tuple(self.issues(instance, source=name, line=number))
                )
        except JSONFileError as error:
            yield DocumentResult(name, error=error)
