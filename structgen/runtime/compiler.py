"""Compile constraints (regex, grammar, JSON Schema) against a vocabulary: the front door."""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from structgen.engines.cfg.engine import GrammarEngine
from structgen.engines.dfa.token_dfa import DEFAULT_EAGER_MASK_BYTES, TokenDFA
from structgen.errors import ConfigurationError, SerializationError
from structgen.ir import Grammar
from structgen.regex.dfa import (
    DEFAULT_MAX_NFA_STATES,
    DEFAULT_MAX_STATES,
    DEFAULT_MAX_WORK,
    regex_to_dfa,
)
from structgen.runtime import cache as disk_cache
from structgen.runtime.collector import with_collector_paused
from structgen.runtime.compiled import CompiledGrammar
from structgen.schema.errors import SchemaWarning
from structgen.schema.loading import load_schema
from structgen.schema.options import SchemaOptions
from structgen.vocab.special import is_unbound_reference

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

__all__ = ["compile_grammar", "compile_json_schema", "compile_regex"]


@with_collector_paused
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
    source = f"regex {pattern!r}"
    options = {
        "max_states": max_states,
        "max_nfa_states": max_nfa_states,
        "max_regex_work": max_regex_work,
    }
    lookup = _Lookup.open("regex", pattern, options, vocab, cache, cache_dir)
    hit = lookup.get(source, started)
    if hit is not None:
        return hit
    dfa = regex_to_dfa(
        pattern, max_states=max_states, max_nfa_states=max_nfa_states, max_work=max_regex_work
    )
    automaton = TokenDFA(dfa, vocab, eager_mask_bytes=eager_mask_bytes)
    compiled = CompiledGrammar(
        automaton=automaton, source=source, compile_seconds=time.perf_counter() - started
    )
    if (automaton.state_mask >= 0).all():  # too large to mask ahead of time: not stored
        lookup.put(compiled)
    return compiled


@with_collector_paused
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
    single_spaces: bool = False,
    precompute: bool = True,
    cache: bool = True,
    cache_dir: str | Path | None = None,
) -> CompiledGrammar:
    """Compile a context-free grammar against ``vocab``.

    ``source`` is Lark or GBNF text, a path to a ``.lark``/``.gbnf`` file, the name of a bundled
    grammar (``json``, ``arithmetic``, …) or a :class:`~structgen.ir.Grammar`; ``start``
    defaults to ``start`` (Lark) or ``root`` (GBNF). Ignored
    terminals (``%ignore``) may appear ``max_ignore_run`` times in a row between two terminals,
    each at most ``max_ignore_bytes`` long, so a model cannot loop on whitespace forever.
    ``precompute`` does the context-independent mask work now rather than on first use.
    ``single_spaces`` (generation's compact whitespace): where the ignored text is one space,
    none stands beside a terminal whose strings all start or all end with a space (no
    ``"a  and b"``; see :class:`~structgen.engines.cfg.engine.GrammarEngine`).

    Limits (each raises :class:`~structgen.errors.LimitExceededError` naming itself):
    ``max_lexer_states`` (product lexer), ``max_items`` (Earley items in one parser state),
    ``max_mask_sets`` (parser states built, and (parser state, trie walk) pairs visited, for one
    token mask — bounds the work of very ambiguous grammars), ``max_walk_events`` (distinct
    (trie node, lexer state) pairs where a lexeme may end inside a token, in one trie walk).
    ``max_cached_items`` bounds memory instead (Earley items kept in memo tables, ~100 bytes
    each): past it, the tables are dropped and rebuilt on demand. ``cache`` reads and writes
    the on-disk cache (keyed by the loaded grammar's fingerprint and these options).
    """
    _check_vocabulary(vocab)
    started = time.perf_counter()
    if isinstance(source, Grammar):
        grammar = source
    else:
        from structgen.grammar.loading import load_grammar

        grammar = load_grammar(source, syntax=syntax, start=start)
    if any(map(is_unbound_reference, grammar.terminals.values())):  # <[id]>, <|name|>
        from structgen.grammar.special_tokens import resolve_special_tokens

        grammar = resolve_special_tokens(grammar, vocab)
    limits = {
        "max_ignore_bytes": max_ignore_bytes,
        "max_ignore_run": max_ignore_run,
        "max_lexer_states": max_lexer_states,
        "max_items": max_items,
        "max_mask_sets": max_mask_sets,
        "max_walk_events": max_walk_events,
        "max_cached_items": max_cached_items,
        "single_spaces": single_spaces,
    }
    label = f"grammar {grammar.source_name}"
    options = {**limits, "precompute": precompute}
    lookup = _Lookup.open("grammar", grammar.fingerprint(), options, vocab, cache, cache_dir)
    hit = lookup.get(label, started)
    if hit is not None:
        return hit
    engine = _grammar_engine(grammar, vocab, precompute=precompute, **limits)
    compiled = CompiledGrammar(
        automaton=engine,
        source=label,
        compile_seconds=time.perf_counter() - started,
        warnings=grammar.warnings,
    )
    lookup.put(compiled)
    return compiled


def _grammar_engine(
    grammar: Grammar, vocab: Vocabulary, *, precompute: bool, **limits: Any
) -> GrammarEngine:
    """The grammar engine with its first mask done: everything else ahead of time
    (``precompute``), or lazily — terminals, lexer rows and trie walks on first use."""
    engine = GrammarEngine(grammar, vocab, lazy=not precompute, **limits)
    if precompute:
        engine.precompute()
    engine.mask(engine.initial)  # the first mask is part of compiling
    return engine


class _Lookup:
    """One constraint's place in the disk cache (or none, when caching is off)."""

    def __init__(self, key: str | None, vocab: Vocabulary, directory: Path) -> None:
        self.key = key
        self.vocab = vocab
        self.directory = directory

    @classmethod
    def open(
        cls,
        kind: str,
        text: str | None,
        options: dict[str, Any],
        vocab: Vocabulary,
        cache: bool,
        cache_dir: str | Path | None,
    ) -> _Lookup:
        """``text`` is the constraint's canonical text (None: it has none, do not cache)."""
        key = None
        if cache and text is not None:
            key = disk_cache.cache_key(kind, text, options, vocab.fingerprint)
        return cls(key, vocab, disk_cache.cache_directory(cache_dir))

    def get(self, source: str, started: float) -> CompiledGrammar | None:
        """The cached constraint, or None (a miss: absent, damaged or unloadable)."""
        if self.key is None:
            return None
        blob = disk_cache.read_entry(self.key, self.directory)
        if blob is None:
            return None
        try:
            compiled = CompiledGrammar.from_bytes(blob, self.vocab)
        except SerializationError:
            return None  # rewritten after the compile
        return replace(
            compiled,
            source=source,
            compile_seconds=time.perf_counter() - started,
            from_cache=True,
        )

    def put(self, compiled: CompiledGrammar, *, later: bool = False) -> None:
        """Store ``compiled``; ``later``: encoded and written by a background thread (its
        state is taken now), off the path to the first mask."""
        if self.key is None:
            return
        try:
            snapshot = compiled.snapshot()
        except SerializationError:
            return  # an automaton that has no byte form is simply not cached
        if later:
            disk_cache.write_entry_later(self.key, snapshot.to_bytes, self.directory)
        else:
            try:
                blob = snapshot.to_bytes()
            except SerializationError:
                return
            disk_cache.write_entry(self.key, blob, self.directory)


def _check_vocabulary(vocab: object) -> None:
    from structgen.vocab import Vocabulary

    if not isinstance(vocab, Vocabulary):
        raise ConfigurationError(
            f"expected a structgen.Vocabulary, got {type(vocab).__name__}; "
            "build one with Vocabulary.from_tokenizer(tokenizer) or Vocabulary.from_gguf(path)"
        )


@with_collector_paused
def compile_json_schema(
    schema: Any,
    vocab: Vocabulary,
    *,
    options: SchemaOptions | None = None,
    max_lexer_states: int = 200_000,
    max_items: int = 200_000,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    **overrides: Any,
) -> CompiledGrammar:
    """Compile a JSON Schema against ``vocab``; its masks are built as decoding needs them.

    Options: see :func:`~structgen.schema.schema_to_grammar`. ``cache`` reads and writes the
    on-disk cache (keyed by the schema's canonical JSON and every option)."""
    started = time.perf_counter()
    resolved = SchemaOptions.build(options, **overrides)
    value = load_schema(schema)
    _check_vocabulary(vocab)
    limits = {"max_lexer_states": max_lexer_states, "max_items": max_items}
    text = _canonical_json(value) if cache else None  # no key is needed without the cache
    lookup = _Lookup.open("schema", text, {**asdict(resolved), **limits}, vocab, cache, cache_dir)
    hit = lookup.get("json schema", started)
    if hit is not None:
        _warn_again(hit.warnings)
        return hit
    # lazily loaded subsystem on the hot start path: a cache hit never imports the schema compiler
    from structgen.schema.to_grammar import schema_to_grammar_with

    grammar = schema_to_grammar_with(value, resolved, {}, stacklevel=4)
    engine = _grammar_engine(grammar, vocab, precompute=False, **limits)
    compiled = CompiledGrammar(
        automaton=engine,
        source="json schema",
        compile_seconds=time.perf_counter() - started,
        warnings=grammar.warnings,
    )
    lookup.put(compiled, later=True)
    return compiled


def _canonical_json(value: Any) -> str | None:
    """The schema as canonical JSON (sorted keys, no spaces); None when it is not plain JSON."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None


def _warn_again(messages: tuple[str, ...]) -> None:
    """A cache hit warns as the compile did (same category, same caller)."""
    for message in messages:
        warnings.warn(message, SchemaWarning, stacklevel=4)
