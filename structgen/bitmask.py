"""The token bitmask: int32 ``[batch, ceil(vocab_size / 32)]``, the layout other engines use.

Token ``t`` of row ``b`` is allowed when bit ``t % 32`` of ``bitmask[b, t // 32]`` is set.
Applying a bitmask computes, in place::

    for b, t in product(range(batch), range(logits.shape[1])):
        if t >= 32 * bitmask.shape[1] or not (bitmask[b, t // 32] >> (t % 32)) & 1:
            logits[b, t] = -inf

on numpy arrays (numba kernel) or torch tensors on any device (torch ops; a triton kernel on
CUDA when triton is installed).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from structgen.errors import ConfigurationError

__all__ = ["allocate_token_bitmask", "apply_token_bitmask", "bitmask_words"]


def bitmask_words(vocab_size: int) -> int:
    return (vocab_size + 31) // 32


def allocate_token_bitmask(
    batch: int, vocab_size: int, *, backend: Literal["numpy", "torch"] = "numpy"
) -> Any:
    """A bitmask with every token allowed (all bits set)."""
    if batch < 1 or vocab_size < 1:
        raise ConfigurationError(f"batch and vocab_size must be positive, got {batch} and {vocab_size}")
    if backend == "numpy":
        return np.full((batch, bitmask_words(vocab_size)), -1, dtype=np.int32)
    if backend == "torch":
        import torch

        return torch.full((batch, bitmask_words(vocab_size)), -1, dtype=torch.int32)
    raise ConfigurationError(f"backend must be 'numpy' or 'torch', got {backend!r}")


def apply_token_bitmask(logits: Any, bitmask: Any, *, indices: list[int] | None = None) -> None:
    """Set disallowed logits to ``-inf`` in place.

    ``logits``: ``[batch, V]`` (or ``[V]``) numpy array or torch tensor; ``bitmask``: int32
    ``[batch, W]``; with ``indices``, row ``i`` of the bitmask applies to row ``indices[i]`` of the
    logits. Columns at or beyond ``32 * W`` are masked.
    """
    if isinstance(logits, np.ndarray):
        _apply_numpy(logits, np.asarray(bitmask), indices)
        return
    from structgen.kernels import torch_ops

    torch_ops.apply_token_bitmask_inplace(logits, bitmask, indices=indices)


def _apply_numpy(logits: np.ndarray, bitmask: np.ndarray, indices: list[int] | None) -> None:
    from structgen.kernels.numba_cpu import apply_bitmask_inplace

    if bitmask.dtype != np.int32:
        raise ConfigurationError(f"expected an int32 bitmask, got {bitmask.dtype}")
    view = logits[None, :] if logits.ndim == 1 else logits
    masks = bitmask[None, :] if bitmask.ndim == 1 else bitmask
    if indices is not None:
        sub = view[indices]
        apply_bitmask_inplace(sub, masks)
        view[indices] = sub
        return
    if masks.shape[0] != view.shape[0]:
        raise ConfigurationError(
            f"bitmask has {masks.shape[0]} rows but logits have {view.shape[0]}; pass indices= to map rows"
        )
    apply_bitmask_inplace(view, masks)
