"""A byte DFA bound to a vocabulary: per-state token masks, computed ahead of time.

For every DFA state the mask holds the tokens whose bytes keep the DFA alive (every live state
can still reach acceptance, so such a token never leads to a dead end) plus the end-of-sequence
ids when the state accepts. Identical rows are stored once. When the table would exceed
``eager_mask_bytes`` the masks are computed on first visit and memoised instead.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from structgen.bitmask import bitmask_row, bitmask_words
from structgen.engines.dfa.cache_entry import dfa_arrays, dfa_from_arrays
from structgen.engines.dfa.mask_store import MaskStore
from structgen.engines.dfa.matcher import DFAMatcher
from structgen.errors import SerializationError
from structgen.kernels.trie_walk import numba_walk_ready, walk_trie_events
from structgen.regex.dfa import DEAD, ByteDFA
from structgen.vocab.trie import TokenTrie, build_trie

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

DEFAULT_EAGER_MASK_BYTES = 256 * 1024 * 1024
NOT_COMPUTED = -1
PARALLEL_WORK = 200_000_000  # states × trie nodes above which the mask kernel runs in parallel


class TokenDFA:
    """Token masks and token transitions of a byte DFA over one vocabulary (an
    :class:`~structgen.automaton.Automaton` of kind ``"regex"``)."""

    kind: Literal["regex"] = "regex"

    def __init__(
        self,
        dfa: ByteDFA,
        vocab: Vocabulary,
        *,
        eager_mask_bytes: int = DEFAULT_EAGER_MASK_BYTES,
        masks: tuple[MaskStore, np.ndarray] | None = None,
    ) -> None:
        self.dfa = dfa
        self.vocab = vocab
        self.trie: TokenTrie = build_trie(vocab)
        self.num_words = bitmask_words(vocab.size)
        self.eos_ids = tuple(i for i in vocab.eos_ids if i < vocab.size)
        self._eos_words = bitmask_row(self.eos_ids, vocab.size)
        self._lock = threading.Lock()
        if masks is not None:
            self.masks, self.state_mask = masks
        else:
            self.masks = MaskStore(self.num_words)
            self.state_mask = np.full(dfa.num_states, NOT_COMPUTED, dtype=np.int32)
            if dfa.num_states * self.num_words * 4 <= eager_mask_bytes:
                self._compute_all()
        self.forced_byte = self._forced_bytes()

    # -- the Automaton protocol --------------------------------------------------------------
    @property
    def num_states(self) -> int:
        return self.dfa.num_states

    def matcher(self) -> DFAMatcher:
        return DFAMatcher(self)

    def stats(self) -> dict[str, Any]:
        """States, distinct masks, allowed-token counts per state (the first 4096), memory."""
        counts = np.array(
            [_popcount(self.mask(state)) for state in range(min(self.num_states, 4096))]
        )
        return {
            "states": self.num_states,
            "distinct_masks": len(self.masks),
            "allowed_tokens_min": int(counts.min()),
            "allowed_tokens_median": float(np.median(counts)),
            "allowed_tokens_max": int(counts.max()),
            "vocab_size": self.vocab.size,
            "memory_bytes": self.memory_bytes(),
        }

    # -- the serialised form (see structgen.runtime.serialize) ------------------------------
    def to_payload(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``(meta, arrays)``: the byte DFA and every mask computed so far."""
        with self._lock:
            arrays = dfa_arrays(self.dfa, self.masks, self.state_mask)
        return {"states": self.num_states}, arrays

    @classmethod
    def from_payload(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], vocab: Vocabulary
    ) -> TokenDFA:
        """The automaton :meth:`to_payload` described, bound to ``vocab``; checked
        (:class:`~structgen.errors.SerializationError` says what is wrong)."""
        dfa, store, state_mask = dfa_from_arrays(arrays, vocab)
        if meta.get("states") != dfa.num_states:
            raise SerializationError("the payload's state count does not match its arrays")
        return cls(dfa, vocab, masks=(store, state_mask))

    # -- mask construction -------------------------------------------------------------------
    def _raw_masks(self, states: np.ndarray) -> np.ndarray:
        trie = self.trie
        if not numba_walk_ready() and "structgen.kernels.numba_cpu" not in sys.modules:
            masks = self._walked_masks(states)  # numpy until numba is worth loading
            masks[self.dfa.accepting[states]] |= self._eos_words
            return masks
        from structgen.kernels.numba_cpu import token_masks, token_masks_parallel

        # Threads pay off only when there is much to walk (see the kernels' docstrings).
        kernel = (
            token_masks_parallel if len(states) * trie.num_nodes > PARALLEL_WORK else token_masks
        )
        masks, _ = kernel(
            self.dfa.transitions,
            states.astype(np.int32),
            trie.node_byte,
            trie.node_depth,
            trie.subtree_end,
            trie.token_ptr,
            trie.token_ids,
            self.num_words,
        )
        accepting = self.dfa.accepting[states]
        masks[accepting] |= self._eos_words
        return masks

    def _walked_masks(self, states: np.ndarray) -> np.ndarray:
        """The masks of ``states`` by :mod:`structgen.kernels.trie_walk`: a walk from the root
        with no accepting states records no events and sets the bits ``token_masks`` sets."""
        trie = self.trie
        masks = np.zeros((len(states), self.num_words), dtype=np.int32)
        quiet = np.zeros(self.dfa.num_states, dtype=np.bool_)
        root = np.zeros(1, dtype=np.int32)
        no_events = np.zeros(1, dtype=np.int32)
        for row, state in enumerate(states.tolist()):
            walk_trie_events(
                self.dfa.transitions, quiet, state, root, trie.node_byte, trie.node_depth,
                trie.subtree_end, trie.token_ptr, trie.token_ids, masks[row], no_events,
                no_events.copy(),
            )  # fmt: skip
        return masks

    def _compute_all(self) -> None:
        rows = self._raw_masks(np.arange(self.dfa.num_states))
        for state, row in enumerate(rows):
            self.state_mask[state] = self.masks.add(row)

    def _forced_bytes(self) -> np.ndarray:
        """Per state: the only byte that keeps the DFA alive, or -1 (none, several, accepting)."""
        live = self.dfa.transitions >= 0
        single = live.sum(axis=1) == 1
        forced = np.where(single & ~self.dfa.accepting, live.argmax(axis=1), -1)
        return forced.astype(np.int32)

    # -- queries (the matcher's hot path) -----------------------------------------------------
    def mask_index(self, state: int) -> int:
        index = int(self.state_mask[state])
        if index == NOT_COMPUTED:
            index = self._memoise(state)
        return index

    def mask(self, state: int) -> np.ndarray:
        """The dense mask row of ``state`` (a copy)."""
        return self.masks.row(self.mask_index(state))

    def mask_is_full(self, state: int) -> bool:
        return self.masks.is_full(self.mask_index(state))

    def _memoise(self, state: int) -> int:
        row = self._raw_masks(np.array([state]))[0]
        with self._lock:
            index = int(self.state_mask[state])
            if index == NOT_COMPUTED:
                index = self.state_mask[state] = self.masks.add(row)
        return int(index)

    def next_state(self, state: int, token: int) -> int:
        """The DFA state after ``token`` (``DEAD`` if not allowed; EOS is not a byte token)."""
        if token < 0 or token >= len(self.trie.token_bytes):
            return DEAD
        data = self.trie.token_bytes[token]
        if not data:
            return DEAD
        return self.dfa.walk(state, data)

    def eos_mask(self) -> np.ndarray:
        return self._eos_words

    def memory_bytes(self) -> int:
        return int(
            self.masks.nbytes
            + self.state_mask.nbytes
            + self.dfa.transitions.nbytes
            + self.dfa.accepting.nbytes
        )

    def forced_bytes_from(self, state: int, limit: int = 4096) -> bytes:
        """The bytes the DFA alone decides from ``state`` (empty when there is a choice)."""
        out = bytearray()
        forced = self.forced_byte
        transitions = self.dfa.transitions
        while len(out) < limit:
            byte = int(forced[state])
            if byte < 0:
                break
            out.append(byte)
            state = int(transitions[state, byte])
        return bytes(out)


def _popcount(words: np.ndarray) -> int:
    return int(np.unpackbits(words.view(np.uint8)).sum())
