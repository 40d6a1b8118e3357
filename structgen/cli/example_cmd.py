"""``structgen example``: print JSON instances of a JSON Schema, derived without a model.

Exit status: 0 when every instance asked for was printed, 2 when the schema cannot be read or
compiled, is unsatisfiable, or no derived instance validated (nothing invalid is ever printed).
Instances go to standard output (one per line with ``--count``: JSON Lines); errors and the
compiler's warnings go to standard error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from structgen.cli.arguments import schema_source
from structgen.cli.validate_cmd import guard_broken_pipe


def register(subparsers: Any) -> None:
    """Add the ``example`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "example",
        help="print a JSON instance valid against a JSON Schema (fast; loads no model)",
        description="Derive JSON instances of a JSON Schema from its grammar, with no model: "
        "the minimal one by default, random ones with --seed. Every instance is validated with "
        "structgen validate's validator before it is printed. Exit 0 on success, 2 when the "
        "schema is bad, unsupported or unsatisfiable, or no valid instance was found.",
    )
    parser.add_argument(
        "--schema",
        required=True,
        type=schema_source,
        metavar="FILE",
        help="the JSON Schema file (- for stdin)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="a random instance from seed N (default: the minimal instance)",
    )
    parser.add_argument(
        "--count",
        type=_positive_int,
        default=1,
        metavar="K",
        help="print K instances as JSON Lines: seeds N, N+1, … (without --seed: the minimal "
        "instance, then seeds 1 … K-1)",
    )
    parser.add_argument(
        "--indent",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help="pretty-print with N spaces (only with --count 1)",
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="ignore keywords the grammar cannot enforce; instances are still validated, and "
        "other seeds are tried when one is not valid",
    )
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, not {value}")
    return value


def run(args: argparse.Namespace) -> int:
    return guard_broken_pipe(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    import json
    import warnings

    from structgen.errors import ConfigurationError
    from structgen.schema import RemoteRefError, SchemaWarning, UnsupportedSchemaError
    from structgen.schema.example import ExampleGenerator
    from structgen.schema.loading import read_schema_file

    if args.indent is not None and args.count > 1:
        raise ConfigurationError("--indent needs --count 1: JSON Lines hold one instance per line")
    schema = read_schema_file(args.schema)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SchemaWarning)
        try:
            generator = ExampleGenerator(schema, lenient=args.lenient)
        except UnsupportedSchemaError as error:
            if isinstance(error, RemoteRefError):
                raise
            raise UnsupportedSchemaError(
                error.unsupported,
                hint="pass --lenient to ignore these keywords (instances are still validated)",
            ) from None
    messages = [str(warning.message) for warning in caught] + generator.format_warnings()
    for message in messages:
        print(f"structgen example: warning: {message}", file=sys.stderr)
    for index in range(args.count):
        if args.seed is not None:
            seed: int | None = args.seed + index
        else:
            seed = index or None
        value = generator.instance(seed)
        _emit(json.dumps(value, ensure_ascii=False, indent=args.indent, allow_nan=False))
    return 0


def _emit(line: str) -> None:
    """Write ``line`` as UTF-8 (JSON's encoding), whatever the locale's encoding is."""
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:  # a text stream without a buffer (tests, embedding)
        print(line)
        return
    sys.stdout.flush()
    stream.write(line.encode("utf-8") + b"\n")
    stream.flush()
