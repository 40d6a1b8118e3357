"""Bitmask apply as a triton kernel on CUDA. Import-guarded: ``available()`` is False without
triton or a GPU, and callers fall back to :mod:`structgen.kernels.torch_ops`."""

from __future__ import annotations

from typing import Any

try:  # pragma: no cover - exercised only where triton and a GPU exist
    import triton
    import triton.language as tl

    @triton.jit
    def _apply_kernel(logits_ptr, bitmask_ptr, rows_ptr, vocab, words, logits_stride, BLOCK: tl.constexpr):
        row = tl.program_id(0)
        block = tl.program_id(1)
        logits_row = tl.load(rows_ptr + row)
        offsets = block * BLOCK + tl.arange(0, BLOCK)
        in_vocab = offsets < vocab
        word_index = offsets // 32
        packed = tl.load(bitmask_ptr + row * words + word_index, mask=in_vocab & (word_index < words), other=0)
        allowed = ((packed >> (offsets % 32)) & 1) == 1
        tl.store(logits_ptr + logits_row * logits_stride + offsets, float("-inf"), mask=in_vocab & ~allowed)

    _HAVE_TRITON = True
except ImportError:
    _HAVE_TRITON = False


def available() -> bool:
    if not _HAVE_TRITON:
        return False
    import torch

    return torch.cuda.is_available()


def apply_token_bitmask_inplace(logits: Any, bitmask: Any, *, indices: list[int] | None = None) -> None:  # pragma: no cover
    import torch

    rows = torch.arange(logits.shape[0], device=logits.device, dtype=torch.int32) if indices is None else (
        torch.tensor(indices, device=logits.device, dtype=torch.int32)
    )
    block = 1024
    grid = (rows.shape[0], triton.cdiv(logits.shape[1], block))
    _apply_kernel[grid](logits, bitmask.contiguous(), rows, logits.shape[1], bitmask.shape[1], logits.stride(0), BLOCK=block)
