"""``structgen cache``: where the compile cache lives, what it holds, and clearing it."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="show or clear the on-disk cache of compiled constraints",
        description=(
            "The compile cache holds compiled regexes, grammars and JSON Schemas, one file per "
            "constraint, vocabulary and structgen build. Deleting it is always safe: entries "
            "are rebuilt on demand. Its folder is $STRUCTGEN_CACHE_DIR/compiled, else "
            "compiled/ in the user cache directory."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    for name, help_text in (
        ("info", "print the cache folder, its number of entries and their size"),
        ("clear", "delete every entry of the cache (nothing else in the folder)"),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument(
            "--cache-dir",
            metavar="DIR",
            help="the cache root to use instead of $STRUCTGEN_CACHE_DIR (entries in DIR/compiled)",
        )
        action.add_argument("--json", action="store_true", help="print the result as JSON")
        action.set_defaults(func=run_info if name == "info" else run_clear)
    parser.set_defaults(func=None)  # `structgen cache` alone prints the usage


def run_info(args: argparse.Namespace) -> int:
    from structgen.runtime.cache import cache_directory, info

    found = info(cache_directory(args.cache_dir))
    if args.json:
        print(
            json.dumps(
                {"directory": str(found.directory), "entries": found.entries, "bytes": found.bytes}
            )
        )
    else:
        print(f"directory  {found.directory}")
        print(f"entries    {found.entries}")
        print(f"size       {_size(found.bytes)}")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    from structgen.runtime.cache import cache_directory, clear

    directory = cache_directory(args.cache_dir)
    removed = clear(directory)
    if args.json:
        print(json.dumps({"directory": str(directory), "removed": removed}))
    else:
        print(f"removed {removed} file{'s' if removed != 1 else ''} from {directory}")
    return 0


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024**2:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024**2:.1f} MiB"
