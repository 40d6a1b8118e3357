"""A :class:`TokenDFA` as flat arrays for the disk cache, and back — checked, never trusted.

The arrays are the byte DFA (``transitions``, ``accepting``), the distinct mask rows
(``mask_rows``) and each state's row (``state_mask``). Reading them back checks every dtype,
shape and range, and that each state's mask allows end-of-sequence exactly when the state
accepts (an entry edited to accept everywhere fails here even with a recomputed digest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from structgen.bitmask import bitmask_words
from structgen.engines.dfa.mask_store import MaskStore
from structgen.engines.dfa.token_dfa import TokenDFA
from structgen.regex.dfa import DEAD, ByteDFA

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

__all__ = ["InvalidEntry", "token_dfa_arrays", "token_dfa_from_arrays"]

NAMES = frozenset({"transitions", "accepting", "state_mask", "mask_rows"})


class InvalidEntry(ValueError):
    """Cache arrays that do not describe a token DFA for this vocabulary."""


def token_dfa_arrays(automaton: TokenDFA) -> dict[str, np.ndarray]:
    """The arrays :func:`token_dfa_from_arrays` reads back (every mask must be computed)."""
    if (automaton.state_mask < 0).any():
        raise ValueError("every state's mask must be computed before the automaton is stored")
    return {
        "transitions": automaton.dfa.transitions,
        "accepting": automaton.dfa.accepting,
        "state_mask": automaton.state_mask,
        **automaton.masks.to_arrays(),
    }


def token_dfa_from_arrays(arrays: dict[str, np.ndarray], vocab: Vocabulary) -> TokenDFA:
    """The token DFA the arrays describe; :class:`InvalidEntry` says what is wrong otherwise."""
    if set(arrays) != NAMES:
        raise InvalidEntry(f"expected the arrays {sorted(NAMES)}, got {sorted(arrays)}")
    transitions, accepting = arrays["transitions"], arrays["accepting"]
    state_mask, rows = arrays["state_mask"], arrays["mask_rows"]
    num_words = bitmask_words(vocab.size)
    _expect(transitions, np.int32, 2, "transitions")
    states = transitions.shape[0]
    if states < 1 or transitions.shape[1] != 256:
        raise InvalidEntry(f"transitions must be [states ≥ 1, 256], got {transitions.shape}")
    if not ((transitions == DEAD) | ((transitions >= 0) & (transitions < states))).all():
        raise InvalidEntry("transitions point outside the states")
    _expect(accepting, np.bool_, 1, "accepting")
    _expect(state_mask, np.int32, 1, "state_mask")
    _expect(rows, np.int32, 2, "mask_rows")
    if accepting.shape[0] != states or state_mask.shape[0] != states:
        raise InvalidEntry("accepting and state_mask must have one entry per state")
    if rows.shape[1] != num_words or not ((state_mask >= 0) & (state_mask < rows.shape[0])).all():
        raise InvalidEntry("mask rows must be [rows, num_words] and every state name one of them")
    padding = vocab.size % 32
    if padding and (rows[:, -1] >> padding).any():
        raise InvalidEntry("mask rows allow tokens past the vocabulary")
    eos = [t for t in vocab.eos_ids if t < vocab.size]
    if eos:
        state_rows = rows[state_mask]
        for token in eos:
            allowed = ((state_rows[:, token >> 5] >> (token & 31)) & 1).astype(bool)
            if not np.array_equal(allowed, accepting):
                raise InvalidEntry("end-of-sequence is allowed exactly where a state accepts")
    dfa = ByteDFA(
        transitions=np.ascontiguousarray(transitions), accepting=np.ascontiguousarray(accepting)
    )
    store = MaskStore.from_arrays({"mask_rows": rows}, num_words)
    # Rows were deduplicated when written; a duplicate shifts the store's indices.
    if len(store) != rows.shape[0]:
        raise InvalidEntry("mask rows repeat")
    return TokenDFA(dfa, vocab, masks=(store, np.ascontiguousarray(state_mask)))


def _expect(array: np.ndarray, dtype: type, ndim: int, name: str) -> None:
    if array.dtype != dtype or array.ndim != ndim:
        raise InvalidEntry(
            f"{name} must be a {ndim}-D {np.dtype(dtype)} array, got {array.ndim}-D {array.dtype}"
        )
