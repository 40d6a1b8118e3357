"""The int32 token bitmask as the harness reads it: ``[1, ceil(V/32)]``, bit ``i & 31`` of word
``i >> 5`` set when token ``i`` is allowed (every engine writes this layout)."""

from __future__ import annotations

import numpy as np

__all__ = ["new_bitmask", "mask_bit", "allowed_ids"]


def new_bitmask(words: int) -> np.ndarray:
    """An all-zero bitmask of ``words`` int32 words."""
    return np.zeros((1, words), dtype=np.int32)


def mask_bit(bitmask: np.ndarray, token_id: int) -> bool:
    """Whether ``token_id`` is allowed by ``bitmask``."""
    return bool((int(bitmask[0, token_id >> 5]) >> (token_id & 31)) & 1)


def allowed_ids(bitmask: np.ndarray, vocab_size: int) -> np.ndarray:
    """The allowed token ids below ``vocab_size``, ascending."""
    bits = np.unpackbits(bitmask[0].view(np.uint8), bitorder="little")[:vocab_size]
    return np.flatnonzero(bits)
