"""``CompiledGrammar``: an immutable constraint bound to a vocabulary; makes matchers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from structgen.automata.matcher import DFAMatcher, Matcher

if TYPE_CHECKING:
    from structgen.automata.token_dfa import TokenDFA
    from structgen.vocab import Vocabulary


class CompiledGrammar:
    """A constraint compiled against one vocabulary. Share it; make one matcher per sequence."""

    def __init__(self, automaton: TokenDFA, *, source: str, compile_seconds: float, from_cache: bool) -> None:
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
    def num_states(self) -> int:
        return self._automaton.dfa.num_states

    @property
    def automaton(self) -> TokenDFA:
        return self._automaton

    def matcher(self) -> Matcher:
        return DFAMatcher(self._automaton)

    def stats(self) -> dict[str, Any]:
        """States, distinct masks, allowed-token counts per state and memory in bytes."""
        automaton = self._automaton
        counts = np.array(
            [_popcount(automaton.mask(state)) for state in range(min(self.num_states, 4096))]
        )
        return {
            "states": self.num_states,
            "distinct_masks": int(automaton.mask_table.shape[0]),
            "allowed_tokens_min": int(counts.min()),
            "allowed_tokens_median": float(np.median(counts)),
            "allowed_tokens_max": int(counts.max()),
            "vocab_size": self.vocab_size,
            "memory_bytes": automaton.memory_bytes(),
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
