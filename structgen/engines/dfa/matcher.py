"""The matcher of regex constraints: a walk over a :class:`TokenDFA`, history as a persistent list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from structgen.errors import ConfigurationError
from structgen.matcher import TERMINATED, Matcher, as_numpy_bitmask
from structgen.regex.dfa import DEAD

if TYPE_CHECKING:
    from structgen.engines.dfa.token_dfa import TokenDFA


class DFAMatcher(Matcher):
    """Matcher over a :class:`~structgen.engines.dfa.token_dfa.TokenDFA` (regex constraints)."""

    __slots__ = ("_automaton", "_history", "_steps", "vocab_size", "_eos")

    def __init__(self, automaton: TokenDFA) -> None:
        self._automaton = automaton
        self.vocab_size = automaton.vocab.size
        self._eos = frozenset(automaton.eos_ids)
        self._history: tuple[int, Any] = (0, None)
        self._steps = 0

    @property
    def _state(self) -> int:
        return self._history[0]

    @property
    def num_steps(self) -> int:
        return self._steps

    def fill_next_token_bitmask(self, bitmask: Any, row: int = 0) -> bool:
        automaton = self._automaton
        words = as_numpy_bitmask(bitmask, automaton.num_words)
        state = self._state
        if state == TERMINATED:
            words[row] = automaton.eos_mask()
            return True
        index = automaton.mask_index(state)
        automaton.masks.write(index, words[row])
        return not automaton.masks.is_full(index)

    def _next(self, token_id: int) -> int:
        state = self._state
        if token_id in self._eos:
            if state == TERMINATED or self._automaton.dfa.accepting[state]:
                return TERMINATED
            return DEAD
        if state == TERMINATED:
            return DEAD
        return self._automaton.next_state(state, token_id)

    def accepts(self, token_id: int) -> bool:
        return self._next(token_id) != DEAD

    def advance(self, token_id: int) -> bool:
        following = self._next(token_id)
        if following == DEAD:
            return False
        self._history = (following, self._history)
        self._steps += 1
        return True

    def rollback(self, n: int = 1) -> None:
        if n < 0 or n > self._steps:
            raise ConfigurationError(f"cannot roll back {n} steps: the matcher has {self._steps}")
        history = self._history
        for _ in range(n):
            history = history[1]
        self._history = history
        self._steps -= n

    def fork(self) -> DFAMatcher:
        twin = DFAMatcher.__new__(DFAMatcher)
        twin._automaton = self._automaton
        twin.vocab_size = self.vocab_size
        twin._eos = self._eos
        twin._history = self._history
        twin._steps = self._steps
        return twin

    def forced_tokens(self) -> list[int]:
        state = self._state
        if state == TERMINATED:
            return []
        forced = self._automaton.forced_bytes_from(state)
        if not forced:
            return []
        return self._automaton.trie.greedy_tokenize(forced)

    def is_accepting(self) -> bool:
        state = self._state
        return state == TERMINATED or bool(self._automaton.dfa.accepting[state])

    def is_terminated(self) -> bool:
        return self._state == TERMINATED

    def reset(self) -> None:
        self._history = (0, None)
        self._steps = 0

    def state_id(self) -> int:
        """The current automaton state (``-2`` once terminated): for tests and debugging."""
        return self._state
