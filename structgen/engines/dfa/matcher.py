"""The matcher of regex constraints: a walk over a :class:`TokenDFA`, with persistent history."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from structgen.matcher import TERMINATED, History, Matcher, as_token_id, bitmask_row_view
from structgen.regex.dfa import DEAD


class TokenAutomaton(Protocol):
    """What the matcher uses of a :class:`~structgen.engines.dfa.token_dfa.TokenDFA` (which
    makes the matchers, so this module does not import it)."""

    vocab: Any  # a Vocabulary
    dfa: Any  # a ByteDFA
    masks: Any  # a MaskStore
    trie: Any  # a TokenTrie
    num_words: int
    eos_ids: tuple[int, ...]

    def mask_index(self, state: int) -> int: ...
    def eos_mask(self) -> np.ndarray: ...
    def next_state(self, state: int, token: int) -> int: ...
    def forced_bytes_from(self, state: int, limit: int = 4096) -> bytes: ...


class DFAMatcher(Matcher):
    """Matcher over a :class:`~structgen.engines.dfa.token_dfa.TokenDFA` (regex constraints)."""

    __slots__ = ("_automaton", "_eos", "_history", "vocab_size")

    def __init__(self, automaton: TokenAutomaton, history: History[int] | None = None) -> None:
        self._automaton = automaton
        self.vocab_size = automaton.vocab.size
        self._eos = frozenset(automaton.eos_ids)
        self._history: History[int] = History(0) if history is None else history

    @property
    def num_steps(self) -> int:
        return self._history.num_steps

    def fill_next_token_bitmask(self, bitmask: Any, row: int = 0) -> bool:
        automaton = self._automaton
        words = bitmask_row_view(bitmask, automaton.num_words, row)
        state = self._history.state
        if state == TERMINATED:
            words[:] = automaton.eos_mask()
            return True
        index = automaton.mask_index(state)
        automaton.masks.write(index, words)
        return not automaton.masks.is_full(index)

    def _next(self, token_id: int) -> int:
        token_id = as_token_id(token_id)
        state = self._history.state
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
        self._history.push(following)
        return True

    def rollback(self, n: int = 1) -> None:
        self._history.rollback(n)

    def fork(self) -> DFAMatcher:
        return DFAMatcher(self._automaton, self._history.fork())

    def forced_tokens(self) -> list[int]:
        state = self._history.state
        if state == TERMINATED:
            return []
        forced = self._automaton.forced_bytes_from(state)
        if not forced:
            return []
        return self._automaton.trie.greedy_tokenize(forced)

    def is_accepting(self) -> bool:
        state = self._history.state
        return state == TERMINATED or bool(self._automaton.dfa.accepting[state])

    def is_terminated(self) -> bool:
        return self._history.state == TERMINATED

    def reset(self) -> None:
        self._history.reset()

    def state_id(self) -> int:
        """The current automaton state (``-2`` once terminated): for tests and debugging."""
        return self._history.state
