"""Entry point of the ``structgen`` command: one sub-module per sub-command.

Each sub-command module has ``register(subparsers)``, which adds its parser and sets
``func`` to a callable ``(args) -> int``. Errors that structgen raises on bad input are printed
without a traceback and exit with status 2.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence

from structgen.version import __version__

# Sub-command modules, in the order ``--help`` lists them.
_COMMANDS = (
    "structgen.cli.generate_cmd",
    "structgen.cli.compile_cmd",
    "structgen.cli.validate_cmd",
    "structgen.cli.check_schema_cmd",
    "structgen.cli.example_cmd",
    "structgen.cli.bench_cmd",
    "structgen.cli.cache_cmd",
)

EXIT_USAGE = 2
# Sub-commands whose long work (model load, compiles) shows progress on a terminal.
_WITH_PROGRESS = frozenset({"generate", "compile"})
# What a Unix tool killed by SIGPIPE reports: the reader of our output went away (`| head`).
EXIT_BROKEN_PIPE = 128 + 13


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="structgen",
        description="Constrained structured generation: make a language model obey a regex, "
        "grammar or JSON Schema.",
    )
    parser.add_argument("--version", action="version", version=f"structgen {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from structgen.errors import StructgenError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    if sys.stdout is None:  # started with standard output closed (`>&-`)
        print(f"structgen {args.command}: error: standard output is closed", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run(args)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        if error.errno != errno.EBADF:
            raise
        _silence_stdout()
        print(f"structgen {args.command}: error: standard output is closed", file=sys.stderr)
        return EXIT_USAGE
    except StructgenError as error:
        print(f"structgen {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"structgen {args.command}: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    """The sub-command, with progress of long work on a terminal's standard error (model load
    and conversion, compiles over a second); torch-free commands never import the model layer."""
    from structgen.cli import progress

    if not progress.enabled() or args.command not in _WITH_PROGRESS:
        return int(args.func(args) or 0)
    from structgen.models import reporting_progress

    with reporting_progress(progress.stage):
        return int(args.func(args) or 0)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's final flush cannot fail too."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
    finally:
        os.close(devnull)


if __name__ == "__main__":
    raise SystemExit(main())
