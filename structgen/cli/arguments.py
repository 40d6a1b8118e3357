"""Argument types shared by the subcommands."""

from __future__ import annotations

from pathlib import Path

__all__ = ["grammar_source", "schema_source"]

_GRAMMAR_SUFFIXES = (".lark", ".gbnf")


def grammar_source(text: str) -> str | Path:
    """``--grammar``: a path when the argument names a file or folder or ends in ``.lark`` /
    ``.gbnf`` (the API reads files only from path objects), else a bundled name or text."""
    if "\n" in text:
        return text
    path = Path(text)
    if path.exists():
        return path
    if path.suffix in _GRAMMAR_SUFFIXES:
        # Building the parser must stay light (no numpy): the grammar package loads on use only.
        from structgen.grammar.bundled import available

        # "json.gbnf" is a bundled grammar of one syntax; any other such name is a missing file.
        return text if text == path.name and path.stem in available() else path
    return text


def schema_source(text: str) -> Path:
    """``--schema`` and schema file arguments: always a path (``-`` is standard input), since
    the API parses a ``str`` as schema text and reads files only from path objects."""
    return Path(text)
