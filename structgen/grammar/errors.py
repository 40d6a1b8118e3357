"""Errors and warnings about a grammar's text or structure.

:class:`GrammarError` is also a ``ValueError``; when the problem has a place in the source it
carries ``line`` and ``column`` (1-based) and the message shows the offending line with a caret.
"""

from __future__ import annotations

from structgen.errors import StructgenError

__all__ = ["GrammarError", "GrammarWarning", "line_and_column"]


class GrammarError(StructgenError, ValueError):
    """A grammar that does not parse or cannot describe a language (undefined, unproductive, …)."""

    def __init__(
        self,
        message: str,
        *,
        source_name: str = "<grammar>",
        line: int | None = None,
        column: int | None = None,
        text: str | None = None,
    ) -> None:
        self.reason = message
        self.source_name = source_name
        self.line = line
        self.column = column
        super().__init__(self._render(text))

    def _render(self, text: str | None) -> str:
        if self.line is None:
            return f"{self.source_name}: {self.reason}"
        where = f"{self.source_name}:{self.line}:{self.column or 1}"
        lines = text.splitlines() if text is not None else []
        if not 1 <= self.line <= len(lines):
            return f"{where}: {self.reason}"
        shown = lines[self.line - 1].expandtabs(1)
        column = max(1, self.column or 1)
        if len(shown) > 160:  # keep the caret on screen: show a window around it
            start = max(0, column - 80)
            shown, column = shown[start : start + 160], column - start
        caret = " " * (min(column, len(shown) + 1) - 1) + "^"
        return f"{where}: {self.reason}\n  {shown}\n  {caret}"


class GrammarWarning(UserWarning):
    """A grammar that works but has dead parts (unreachable rules); see ``Grammar.warnings``."""


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of the 0-based ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column
