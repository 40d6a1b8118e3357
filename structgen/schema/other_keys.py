"""The key terminal of an object's unlisted keys, as a byte DFA built directly.

An object that allows keys besides its listed ``names`` needs the terminal ``"`` + the JSON
encoding (canonical: printable ASCII is never ``\\u``-escaped) of *any string but a name* +
``"`` whitespace ``:`` whitespace. Compiled from its regex, that costs 10–25 ms a schema (the
encodings of "any other character" — UTF-8 up to U+10FFFF, ``\\u`` escapes of everything but
printable ASCII — determinised and minimised again for every set of names), most of a small
schema's time to its first mask (issue 11).

Most names are plain: every character printable ASCII that JSON writes as itself and only so
(not ``"``, ``\\`` or ``/``, which have escapes). Then a byte can only continue a name as its
own character, and any other byte starts a character that leaves the names for good, after
which the key is free. So the DFA is the trie of the names (its equal subtries merged) above
one shared *free* DFA — encodings of any string, then the closing text — that depends on the
closing text alone: compiled from its regex once per process (and kept on disk for the next
one, keyed by its regex text and the regex compiler's sources), its row from the start state
is each trie state's row except on the name characters and the closing quote. Names with
other characters (rare) return ``None``: the caller compiles the regex as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from structgen.regex.ast import Node
from structgen.regex.dfa import DEAD, ByteDFA, compile_byte_dfa
from structgen.regex.nodes import ANY_CHAR, char, concat, star
from structgen.regex.text import to_regex_text
from structgen.schema.json_strings import encode
from structgen.vocab.dfa_cache import load_byte_dfa, store_byte_dfa

__all__ = [
    "PLAIN_NAME_CHARACTERS", "build_free_dfa", "free_dfa", "free_dfa_key", "key_close",
    "other_keys_dfa",
]  # fmt: skip

# Characters JSON (canonical) writes only as themselves: printable ASCII but ``"`` ``/`` ``\``.
PLAIN_NAME_CHARACTERS = frozenset(chr(c) for c in range(0x20, 0x7F)) - set('"/\\')
_QUOTE = ord('"')
_REGEX_SOURCES = ("automaton.py", "dfa.py", "nfa.py", "utf8.py", "ast.py", "nodes.py")
_free_dfas: dict[str, ByteDFA] = {}


def other_keys_dfa(names: Sequence[str], close: Node) -> ByteDFA | None:
    """The DFA of ``"`` + canonical encodings of any string not in ``names`` + ``close``
    (``close`` starts with the closing ``"``); ``None`` when a name has a character outside
    :data:`PLAIN_NAME_CHARACTERS`. Memoised (an object's regions ask for it again)."""
    return _other_keys_dfa(tuple(names), close)


@lru_cache(maxsize=256)
def _other_keys_dfa(names: tuple[str, ...], close: Node) -> ByteDFA | None:
    if any(c not in PLAIN_NAME_CHARACTERS for name in names for c in name):
        return None
    free = free_dfa(close)
    states, is_name, children = _merged_trie(names)
    offset = 1 + len(states)  # state 0 reads the opening quote; trie states follow
    start_row = np.where(free.transitions[0] >= 0, free.transitions[0] + offset, DEAD)
    transitions = np.full((offset + free.num_states, 256), DEAD, dtype=np.int32)
    transitions[0, _QUOTE] = 1  # the root is trie state 0, table state 1
    rows = transitions[1:offset]
    rows[:] = start_row  # any byte but a name character leaves the names: the free DFA
    for state in range(len(states)):
        if is_name[state]:
            rows[state, _QUOTE] = DEAD  # the key would be this name
        for character, child in children[state]:
            rows[state, ord(character)] = 1 + child
    free_rows = transitions[offset:]
    free_rows[:] = np.where(free.transitions >= 0, free.transitions + offset, DEAD)
    accepting = np.zeros(offset + free.num_states, dtype=bool)
    accepting[offset:] = free.accepting
    return ByteDFA(transitions=transitions, accepting=accepting)


def _merged_trie(
    names: Sequence[str],
) -> tuple[list[tuple], list[bool], list[list[tuple[str, int]]]]:
    """The trie of ``names`` with equal subtries merged (so its states are those of the
    minimal DFA): its states' signatures, whether each spells a name, and each state's
    ``(character, child)`` edges; state 0 is the root."""
    trie: dict = {}
    for name in names:
        node = trie
        for c in name:
            node = node.setdefault(c, {})
        node[None] = True
    numbers: dict[tuple, int] = {}
    signatures: list[tuple] = []

    def number(node: dict) -> int:
        edges = tuple(sorted((c, number(child)) for c, child in node.items() if c is not None))
        signature = (None in node, edges)
        found = numbers.get(signature)
        if found is None:
            found = numbers[signature] = len(signatures)
            signatures.append(signature)
        return found

    root = number(trie)
    # Renumber so the root is state 0 (it is numbered last, after its subtries).
    order = [root] + [state for state in range(len(signatures)) if state != root]
    new = {old: index for index, old in enumerate(order)}
    is_name = [signatures[old][0] for old in order]
    children = [[(c, new[child]) for c, child in signatures[old][1]] for old in order]
    return [signatures[old] for old in order], is_name, children


def free_dfa(close: Node) -> ByteDFA:
    """The minimal DFA of canonical encodings of any string, then ``close``: memoised per
    process, and on disk (``STRUCTGEN_NO_TERMINAL_CACHE`` turns that off; the package ships
    it for the usual closes, see :mod:`structgen.schema.seeds`)."""
    text = to_regex_text(close)
    found = _free_dfas.get(text)
    if found is None:
        key, sources = free_dfa_key(close)
        found = load_byte_dfa(key, sources)
        if found is None:
            found = build_free_dfa(close)
            store_byte_dfa(key, sources, found)
        _free_dfas[text] = found
    return found


def free_dfa_key(close: Node) -> tuple[list[str], list[str]]:
    """The disk key of :func:`free_dfa` of ``close``, and the source files it is built by."""
    return ["other-keys free DFA", to_regex_text(close)], _sources()


def build_free_dfa(close: Node) -> ByteDFA:
    """:func:`free_dfa` of ``close`` built (no memo, no disk)."""
    return compile_byte_dfa(concat(encode(star(ANY_CHAR), canonical=True), close))


def key_close(ws: Node) -> Node:
    """What follows a key's text: the closing quote, ``ws``, the colon, ``ws``."""
    return concat(char('"'), ws, char(":"), ws)


def _sources() -> list[str]:
    """The files whose code builds the free DFA (their digest is part of its disk key)."""
    folder = Path(__file__).parents[1] / "regex"
    return [__file__, *(str(folder / name) for name in _REGEX_SOURCES)]
