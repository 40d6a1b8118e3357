"""The automata the package ships (``structgen/vocab/seeds``): built ahead, read like the cache.

Some automata do not depend on the schema or the vocabulary and cost a first compile dearly:
the DFA of an unlisted object key (:func:`~structgen.schema.other_keys.free_dfa`, 10–35 ms,
on the way to the first mask of any object that allows other keys), the minimal automata
of string formats (:mod:`~structgen.schema.format_automata`: email 140 ms, uri-reference 80,
hostname 55), and the byte tables of JSON strings of each format in both escape modes
(:mod:`~structgen.schema.format_tables`: what the first masks of a ``uri`` string built row by
row, 20–60 ms). A new process on a new machine would build them; the package carries them
instead, under the names the disk cache would give them (:mod:`structgen.vocab.dfa_cache`), so a
changed builder never reads a stale one.

``python -m structgen.schema.seeds`` rewrites them (``make seeds``); ``tests/schema/test_seeds.py``
checks that every seed is there and equal to a fresh build.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import ByteDFA
from structgen.schema.compiler import whitespace_run
from structgen.schema.format_automata import seed_format_dfa
from structgen.schema.format_tables import build_format_table, format_table_key
from structgen.schema.options import DEFAULT_MAX_WHITESPACE, SchemaOptions
from structgen.schema.other_keys import build_free_dfa, free_dfa_key, key_close
from structgen.validation.formats import KNOWN_FORMATS, format_node
from structgen.vocab.dfa_cache import SEED_DIR, SEED_SUFFIX, seed_byte_dfa

__all__ = ["SEEDED_WHITESPACE_LIMITS", "format_seeds", "seeds", "write_seeds"]

SEEDED_WHITESPACE_LIMITS = (0, 1, DEFAULT_MAX_WHITESPACE)
"""The whitespace limits whose key closes are seeded: compact, one space, the default."""


def seeds() -> Iterator[tuple[Any, list[str], Callable[[], ByteDFA]]]:
    """Every seed: its disk key, its builder's sources, and how to build it."""
    for limit in SEEDED_WHITESPACE_LIMITS:
        close = key_close(whitespace_run(limit))
        key, sources = free_dfa_key(close)
        yield key, sources, lambda close=close: build_free_dfa(close)
    for name, limit, _ in format_seeds():
        for canonical in (False, True):
            key, sources = format_table_key(name, canonical, limit)
            yield key, sources, lambda name=name, canonical=canonical: build_format_table(
                name, canonical, limit
            )


def format_seeds() -> Iterator[tuple[str, int, Callable[[], CodePointDFA]]]:
    """Every format seed: the format, its state limit (the default ``max_regex_states``), and
    how to build its minimal automaton."""
    limit = SchemaOptions().max_regex_states
    for name in sorted(KNOWN_FORMATS):
        node = format_node(name)
        if node is not None:
            yield name, limit, lambda node=node: CodePointDFA.from_node(
                node, max_states=limit
            ).minimized()


def write_seeds(directory: Path = SEED_DIR) -> list[Path]:
    """Build every seed into ``directory`` (emptied of older seeds first); their paths."""
    if directory.is_dir():
        for old in directory.glob(f"*{SEED_SUFFIX}"):
            old.unlink()
    written = [seed_byte_dfa(key, sources, build(), directory) for key, sources, build in seeds()]
    for name, limit, build_format in format_seeds():
        written.append(seed_format_dfa(name, limit, build_format(), directory))
    return written


def main(argv: list[str]) -> int:
    """``python -m structgen.schema.seeds [DIRECTORY]``: write the seeds, list them."""
    directory = Path(argv[0]) if argv else SEED_DIR
    for path in write_seeds(directory):
        print(f"{path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
