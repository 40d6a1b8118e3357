"""``structgen bench``: the benchmark harness, when it is installed beside the library.

The harness is the ``structgen-bench`` distribution (``benchmarks/`` in the repository, never
in structgen's wheel). This command only hands its arguments over to
:func:`structgen_bench.cli.main`, which parses them; registering it imports nothing of the
harness, so other commands start as fast as before.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

EXIT_USAGE = 2
NOT_INSTALLED = (
    "structgen bench: the benchmark harness is not installed: from a clone, `make bench` or "
    "`pip install ./benchmarks`"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark structgen against its peers (xgrammar, outlines-core, llguidance)",
        description="Benchmarks: structgen side by side with its peers, in one run "
        "(needs the harness: `pip install ./benchmarks` from a clone).",
        add_help=False,  # --help goes to the harness, which knows the benchmarks' options
        prefix_chars="\0",  # so that every argument, options included, is passed on as it is
    )
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the harness on the arguments after ``bench``; 2 when it is not installed."""
    try:
        harness = importlib.import_module("structgen_bench.cli")
    except ModuleNotFoundError as error:
        if error.name not in ("structgen_bench", "structgen_bench.cli"):
            raise  # the harness is there but one of its dependencies is not: say which
        print(NOT_INSTALLED, file=sys.stderr)
        return EXIT_USAGE
    return int(harness.main(args.arguments, prog="structgen bench"))
