"""Bitmask apply for torch tensors on any device; dispatches to triton on CUDA when present."""

from __future__ import annotations

from typing import Any

from structgen.errors import ConfigurationError

_BIT_SHIFTS: dict[Any, Any] = {}


def _bit_shifts(device: Any) -> Any:
    import torch

    shifts = _BIT_SHIFTS.get(device)
    if shifts is None:
        shifts = _BIT_SHIFTS[device] = torch.arange(32, dtype=torch.int32, device=device)
    return shifts


def unpack_allowed(bitmask: Any, vocab_size: int) -> Any:
    """bool ``[batch, vocab_size]`` from an int32 bitmask tensor (same device)."""
    bits = (bitmask.unsqueeze(-1) >> _bit_shifts(bitmask.device)) & 1
    allowed = bits.reshape(bitmask.shape[0], -1).bool()
    if allowed.shape[1] >= vocab_size:
        return allowed[:, :vocab_size]
    import torch

    pad = torch.zeros(allowed.shape[0], vocab_size - allowed.shape[1], dtype=torch.bool, device=allowed.device)
    return torch.cat([allowed, pad], dim=1)


def apply_token_bitmask_inplace(logits: Any, bitmask: Any, *, indices: list[int] | None = None) -> None:
    import numpy as np
    import torch

    if isinstance(bitmask, np.ndarray):
        bitmask = torch.from_numpy(bitmask)
    if bitmask.dtype != torch.int32:
        raise ConfigurationError(f"expected an int32 bitmask, got {bitmask.dtype}")
    if bitmask.device != logits.device:
        bitmask = bitmask.to(logits.device, non_blocking=True)
    view = logits.unsqueeze(0) if logits.dim() == 1 else logits
    masks = bitmask.unsqueeze(0) if bitmask.dim() == 1 else bitmask
    if indices is None and masks.shape[0] != view.shape[0]:
        raise ConfigurationError(
            f"bitmask has {masks.shape[0]} rows but logits have {view.shape[0]}; pass indices= to map rows"
        )
    if view.is_cuda:
        from structgen.kernels import triton_ops

        if triton_ops.available():
            triton_ops.apply_token_bitmask_inplace(view, masks, indices=indices)
            return
    rows = view if indices is None else view[indices]
    allowed = unpack_allowed(masks, rows.shape[1])
    rows.masked_fill_(~allowed, float("-inf"))
    if indices is not None:
        view[indices] = rows
