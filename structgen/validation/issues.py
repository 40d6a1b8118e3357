"""What validation reports: one :class:`Issue` per finding, a :class:`DocumentResult` per
document, and the errors raised for a schema that cannot be used."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from structgen.errors import StructgenError

__all__ = ["DocumentResult", "InvalidSchemaError", "Issue", "SchemaReferenceError"]


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
class DocumentResult:
    """The outcome for one document (one file, or one line of a JSON Lines file)."""

    source: str
    line: int | None = None
    issues: tuple[Issue, ...] = ()
    error: StructgenError | None = None  # the document could not be read or parsed

    @property
    def valid(self) -> bool:
        return self.error is None and not self.issues
