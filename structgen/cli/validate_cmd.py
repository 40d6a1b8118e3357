"""``structgen validate``: check JSON documents against a JSON Schema (no model is loaded).

Exit status: 0 when every document is valid, 1 when some document is invalid, 2 when a file
cannot be read, a document or the schema is not JSON, or the schema itself is invalid.
Findings go to standard output, one per line (``doc.json: $.age: -1 is less than the minimum of
0``), then a summary line; errors and warnings go to standard error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from structgen.cli.arguments import schema_source

EXIT_INVALID = 1
EXIT_ERROR = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate JSON documents against a JSON Schema (fast; loads no model)",
        description="Validate JSON documents against a JSON Schema: every draft through $schema "
        "(default 2020-12), with format checking; $ref targets outside the schema are never "
        "fetched. Exit 0 if all are valid, 1 if any is invalid, 2 on an unreadable file, bad JSON "
        "or a bad schema.",
    )
    parser.add_argument(
        "--schema",
        required=True,
        type=schema_source,
        metavar="FILE",
        help="the JSON Schema file (- for stdin)",
    )
    parser.add_argument(
        "documents", nargs="+", metavar="DOC", help="JSON files to check (- for stdin)"
    )
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="each DOC is JSON Lines: one document per non-blank line",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only problems: no summary line, no warnings",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return guard_broken_pipe(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from structgen.errors import ConfigurationError
    from structgen.validation import DocumentValidator

    if stdin_uses([args.schema, *args.documents]) > 1:
        raise ConfigurationError(
            "standard input (-) can be read only once; give it to one argument"
        )

    validator = DocumentValidator.from_file(args.schema)
    if not args.quiet:
        for warning in validator.format_warnings():
            print(f"structgen validate: warning: {warning}", file=sys.stderr)

    valid = invalid = errors = 0
    for path in args.documents:
        for result in validator.validate_file(path, jsonl=args.jsonl):
            if result.error is not None:
                errors += 1
                print(f"structgen validate: error: {result.error}", file=sys.stderr)
            elif result.issues:
                invalid += 1
                for issue in result.issues:
                    print(issue)
            else:
                valid += 1
    if not args.quiet:
        summary = f"{valid} valid, {invalid} invalid"
        print(summary + (f", {errors} unreadable" if errors else ""))
    if errors:
        return EXIT_ERROR
    return EXIT_INVALID if invalid else 0


def stdin_uses(paths: Iterable[str | os.PathLike[str]]) -> int:
    """How many of ``paths`` name standard input (``-``)."""
    return sum(os.fspath(path) == "-" for path in paths)


def guard_broken_pipe(body: Callable[[], int]) -> int:
    """Run ``body`` and flush standard output inside the command, so that a reader that went
    away (``| head``) raises ``BrokenPipeError`` here, for :func:`structgen.cli.main.main` to
    turn into exit status 141, rather than at the interpreter's final flush."""
    code = body()
    sys.stdout.flush()
    return code
