"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = [
    "add_constraint_options",
    "constraint_options",
    "grammar_source",
    "schema_option",
    "schema_source",
    "whitespace_choice",
]

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


def whitespace_choice(text: str) -> str | int:
    """``--whitespace``: ``compact``, ``flexible`` or a non-negative int."""
    if text in ("compact", "flexible"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected compact, flexible or a number of characters, not {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, not {value}")
    return value


def schema_option(text: str) -> tuple[str, Any]:
    """``--schema-option NAME=VALUE``: VALUE read as JSON when it parses (``4096``, ``false``),
    else as a string (``annotation``)."""
    name, equals, raw = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip().replace("-", "_"), value


def add_constraint_options(parser: argparse.ArgumentParser) -> None:
    """The flags of how a schema or grammar is compiled (generate's schema options)."""
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="with --schema: ignore keywords that cannot be enforced exactly (a warning each) "
        "instead of refusing the schema",
    )
    parser.add_argument(
        "--whitespace",
        type=whitespace_choice,
        default=None,
        metavar="compact|flexible|N",
        help="whitespace the model may choose: with --schema around { } [ ] , : (default: "
        "compact, none); with --grammar between two tokens where the grammar ignores it "
        "(default: compact, one space); flexible: up to 32; N: up to N",
    )
    parser.add_argument(
        "--property-order",
        choices=("schema", "any"),
        default=None,
        help="with --schema: object properties in the schema's order (default) or any order",
    )
    parser.add_argument(
        "--schema-option",
        type=schema_option,
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="with --schema: any other schema compiler option (repeatable), e.g. "
        "formats=annotation, additional_properties_default=false, max_array_expansion=4096",
    )


def constraint_options(args: argparse.Namespace) -> dict[str, Any]:
    """generate()'s schema and whitespace keyword arguments from the parsed flags."""
    pairs = getattr(args, "schema_option", None)
    return {
        "lenient": bool(getattr(args, "lenient", False)),
        "whitespace": getattr(args, "whitespace", None),
        "property_order": getattr(args, "property_order", None),
        "schema_options": dict(pairs) if pairs else None,
    }
