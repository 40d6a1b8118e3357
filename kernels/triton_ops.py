"""Bitmask apply as a triton kernel on CUDA. Import-guarded: ``available()`` is False without
triton or a GPU, and callers fall back to :mod:`structgen.kernels.torch_ops`. With
``TRITON_INTERPRET=1`` (set before triton is imported) the kernel runs on CPU tensors, which is
how the tests check it against :mod:`structgen.kernels.numpy_ref`."""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # pragma: no cover - exercised only where triton is installed
    import triton
    import triton.language as tl

    @triton.jit
    def _apply_kernel(
        logits_ptr, bitmask_ptr, rows_ptr, vocab, words, logits_stride, BLOCK: tl.constexpr
    ):
        row = tl.program_id(0)
        block = tl.program_id(1)
        logits_row = tl.load(rows_ptr + row)
        offsets = block * BLOCK + tl.arange(0, BLOCK)
        in_vocab = offsets < vocab
        word_index = offsets // 32
        packed = tl.load(
            bitmask_ptr + row * words + word_index, mask=in_vocab & (word_index < words), other=0
        )
        allowed = ((packed >> (offsets % 32)) & 1) == 1
        tl.store(
            logits_ptr + logits_row * logits_stride + offsets,
            float("-inf"),
            mask=in_vocab & ~allowed,
        )

    _HAVE_TRITON = True
except ImportError:
    _HAVE_TRITON = False


def available() -> bool:
    """Triton is installed and a CUDA device is there to run it."""
    if not _HAVE_TRITON:
        return False
    import torch

    return torch.cuda.is_available()


def supports(logits: Any) -> bool:
    """The kernel's layout: rows of contiguous columns (any row stride), and some work to do."""
    return logits.stride(1) == 1 and logits.shape[0] > 0 and logits.shape[1] > 0


def apply_token_bitmask_inplace(logits: Any, bitmask: Any, rows: np.ndarray | None = None) -> None:
    """The signature of :mod:`structgen.kernels.numpy_ref`, for tensors :func:`supports` takes."""
    import torch

    if rows is None:
        targets = torch.arange(bitmask.shape[0], device=logits.device, dtype=torch.int32)
    else:
        targets = torch.from_numpy(rows.astype(np.int32)).to(logits.device)
    if targets.shape[0] == 0:
        return
    block = 1024
    grid = (targets.shape[0], triton.cdiv(logits.shape[1], block))
    _apply_kernel[grid](
        logits,
        bitmask.contiguous(),
        targets,
        logits.shape[1],
        bitmask.shape[1],
        logits.stride(0),
        BLOCK=block,
    )
