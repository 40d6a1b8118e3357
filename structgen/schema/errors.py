"""Errors and warnings of the JSON Schema frontend.

Every error names the JSON pointer of the schema location it is about (``#/properties/age``),
so a user can find it in a large schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from structgen.errors import StructgenError

__all__ = [
    "RemoteRefError",
    "SchemaError",
    "SchemaWarning",
    "UnsatisfiableSchemaError",
    "Unsupported",
    "UnsupportedSchemaError",
]


class SchemaError(StructgenError, ValueError):
    """A schema that is not valid JSON Schema, or that cannot be used (bad ``$ref``, bad regex)."""

    def __init__(self, message: str, *, pointer: str | None = None) -> None:
        self.reason = message
        self.pointer = pointer
        super().__init__(f"{message} (at {pointer})" if pointer is not None else message)


@dataclass(frozen=True)
class Unsupported:
    """One keyword the compiler cannot enforce exactly, where it is and why."""

    keyword: str
    pointer: str
    reason: str

    def __str__(self) -> str:
        return f"{self.keyword} at {self.pointer}: {self.reason}"


class UnsupportedSchemaError(SchemaError):
    """Keywords a grammar cannot express exactly; ``unsupported`` lists each with its pointer.

    Pass ``lenient=True`` to ignore them instead (with a :class:`SchemaWarning` each).
    """

    def __init__(self, unsupported: list[Unsupported], *, hint: str | None = None) -> None:
        self.unsupported = list(unsupported)
        shown = "\n".join(f"  - {item}" for item in self.unsupported[:20])
        more = f"\n  … and {len(self.unsupported) - 20} more" if len(self.unsupported) > 20 else ""
        hint = (
            hint
            or "pass lenient=True to ignore these keywords "
            "(the output is then not guaranteed to validate)"
        )
        keywords = ", ".join(sorted({item.keyword for item in self.unsupported}))
        message = (
            f"the schema uses keywords that cannot be enforced exactly ({keywords}):\n"
            f"{shown}{more}\n{hint}"
        )
        first = self.unsupported[0].pointer if self.unsupported else None
        StructgenError.__init__(self, message)
        self.reason = message
        self.pointer = first


class RemoteRefError(UnsupportedSchemaError):
    """A ``$ref`` to a document that is not part of the schema: never fetched, always an error."""

    def __init__(self, ref: str, pointer: str) -> None:
        super().__init__(
            [Unsupported("$ref", pointer, f"remote reference {ref!r} is not fetched")],
            hint="bundle the referenced schema into $defs and refer to it locally",
        )
        self.ref = ref


class UnsatisfiableSchemaError(SchemaError):
    """No JSON value validates against the schema (e.g. ``minItems`` > ``maxItems``)."""


class SchemaWarning(UserWarning):
    """Something the compiler ignored or dropped; also kept in ``Grammar.warnings``."""
