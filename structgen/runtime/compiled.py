"""``CompiledGrammar``: an immutable constraint bound to a vocabulary; makes matchers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from structgen.engines.dfa.matcher import DFAMatcher
from structgen.matcher import Matcher
from structgen.engines.dfa.token_dfa import TokenDFA

if TYPE_CHECKING:
    from structgen.engines.cfg.engine import GrammarEngine
    from structgen.vocab import Vocabulary


class CompiledGrammar:
    """A constraint compiled against one vocabulary. Share it; make one matcher per sequence."""

    def __init__(
        self, automaton: TokenDFA | GrammarEngine, *, source: str, compile_seconds: float, from_cache: bool
    ) -> None:
        self._automaton = automaton
        self.source = source
        self.compile_seconds = compile_seconds
        self.from_cache = from_cache

    @property
    def vocab(self) -> Vocabulary:
        return self._automaton.vocab

    @property
    def vocab_size(self) -> int:
        """The width of the bitmask in tokens (the model's vocabulary size)."""
        return self._automaton.vocab.size

    @property
    def kind(self) -> str:
        return "regex" if isinstance(self._automaton, TokenDFA) else "grammar"

    @property
    def num_states(self) -> int:
        """DFA states (regex) or product-lexer states discovered so far (grammar)."""
        if isinstance(self._automaton, TokenDFA):
            return self._automaton.dfa.num_states
        return self._automaton.lexer.num_states

    @property
    def automaton(self) -> TokenDFA | GrammarEngine:
        return self._automaton

    def matcher(self) -> Matcher:
        if isinstance(self._automaton, TokenDFA):
            return DFAMatcher(self._automaton)
        from structgen.engines.cfg.matcher import GrammarMatcher

        return GrammarMatcher(self._automaton)

    def stats(self) -> dict[str, Any]:
        """States, distinct masks, allowed-token counts per state and memory in bytes."""
        if not isinstance(self._automaton, TokenDFA):
            return self._grammar_stats()
        automaton = self._automaton
        counts = np.array(
            [_popcount(automaton.mask(state)) for state in range(min(self.num_states, 4096))]
        )
        return {
            "states": self.num_states,
            "distinct_masks": len(automaton.masks),
            "allowed_tokens_min": int(counts.min()),
            "allowed_tokens_median": float(np.median(counts)),
            "allowed_tokens_max": int(counts.max()),
            "vocab_size": self.vocab_size,
            "memory_bytes": automaton.memory_bytes(),
            "compile_seconds": self.compile_seconds,
            "from_cache": self.from_cache,
        }

    def _grammar_stats(self) -> dict[str, Any]:
        engine = self._automaton
        words, _ = engine.mask(engine.initial)
        return {
            "rules": len(engine.earley.rules) - 1,
            "terminals": len(engine.terminal_names),
            "lexer_states": engine.lexer.num_states,
            "allowed_tokens_at_start": _popcount(words),
            "vocab_size": self.vocab_size,
            "memory_bytes": engine.memory_bytes(),
            "compile_seconds": self.compile_seconds,
            "from_cache": self.from_cache,
        }

    def __repr__(self) -> str:
        return (
            f"CompiledGrammar({self.source}, states={self.num_states}, "
            f"vocab={self.vocab.name!r}, vocab_size={self.vocab_size})"
        )


def _popcount(words: np.ndarray) -> int:
    return int(np.unpackbits(words.view(np.uint8)).sum())
