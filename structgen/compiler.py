"""Compile constraints against a vocabulary: the front door of the automata layer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from structgen.automata import cache as disk_cache
from structgen.automata.compiled import CompiledGrammar
from structgen.automata.token_dfa import DEFAULT_EAGER_MASK_BYTES, TokenDFA
from structgen.errors import ConfigurationError
from structgen.regex.dfa import DEFAULT_MAX_STATES, ByteDFA, regex_to_dfa

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

__all__ = ["compile_regex"]


def compile_regex(
    pattern: str,
    vocab: Vocabulary,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    eager_mask_bytes: int = DEFAULT_EAGER_MASK_BYTES,
    cache: bool = True,
    cache_dir: str | Path | None = None,
) -> CompiledGrammar:
    """Compile a regular expression (Python syntax, full match) against ``vocab``.

    ``max_states`` bounds the DFA (a pattern past it raises
    :class:`~structgen.errors.LimitExceededError`); ``cache`` reads and writes the on-disk cache.
    """
    from structgen.vocab import Vocabulary

    if not isinstance(vocab, Vocabulary):
        raise ConfigurationError(
            f"expected a structgen.Vocabulary, got {type(vocab).__name__}; "
            "build one with Vocabulary.from_tokenizer(tokenizer) or Vocabulary.from_gguf(path)"
        )
    if max_states < 1:
        raise ConfigurationError(f"max_states must be positive, got {max_states}")
    started = time.perf_counter()
    directory = Path(cache_dir) / "compiled" if cache_dir is not None else None
    key = disk_cache.cache_key("regex", pattern, {"max_states": max_states}, vocab.fingerprint)
    arrays = disk_cache.load_arrays(key, directory) if cache else None
    if arrays is not None:
        dfa = ByteDFA(transitions=arrays["transitions"], accepting=arrays["accepting"])
        automaton = TokenDFA(dfa, vocab, masks=(arrays["mask_table"], arrays["state_mask"]))
    else:
        dfa = regex_to_dfa(pattern, max_states=max_states)
        automaton = TokenDFA(dfa, vocab, eager_mask_bytes=eager_mask_bytes)
        if cache and (automaton.state_mask >= 0).all():
            disk_cache.save_arrays(
                key,
                {
                    "transitions": dfa.transitions,
                    "accepting": dfa.accepting,
                    "mask_table": automaton.mask_table,
                    "state_mask": automaton.state_mask,
                },
                directory,
            )
    return CompiledGrammar(
        automaton,
        source=f"regex {pattern!r}",
        compile_seconds=time.perf_counter() - started,
        from_cache=arrays is not None,
    )
