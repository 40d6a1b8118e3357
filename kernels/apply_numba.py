"""Bitmask apply on numpy logits of every float width (float16 too), as one numba kernel.

numba has no float16 arithmetic, but applying a mask needs none: the logits are viewed as
unsigned integers of their width and the bit pattern of ``-inf`` is stored. The kernel reads
the bitmask a word at a time and skips words with every bit set (most words of a permissive
mask), and releases the GIL. The signature of :mod:`structgen.kernels.numpy_ref`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

__all__ = ["apply_token_bitmask_inplace"]

# Same-width unsigned integer view of each float, and the bits of -inf in it.
_AS_BITS: dict[np.dtype, tuple[type, int]] = {
    np.dtype(np.float16): (np.uint16, int(np.array(-np.inf, np.float16).view(np.uint16))),
    np.dtype(np.float32): (np.uint32, int(np.array(-np.inf, np.float32).view(np.uint32))),
    np.dtype(np.float64): (np.uint64, int(np.array(-np.inf, np.float64).view(np.uint64))),
}


def _jit(function: Callable[..., Any]) -> Any:
    """``njit(nogil=True, cache=True)``, without the cache where numba cannot write one."""
    try:
        return njit(nogil=True, cache=True)(function)
    except RuntimeError as error:  # "cannot cache function …: no locator available"
        if "cannot cache" not in str(error):
            raise
        return njit(nogil=True)(function)


def apply_token_bitmask_inplace(
    logits: np.ndarray, bitmask: np.ndarray, rows: np.ndarray | None = None
) -> None:
    """``logits[rows[i], t] = -inf`` where token ``t`` is not allowed by ``bitmask[i]``
    (float16, float32 or float64 logits; any strides)."""
    unsigned, pattern = _AS_BITS[logits.dtype]
    if rows is None:
        rows = np.arange(min(logits.shape[0], bitmask.shape[0]), dtype=np.int64)
    _apply(logits.view(unsigned), bitmask, np.asarray(rows, dtype=np.int64), unsigned(pattern))


@_jit
def _apply(bits: np.ndarray, bitmask: np.ndarray, rows: np.ndarray, minus_inf: Any) -> None:
    """Never reads or writes outside its arrays: rows out of range and bitmask rows without an
    index are skipped (the caller refuses them before, with a message)."""
    batch, vocab = bits.shape
    words = min(bitmask.shape[1], (vocab + 31) >> 5)
    for index in range(min(rows.shape[0], bitmask.shape[0])):
        row = rows[index]
        if row < 0 or row >= batch:
            continue
        for word in range(words):
            packed = bitmask[index, word]
            if packed == -1:
                continue
            base = word << 5
            for bit in range(min(32, vocab - base)):
                if not (packed >> bit) & 1:
                    bits[row, base + bit] = minus_inf
        for token in range(words << 5, vocab):
            bits[row, token] = minus_inf
