"""``structgen check-schema``: check JSON Schema files against their draft's metaschema.

Exit status: 0 when every schema is valid, 1 when some schema is invalid, 2 when a file cannot
be read, is not JSON, or names an unknown ``$schema``. Each finding names the file and a JSON
Pointer into the schema (``s.json: #/properties/age/minimum: 'zero' is not of type 'number'``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from structgen.cli.arguments import schema_source
from structgen.cli.validate_cmd import EXIT_ERROR, EXIT_INVALID, guard_broken_pipe, stdin_uses


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-schema",
        help="check JSON Schema files against their draft's metaschema (fast; loads no model)",
        description="Meta-validate JSON Schema files (draft from $schema, default 2020-12) and "
        "report $refs that point to nothing inside the schema. Exit 0 if all are valid, 1 if any "
        "is invalid, 2 on an unreadable file, bad JSON or an unknown $schema.",
    )
    parser.add_argument(
        "schemas",
        nargs="+",
        type=schema_source,
        metavar="FILE",
        help="schema files to check (- for stdin)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only problems: no summary line"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return guard_broken_pipe(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from structgen.errors import ConfigurationError, StructgenError
    from structgen.validation import check_schema_file

    if stdin_uses(args.schemas) > 1:
        raise ConfigurationError(
            "standard input (-) can be read only once; give it to one argument"
        )
    valid = invalid = errors = 0
    for path in args.schemas:
        try:
            issues = check_schema_file(path)
        except StructgenError as error:
            errors += 1
            print(f"structgen check-schema: error: {error}", file=sys.stderr)
            continue
        if issues:
            invalid += 1
            for issue in issues:
                print(issue)
        else:
            valid += 1
    if not args.quiet:
        print(f"{valid} valid, {invalid} invalid" + (f", {errors} unreadable" if errors else ""))
    if errors:
        return EXIT_ERROR
    return EXIT_INVALID if invalid else 0
