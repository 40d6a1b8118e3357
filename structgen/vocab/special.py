"""Special tokens a grammar names: their private bytes in the engine's view of a vocabulary.

A :class:`~structgen.vocab.Vocabulary` gives every special token ``b""``, so no byte walk ever
allows one. A grammar that names some (``<|python_tag|>``, ``<think>``) has each of them matched
by a terminal of its own (see :mod:`structgen.grammar.special_tokens`), and the grammar engine
walks the trie of :func:`engine_vocabulary`: the same vocabulary in which each named special
token spells :func:`special_token_bytes` — ``0xFF`` followed by its id in 4 bytes.

Why no ordinary token sequence can forge these bytes: ``0xFF`` never occurs in UTF-8, and every
terminal structgen compiles matches UTF-8 text only, so an ordinary token holding ``0xFF`` is
never allowed by any grammar; the view blanks those tokens (the byte-level ``0xFF`` token, and
any other), so only a named special token can put ``0xFF`` in the text the engine reads — a
whole encoding at once, which a token walk cannot end inside of (the encodings have one
length, so none is a prefix of another).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from structgen.errors import ConfigurationError
from structgen.vocab.vocabulary import Vocabulary

__all__ = [
    "SPECIAL_MARK",
    "engine_vocabulary",
    "is_special_reference",
    "is_unbound_reference",
    "special_token_bytes",
    "special_token_ids",
]

SPECIAL_MARK = 0xFF
"""The first byte of every special token's private bytes (a byte UTF-8 never uses)."""
_ID_BYTES = 4
_VIEWS: OrderedDict[tuple[str, tuple[int, ...]], Vocabulary] = OrderedDict()
_VIEWS_SIZE = 16
_LOCK = threading.Lock()
_REFERENCE = re.compile(r"<[^<>\s]+>")
BY_ID = re.compile(r"<\[([0-9]+)\]>")
"""A bound special-token terminal's name: ``<[id]>``."""


def is_special_reference(name: str) -> bool:
    """Whether ``name`` has the form of a special-token reference (``<[12]>``, ``<think>``)."""
    return _REFERENCE.fullmatch(name) is not None


def is_unbound_reference(terminal: Any) -> bool:
    """Whether a grammar terminal is a frontend's placeholder for a special token, not yet
    bound to a vocabulary (named ``<…>``, its pattern the escaped name, nothing else)."""
    return (
        terminal.automaton is None
        and terminal.node is None
        and is_special_reference(terminal.name)
        and terminal.pattern == re.escape(terminal.name)
    )


def special_token_ids(terminals: Iterable[Any]) -> tuple[int, ...]:
    """The special token ids a grammar's bound terminals match (named ``<[id]>``, with an
    automaton), sorted; :class:`ConfigurationError` when a placeholder is still unbound."""
    found: set[int] = set()
    for terminal in terminals:
        match = BY_ID.fullmatch(terminal.name)
        if match is not None and terminal.automaton is not None:
            found.add(int(match.group(1)))
        elif is_unbound_reference(terminal):
            raise ConfigurationError(
                f"the special token {terminal.name} is not bound to a vocabulary yet; compile "
                "the grammar with compile_grammar(grammar, vocab), or pass it through "
                "structgen.grammar.special_tokens.resolve_special_tokens(grammar, vocab) first"
            )
    return tuple(sorted(found))


def special_token_bytes(token_id: int) -> bytes:
    """The bytes special token ``token_id`` spells in the engine's view: ``0xFF`` + 4-byte id."""
    return bytes((SPECIAL_MARK,)) + int(token_id).to_bytes(_ID_BYTES, "big")


def engine_vocabulary(vocab: Vocabulary, token_ids: Iterable[int]) -> Vocabulary:
    """``vocab`` as an engine sees it when a grammar names the special tokens ``token_ids``:
    each spells :func:`special_token_bytes`, and every other token holding byte ``0xFF`` is
    blanked (no grammar allows one). ``vocab`` itself when ``token_ids`` is empty. Memoised."""
    ids = tuple(sorted(set(token_ids)))
    if not ids:
        return vocab
    key = (vocab.fingerprint, ids)
    with _LOCK:
        found = _VIEWS.get(key)
    if found is not None:
        return found
    for token_id in ids:
        if token_id not in vocab.special_ids or token_id in vocab.eos_ids:
            raise ConfigurationError(
                f"token {token_id} is not a special (non end-of-sequence) token of vocabulary "
                f"{vocab.name!r}; only those can be named in a grammar"
            )
    mark = bytes((SPECIAL_MARK,))
    tokens = [b"" if mark in data else data for data in vocab.token_bytes]
    for token_id in ids:
        tokens[token_id] = special_token_bytes(token_id)
    view = Vocabulary(
        tokens,
        special_ids=vocab.special_ids.difference(ids),
        eos_ids=vocab.eos_ids,
        size=vocab.size,
        name=vocab.name,
        special_names={i: t for i, t in vocab.special_names.items() if i not in ids},
    )
    with _LOCK:
        _VIEWS[key] = view
        if len(_VIEWS) > _VIEWS_SIZE:
            _VIEWS.popitem(last=False)
    return view
