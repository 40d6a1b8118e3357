"""Special tokens named in a grammar: ``<[128010]>`` by id, ``<|python_tag|>`` by text.

The frontends (GBNF, Lark) turn a reference into a *placeholder* terminal
(:func:`special_reference`): named ``<…>`` as written, its pattern the escaped name (what the
token reads as in text). :func:`resolve_special_tokens`, called by ``compile_grammar`` with the
vocabulary, replaces each by the terminal of one special token id: named ``<[id]>``, matching
exactly the private bytes :func:`~structgen.vocab.special.special_token_bytes` gives that id in
the engine's view of the vocabulary (:func:`~structgen.vocab.special.engine_vocabulary`); the
grammar engine asks :func:`~structgen.vocab.special.special_token_ids` which ids to put there.
A grammar that names no special token is untouched: those tokens stay banned.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace

from structgen.errors import ConfigurationError
from structgen.grammar.errors import GrammarError
from structgen.ir import Grammar, Rule, Terminal
from structgen.regex.dfa import ByteDFA, chain_dfa
from structgen.vocab.special import (
    BY_ID,
    is_special_reference,
    is_unbound_reference,
    special_token_bytes,
)
from structgen.vocab.vocabulary import Vocabulary

__all__ = ["resolve_special_tokens", "special_reference"]


def special_reference(name: str) -> Terminal:
    """The placeholder terminal of a reference written ``name`` (``<[12]>``, ``<think>``)."""
    if not is_special_reference(name):
        raise ConfigurationError(
            f"{name!r} is not a special-token reference: write <[id]> or <text> (no spaces)"
        )
    return Terminal(name, re.escape(name))


def resolve_special_tokens(grammar: Grammar, vocab: Vocabulary) -> Grammar:
    """``grammar`` with every special-token reference bound to its id in ``vocab`` (``grammar``
    itself when it has none). Raises :class:`GrammarError` for a name that is no special token
    of ``vocab``, an id out of range, an ordinary token or an end-of-sequence token."""
    renames: dict[str, str] = {}
    terminals: dict[str, Terminal] = {}
    for name, terminal in grammar.terminals.items():
        if not is_unbound_reference(terminal):
            terminals[name] = terminal
            continue
        token_id = _token_id(name, vocab, grammar.source_name)
        bound = f"<[{token_id}]>"
        renames[name] = bound
        terminals[bound] = Terminal(bound, re.escape(bound), automaton=_token_dfa(token_id))
    if not renames:
        return grammar
    rules = tuple(
        Rule(rule.lhs, tuple(renames.get(symbol, symbol) for symbol in rule.rhs))
        for rule in grammar.rules
    )
    ignore = tuple(dict.fromkeys(renames.get(name, name) for name in grammar.ignore))
    return replace(grammar, terminals=terminals, rules=rules, ignore=ignore)


def _token_id(name: str, vocab: Vocabulary, source_name: str) -> int:
    match = BY_ID.fullmatch(name)
    count = len(vocab.token_bytes)
    if match is not None:
        token_id = int(match.group(1))
        if token_id >= count:
            raise GrammarError(
                f"token reference {name}: id {token_id} is outside vocabulary "
                f"{vocab.name!r} (ids 0 to {count - 1})",
                source_name=source_name,
            )
    else:
        text = name
        named = sorted(i for i, t in vocab.special_names.items() if t == text)
        if not named:
            ordinary = text.encode("utf-8") in set(vocab.token_bytes)
            names = sorted(set(vocab.special_names.values()))
            close = difflib.get_close_matches(text, names, n=4, cutoff=0.5) or names[:6]
            hint = (
                f"it is an ordinary token there: write it as the string {text!r}"
                if ordinary
                else "special tokens there include " + ", ".join(close)
            )
            raise GrammarError(
                f"token reference {name}: vocabulary {vocab.name!r} has no special token "
                f"{text!r}; {hint}",
                source_name=source_name,
            )
        token_id = named[0]
    if token_id not in vocab.special_ids:
        raise GrammarError(
            f"token reference {name}: token {token_id} is an ordinary token "
            f"({vocab.token_bytes[token_id]!r}); a reference names a special token — write "
            "ordinary text as a string",
            source_name=source_name,
        )
    if token_id in vocab.eos_ids:
        raise GrammarError(
            f"token reference {name}: token {token_id} ends the sequence; the constraint "
            "allows it by itself wherever the grammar may end",
            source_name=source_name,
        )
    return token_id


def _token_dfa(token_id: int) -> ByteDFA:
    """The DFA of exactly the private bytes of ``token_id``."""
    return chain_dfa([((byte, byte),) for byte in special_token_bytes(token_id)])
