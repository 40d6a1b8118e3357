"""A schema ready to validate documents: checked once, then applied to files, JSON Lines or
values, with every finding located by JSONPath."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from referencing.jsonschema import Specification

from structgen.validation.documents import (
    JSONFileError,
    display_name,
    iter_json_lines,
    json_path,
    parse_document,
    read_document,
    read_json,
)
from structgen.validation.drafts import draft_class, draft_name, specification
from structgen.validation.format_checks import format_warnings
from structgen.validation.issues import (
    DocumentResult,
    InvalidSchemaError,
    Issue,
    SchemaReferenceError,
)
from structgen.validation.messages import to_issues
from structgen.validation.metaschema_check import schema_issues
from structgen.validation.references import REFERENCE_ERRORS, reference_problem, subschemas
from structgen.validation.validator import make_validator

__all__ = ["DocumentValidator"]


class DocumentValidator:
    """A schema ready to validate documents: checked (see
    :mod:`~structgen.validation.schema_check`), references resolved offline, ``format``
    asserted (the formats this draft's checker knows: see ``unchecked_formats``), ``pattern``
    as ECMA-262.

    Numbers in documents are integers when written without fraction or exponent (compared
    exactly) and float64 otherwise (compared as read: ``0.29999999999999999 == 0.3``); see
    :mod:`structgen.validation`. A repeated key in an object is an issue of its own.

    Raises :class:`InvalidSchemaError` for a schema ``check_schema`` finds issues with (a
    ``$ref`` loop among them), and
    :class:`SchemaReferenceError` for a ``$ref`` to a document outside the schema.
    """

    def __init__(self, schema: Any, *, source: str = "<schema>") -> None:
        self.schema = schema
        self.source = source
        cls = draft_class(schema, source=source)
        self.draft = draft_name(cls)
        issues, remote = schema_issues(schema, cls, source)
        if issues:
            raise InvalidSchemaError(f"invalid schema {source} ({self.draft})", issues)
        for issue, ref in remote:
            raise SchemaReferenceError(str(issue), uri=ref, remote=True)
        self._validator = make_validator(schema, source=source)
        checked = set(self._validator.format_checker.checkers)  # type: ignore[union-attr]
        formats = _formats(schema, specification(cls))
        self.unchecked_formats: tuple[str, ...] = tuple(sorted(formats - checked))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> DocumentValidator:
        """Load a schema file (``-`` reads standard input)."""
        return cls(read_json(path), source=display_name(path))

    def format_warnings(self) -> list[str]:
        """One line per ``format`` in the schema that is not checked, saying why."""
        checker = self._validator.format_checker
        return format_warnings(
            self.unchecked_formats,
            checker,
            draft=self.draft,
            source=self.source,  # type: ignore[arg-type]
        )

    def issues(
        self, instance: Any, *, source: str = "<document>", line: int | None = None
    ) -> list[Issue]:
        """Every validation error of ``instance``, ordered by location."""
        try:
            errors = list(self._validator.iter_errors(instance))
        except REFERENCE_ERRORS as error:  # a reference only reached at validation time
            ref = str(getattr(error, "ref", "?"))
            message, remote = reference_problem(error, "$ref", ref)
            raise SchemaReferenceError(
                f"{self.source}: {message}", uri=ref, remote=remote
            ) from None
        except RecursionError:
            return [Issue(source, "$", "document or schema nested too deeply to validate", line)]
        return to_issues(errors, json_path, source=source, line=line)

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
                instance, repeated = read_document(path)
            except JSONFileError as error:
                yield DocumentResult(name, error=error)
                return
            yield DocumentResult(name, issues=self._document_issues(instance, repeated, name))
            return
        try:
            for number, raw in iter_json_lines(path):
                try:
                    instance, repeated = parse_document(raw, source=name, line=number)
                except JSONFileError as error:
                    yield DocumentResult(name, number, error=error)
                    continue
                issues = self._document_issues(instance, repeated, name, number)
                yield DocumentResult(name, number, issues)
        except JSONFileError as error:
            yield DocumentResult(name, error=error)

    def _document_issues(
        self,
        instance: Any,
        repeated: list[tuple[str | int, ...]],
        source: str,
        line: int | None = None,
    ) -> tuple[Issue, ...]:
        """A repeated key is an issue (parsers disagree on which value counts), then the
        validation issues of the value ``json.loads`` reads (the last occurrence)."""
        duplicates = [
            Issue(
                source,
                json_path(path),
                f"duplicate key {path[-1]!r} in this object: JSON parsers disagree on which "
                "value counts (this one was validated with the last)",
                line,
            )
            for path in repeated
        ]
        return (*duplicates, *self.issues(instance, source=source, line=line))


def _formats(schema: Any, default: Specification[Any]) -> set[str]:
    """Every ``format`` value of the schema's subschemas."""
    return {
        value
        for _, contents, _ in subschemas(schema, default=default)
        if isinstance(contents, dict) and isinstance(value := contents.get("format"), str)
    }
