"""Byte tables of JSON strings of the known formats, built ahead and shipped with the package.

A string with a ``format`` and nothing else (``{"type": "string", "format": "uri"}``: the common
case by far) is one terminal: ``"``, every JSON encoding of a string of the format, ``"``. Its
automaton does not depend on the schema or the vocabulary, yet built in a process it costs
what a first mask cannot afford: a URI's regex runs through an NFA and a subset construction
(tens of ms), or, as a lazy product, its rows are made in Python one by one (~110 µs each,
hundreds of them in the first masks that walk into it — issue 11's slowest masks). So the
package carries the whole minimal table of every known format, in both escape modes
(:mod:`structgen.schema.seeds` writes them: all of them 200 KB compressed), read like a cache
entry; with no table for the settings asked (another ``max_regex_states``), the string is built
as before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from structgen.regex import automaton
from structgen.regex.dfa import ByteDFA, compile_byte_dfa
from structgen.regex.lazy_product import JsonStringAutomaton
from structgen.regex.nodes import char
from structgen.schema.strings import minimal_dfa
from structgen.validation.formats import format_node
from structgen.vocab.dfa_cache import load_byte_dfa

__all__ = ["build_format_table", "format_table", "format_table_key"]

_SOURCES = (
    "schema/format_tables.py", "regex/lazy_product.py", "regex/lengths.py",
    "regex/codepoint_dfa.py", "regex/automaton.py", "regex/dfa.py", "regex/ast.py",
    "regex/nodes.py", "regex/parser.py", "validation/formats.py",
)  # fmt: skip
_PACKAGE = Path(__file__).parents[1]
_tables: dict[tuple[str, bool, int], ByteDFA] = {}


def format_table(name: str, *, canonical: bool, max_states: int) -> ByteDFA | None:
    """The minimal byte table of ``"`` + JSON encodings of format ``name`` + ``"`` that the
    package ships (or the cache holds) for these settings, else None; memoised per process
    once found (every schema's strings of the format share the table, and so their walks)."""
    canonical = bool(canonical)  # (the disk key spells it as JSON: 0 is not false)
    key = (name, canonical, max_states)
    found = _tables.get(key)
    if found is None:  # (a miss is not kept: the cache may be switched on again, or filled)
        found = load_byte_dfa(*format_table_key(name, canonical, max_states))
        if found is not None:
            _tables[key] = found
    return found


def format_table_key(name: str, canonical: bool, max_states: int) -> tuple[list, list[str]]:
    """The disk key of a format's table, and the source files that build it."""
    return ["format table", name, canonical, max_states], [
        str(_PACKAGE / source) for source in _SOURCES
    ]


def build_format_table(name: str, canonical: bool, max_states: int) -> ByteDFA:
    """The table of format ``name`` built (no memo, no disk): the lazy JSON-string automaton of
    its minimal code-point DFA, every state's row made, then trimmed and minimised."""
    node = format_node(name)
    if node is None:
        raise ValueError(f"format {name!r} is not known")
    language = minimal_dfa(node, max_states)
    lazy = JsonStringAutomaton(language, 0, None, compile_byte_dfa(char('"')), canonical=canonical)
    rows = [lazy.row(0)]
    while len(rows) < lazy.num_states:  # (each row numbers the states it leads to)
        rows.append(lazy.row(len(rows)))
    accepting = np.array([lazy.accepts(state) for state in range(len(rows))], dtype=np.bool_)
    transitions, accepting = automaton.minimize(
        *automaton.trim(np.stack(rows).astype(np.int32), accepting)
    )
    return ByteDFA(transitions=transitions, accepting=accepting)
