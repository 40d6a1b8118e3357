"""A token DFA's payload as flat arrays, and back — checked, never trusted.

The arrays are the byte DFA (``transitions``, ``accepting``), the distinct mask rows
(``mask_rows``) and each state's row (``state_mask``; -1 where the mask was not computed yet,
so a lazily masked automaton keeps what it has and computes the rest on first visit). Reading
them back checks every dtype, shape and range, and that each computed state's mask allows
end-of-sequence exactly when the state accepts (an entry edited to accept everywhere fails
here even with a recomputed checksum).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from structgen.bitmask import bitmask_words
from structgen.engines.dfa.mask_store import MaskStore
from structgen.errors import SerializationError
from structgen.regex.dfa import DEAD, ByteDFA

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

__all__ = ["NAMES", "NOT_COMPUTED", "dfa_arrays", "dfa_from_arrays"]

NAMES = frozenset({"transitions", "accepting", "state_mask", "mask_rows"})
NOT_COMPUTED = -1


def dfa_arrays(dfa: ByteDFA, masks: MaskStore, state_mask: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays :func:`dfa_from_arrays` reads back."""
    return {
        "transitions": dfa.transitions,
        "accepting": dfa.accepting,
        "state_mask": state_mask.copy(),  # a snapshot: lazy masks may be filled in meanwhile
        **masks.to_arrays(),
    }


def dfa_from_arrays(
    arrays: dict[str, np.ndarray], vocab: Vocabulary
) -> tuple[ByteDFA, MaskStore, np.ndarray]:
    """The byte DFA, mask store and state rows the arrays describe;
    :class:`~structgen.errors.SerializationError` says what is wrong otherwise."""
    if set(arrays) != NAMES:
        raise SerializationError(
            f"a token DFA needs the arrays {sorted(NAMES)}, got {sorted(arrays)}"
        )
    transitions, accepting = arrays["transitions"], arrays["accepting"]
    state_mask, rows = arrays["state_mask"], arrays["mask_rows"]
    num_words = bitmask_words(vocab.size)
    _expect(transitions, np.int32, 2, "transitions")
    states = transitions.shape[0]
    if states < 1 or transitions.shape[1] != 256:
        raise SerializationError(f"transitions must be [states ≥ 1, 256], got {transitions.shape}")
    if not ((transitions == DEAD) | ((transitions >= 0) & (transitions < states))).all():
        raise SerializationError("transitions point outside the states")
    _expect(accepting, np.bool_, 1, "accepting")
    _expect(state_mask, np.int32, 1, "state_mask")
    _expect(rows, np.int32, 2, "mask_rows")
    if accepting.shape[0] != states or state_mask.shape[0] != states:
        raise SerializationError("accepting and state_mask must have one entry per state")
    computed = state_mask != NOT_COMPUTED
    if (
        rows.shape[1] != num_words
        or not ((state_mask[computed] >= 0) & (state_mask[computed] < rows.shape[0])).all()
    ):
        raise SerializationError(
            "mask rows must be [rows, num_words] and every computed state name one of them"
        )
    padding = vocab.size % 32
    if padding and (rows[:, -1] >> padding).any():
        raise SerializationError("mask rows allow tokens past the vocabulary")
    eos = [t for t in vocab.eos_ids if t < vocab.size]
    if eos:
        state_rows = rows[state_mask[computed]]
        for token in eos:
            allowed = ((state_rows[:, token >> 5] >> (token & 31)) & 1).astype(bool)
            if not np.array_equal(allowed, accepting[computed]):
                raise SerializationError(
                    "end-of-sequence must be allowed exactly where a state accepts"
                )
    dfa = ByteDFA(
        transitions=np.ascontiguousarray(transitions), accepting=np.ascontiguousarray(accepting)
    )
    store = MaskStore.from_arrays({"mask_rows": rows}, num_words)
    # Rows were deduplicated when written; a duplicate shifts the store's indices.
    if len(store) != rows.shape[0]:
        raise SerializationError("mask rows repeat")
    return dfa, store, np.ascontiguousarray(state_mask)


def _expect(array: np.ndarray, dtype: type, ndim: int, name: str) -> None:
    if array.dtype != dtype or array.ndim != ndim:
        raise SerializationError(
            f"{name} must be a {ndim}-D {np.dtype(dtype)} array, got {array.ndim}-D {array.dtype}"
        )
