"""Bitmask apply for torch tensors on any device; triton on CUDA when it is installed."""

from __future__ import annotations

from typing import Any

import numpy as np

_BIT_SHIFTS: dict[Any, Any] = {}


def _bit_shifts(device: Any) -> Any:
    import torch

    shifts = _BIT_SHIFTS.get(device)
    if shifts is None:
        shifts = _BIT_SHIFTS[device] = torch.arange(32, dtype=torch.int32, device=device)
    return shifts


def unpack_allowed(bitmask: Any, vocab_size: int) -> Any:
    """bool ``[batch, vocab_size]`` from an int32 bitmask tensor (same device)."""
    import torch

    bits = (bitmask.unsqueeze(-1) >> _bit_shifts(bitmask.device)) & 1
    allowed = bits.reshape(bitmask.shape[0], bitmask.shape[1] * 32).bool()
    if allowed.shape[1] >= vocab_size:
        return allowed[:, :vocab_size]
    pad = torch.zeros(
        allowed.shape[0], vocab_size - allowed.shape[1], dtype=torch.bool, device=allowed.device
    )
    return torch.cat([allowed, pad], dim=1)


def apply_token_bitmask_inplace(logits: Any, bitmask: Any, rows: np.ndarray | None = None) -> None:
    """``logits[rows[i], t] = -inf`` where token ``t`` is not allowed by ``bitmask[i]``: the
    signature of :mod:`structgen.kernels.numpy_ref`, on tensors of one device."""
    if logits.is_cuda:
        from structgen.kernels import triton_ops

        if triton_ops.available() and triton_ops.supports(logits):
            triton_ops.apply_token_bitmask_inplace(logits, bitmask, rows)
            return
    apply_with_torch(logits, bitmask, rows)


def apply_with_torch(logits: Any, bitmask: Any, rows: np.ndarray | None = None) -> None:
    """The torch-ops path (any device), also the fallback of the triton one."""
    import torch

    allowed = unpack_allowed(bitmask, logits.shape[1])
    if rows is None:
        logits.masked_fill_(~allowed, float("-inf"))
        return
    index = torch.from_numpy(rows).to(logits.device)
    selected = logits.index_select(0, index)
    selected.masked_fill_(~allowed, float("-inf"))
    logits.index_copy_(0, index, selected)
