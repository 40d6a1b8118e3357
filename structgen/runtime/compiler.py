"""Compile constraints (regex, grammar, JSON Schema) against a vocabulary: the front door."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from structgen.engines.cfg.engine import GrammarEngine
from structgen.engines.dfa.cache_entry import InvalidEntry, token_dfa_arrays, token_dfa_from_arrays
from structgen.engines.dfa.token_dfa import DEFAULT_EAGER_MASK_BYTES, TokenDFA
from structgen.errors import ConfigurationError
from structgen.ir import Grammar
from structgen.regex.dfa import (
    DEFAULT_MAX_NFA_STATES,
    DEFAULT_MAX_STATES,
    DEFAULT_MAX_WORK,
    regex_to_dfa,
)
from structgen.runtime import cache as disk_cache
from structgen.runtime.compiled import CompiledGrammar
from structgen.schema.options import SchemaOptions
from structgen.schema.to_grammar import schema_to_grammar_with

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

__all__ = ["compile_grammar", "compile_json_schema", "compile_regex"]


def compile_regex(
    pattern: str,
    vocab: Vocabulary,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    max_nfa_states: int = DEFAULT_MAX_NFA_STATES,
    max_regex_work: int = DEFAULT_MAX_WORK,
    eager_mask_bytes: int = DEFAULT_EAGER_MASK_BYTES,
    cache: bool = True,
    cache_dir: str | Path | None = None,
) -> CompiledGrammar:
    """Compile a regular expression (Python syntax, full match) against ``vocab``.

    Limits (each raises :class:`~structgen.errors.LimitExceededError` naming itself):
    ``max_states`` (states of a DFA), ``max_nfa_states`` (states of an NFA) and
    ``max_regex_work`` (determinisation work: subset elements and moves explored, summed over
    the compilation — bounds time and memory where the DFA stays small). ``cache`` reads and
    writes the on-disk cache.
    """
    _check_vocabulary(vocab)
    if max_states < 1:
        raise ConfigurationError(f"max_states must be positive, got {max_states}")
    started = time.perf_counter()
    directory = Path(cache_dir) / "compiled" if cache_dir is not None else None
    key = disk_cache.cache_key("regex", pattern, {"max_states": max_states}, vocab.fingerprint)
    arrays = disk_cache.load_arrays(key, directory) if cache else None
    automaton = _from_cache(arrays, vocab) if arrays is not None else None
    if automaton is None:
        arrays = None
        dfa = regex_to_dfa(
            pattern, max_states=max_states, max_nfa_states=max_nfa_states, max_work=max_regex_work
        )
        automaton = TokenDFA(dfa, vocab, eager_mask_bytes=eager_mask_bytes)
        if cache and (automaton.state_mask >= 0).all():
            disk_cache.save_arrays(key, token_dfa_arrays(automaton), directory)
    return CompiledGrammar(
        automaton=automaton,
        source=f"regex {pattern!r}",
        compile_seconds=time.perf_counter() - started,
        from_cache=arrays is not None,
    )


def compile_grammar(
    source: str | Path | Grammar,
    vocab: Vocabulary,
    *,
    syntax: Literal["lark", "gbnf"] | None = None,
    start: str | None = None,
    max_ignore_bytes: int = 64,
    max_ignore_run: int = 1,
    max_lexer_states: int = 200_000,
    max_items: int = 200_000,
    max_mask_sets: int = 50_000,
    max_walk_events: int = 1 << 24,
    max_cached_items: int = 2_000_000,
    precompute: bool = True,
) -> CompiledGrammar:
    """Compile a context-free grammar against ``vocab``.

    ``source`` is Lark or GBNF text, a path to a ``.lark``/``.gbnf`` file, the name of a bundled
    grammar (``json``, ``arithmetic``, …) or a :class:`~structgen.ir.Grammar`; ``start``
    defaults to ``start`` (Lark) or ``root`` (GBNF). Ignored
    terminals (``%ignore``) may appear ``max_ignore_run`` times in a row between two terminals,
    each at most ``max_ignore_bytes`` long, so a model cannot loop on whitespace forever.
    ``precompute`` does the context-independent mask work now rather than on first use.

    Limits (each raises :class:`~structgen.errors.LimitExceededError` naming itself):
    ``max_lexer_states`` (product lexer), ``max_items`` (Earley items in one parser state),
    ``max_mask_sets`` (parser states built, and (parser state, trie walk) pairs visited, for one
    token mask — bounds the work of very ambiguous grammars), ``max_walk_events`` (distinct
    (trie node, lexer state) pairs where a lexeme may end inside a token, in one trie walk).
    ``max_cached_items`` bounds memory instead (Earley items kept in memo tables, ~100 bytes
    each): past it, the tables are dropped and rebuilt on demand.
    """
    _check_vocabulary(vocab)
    started = time.perf_counter()
    if isinstance(source, Grammar):
        grammar = source
    else:
        from structgen.grammar.loading import load_grammar

        grammar = load_grammar(source, syntax=syntax, start=start)
    engine = _grammar_engine(
        grammar,
        vocab,
        max_ignore_bytes=max_ignore_bytes,
        max_ignore_run=max_ignore_run,
        max_lexer_states=max_lexer_states,
        max_items=max_items,
        max_mask_sets=max_mask_sets,
        max_walk_events=max_walk_events,
        max_cached_items=max_cached_items,
        precompute=precompute,
    )
    return CompiledGrammar(
        automaton=engine,
        source=f"grammar {grammar.source_name}",
        compile_seconds=time.perf_counter() - started,
    )


def _grammar_engine(
    grammar: Grammar, vocab: Vocabulary, *, precompute: bool, **limits: int
) -> GrammarEngine:
    """The grammar engine with its ahead-of-time work and its first mask done."""
    engine = GrammarEngine(grammar, vocab, **limits)
    if precompute:
        engine.precompute()
    engine.mask(engine.initial)  # the first mask is part of compiling
    return engine


def _from_cache(arrays: dict, vocab: Vocabulary) -> TokenDFA | None:
    """The automaton stored in a cache entry, or None when the entry is not usable (a miss)."""
    try:
        return token_dfa_from_arrays(arrays, vocab)
    except InvalidEntry:
        return None


def _check_vocabulary(vocab: object) -> None:
    from structgen.vocab import Vocabulary

    if not isinstance(vocab, Vocabulary):
        raise ConfigurationError(
            f"expected a structgen.Vocabulary, got {type(vocab).__name__}; "
            "build one with Vocabulary.from_tokenizer(tokenizer) or Vocabulary.from_gguf(path)"
        )


def compile_json_schema(
    schema: Any,
    vocab: Vocabulary,
    *,
    options: SchemaOptions | None = None,
    max_lexer_states: int = 200_000,
    max_items: int = 200_000,
    **overrides: Any,
) -> CompiledGrammar:
    """Compile a JSON Schema against ``vocab``.

    Options: see :func:`~structgen.schema.schema_to_grammar`."""
    started = time.perf_counter()
    grammar = schema_to_grammar_with(schema, options, overrides, stacklevel=4)
    _check_vocabulary(vocab)
    engine = _grammar_engine(
        grammar, vocab, max_lexer_states=max_lexer_states, max_items=max_items, precompute=True
    )
    return CompiledGrammar(
        automaton=engine, source="json schema", compile_seconds=time.perf_counter() - started
    )
