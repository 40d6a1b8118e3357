"""The token bitmask: int32 ``[batch, ceil(vocab_size / 32)]``, the layout other engines use.

Token ``t`` of row ``b`` is allowed when bit ``t % 32`` of ``bitmask[b, t // 32]`` is set.
Applying a bitmask computes, in place (``rows`` defaults to ``range(batch)``)::

    for i, b in enumerate(rows):
        for t in range(logits.shape[1]):
            if t >= 32 * bitmask.shape[1] or not (bitmask[i, t // 32] >> (t % 32)) & 1:
                logits[b, t] = -inf

on numpy arrays (a numba kernel, float16 included) or torch tensors on any device (torch ops; a
triton kernel on CUDA when triton is installed). What cannot be applied exactly — integer
logits, more than two dimensions, a bitmask wider than the logits, rows out of range — is
refused with a :class:`~structgen.errors.ConfigurationError` that says what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np

from structgen.errors import ConfigurationError

__all__ = ["allocate_token_bitmask", "apply_token_bitmask", "bitmask_row", "bitmask_words"]

_NUMPY_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_TORCH_FLOATS = ("torch.float16", "torch.bfloat16", "torch.float32", "torch.float64")


def bitmask_words(vocab_size: int) -> int:
    """The int32 words of one bitmask row for ``vocab_size`` tokens: ``ceil(vocab_size / 32)``."""
    return (vocab_size + 31) // 32


def bitmask_row(token_ids: Iterable[int], vocab_size: int) -> np.ndarray:
    """One bitmask row (int32 ``[bitmask_words(vocab_size)]``) allowing exactly ``token_ids``
    (ids outside ``[0, vocab_size)`` are ignored)."""
    row = np.zeros(bitmask_words(vocab_size), dtype=np.uint32)
    for token in token_ids:
        if 0 <= token < vocab_size:
            row[token >> 5] |= np.uint32(1) << np.uint32(token & 31)
    return row.view(np.int32)


def allocate_token_bitmask(
    batch: int, vocab_size: int, *, backend: Literal["numpy", "torch"] = "numpy"
) -> Any:
    """A bitmask with every token allowed (all bits set)."""
    if batch < 1 or vocab_size < 1:
        raise ConfigurationError(
            f"batch and vocab_size must be positive, got {batch} and {vocab_size}"
        )
    if backend == "numpy":
        return np.full((batch, bitmask_words(vocab_size)), -1, dtype=np.int32)
    if backend == "torch":
        import torch

        return torch.full((batch, bitmask_words(vocab_size)), -1, dtype=torch.int32)
    raise ConfigurationError(f"backend must be 'numpy' or 'torch', got {backend!r}")


def apply_token_bitmask(logits: Any, bitmask: Any, *, indices: Any = None) -> None:
    """Set disallowed logits to ``-inf`` in place.

    ``logits``: floating ``[batch, V]`` (or ``[V]``) numpy array or torch tensor; ``bitmask``:
    int32 ``[rows, W]`` (or ``[W]``) with ``W <= ceil(V / 32)``; columns at or beyond ``32 * W``
    are masked. Without ``indices`` bitmask row ``i`` applies to logits row ``i`` (``rows ==
    batch``); with ``indices`` (distinct ints in ``[0, batch)``, one per bitmask row) bitmask row
    ``i`` applies to logits row ``indices[i]``. Anything else raises ConfigurationError.
    """
    if isinstance(logits, np.ndarray):
        view = _numpy_logits(logits)
        masks = _check_bitmask(_numpy_bitmask(bitmask), "int32", view.shape[1])
        rows = _rows(indices, view.shape[0], masks.shape[0])
        from structgen.kernels import apply_numba

        apply_numba.apply_token_bitmask_inplace(view, masks, rows)
        return
    if type(logits).__module__.startswith("torch") and hasattr(logits, "masked_fill_"):
        _apply_torch(logits, bitmask, indices)
        return
    raise ConfigurationError(
        f"expected logits as a numpy array or a torch tensor, got {type(logits).__name__}"
    )


def _apply_torch(logits: Any, bitmask: Any, indices: Any) -> None:
    import torch

    from structgen.kernels import torch_ops

    if str(logits.dtype) not in _TORCH_FLOATS:
        raise ConfigurationError(
            f"expected floating logits ({', '.join(_TORCH_FLOATS)}), got {logits.dtype}; "
            "-inf has no integer value, so integer logits cannot be masked"
        )
    view = _two_dimensional(logits, "logits", logits.unsqueeze(0) if logits.dim() == 1 else logits)
    if isinstance(bitmask, np.ndarray):
        bitmask = torch.from_numpy(bitmask)
    elif not isinstance(bitmask, torch.Tensor):
        raise ConfigurationError(
            f"expected the bitmask as a numpy array or a torch tensor, got {type(bitmask).__name__}"
        )
    masks = bitmask.unsqueeze(0) if bitmask.dim() == 1 else bitmask
    _check_bitmask(masks, "torch.int32", view.shape[1])
    rows = _rows(indices, view.shape[0], masks.shape[0])
    if masks.device != view.device:
        masks = masks.to(view.device, non_blocking=True)
    torch_ops.apply_token_bitmask_inplace(view, masks, rows)


def _numpy_logits(logits: np.ndarray) -> np.ndarray:
    if logits.dtype not in _NUMPY_FLOATS:
        raise ConfigurationError(
            f"expected floating logits (float16, float32 or float64), got {logits.dtype}; "
            "-inf has no integer value, so integer logits cannot be masked"
        )
    if not logits.flags.writeable:
        raise ConfigurationError(
            "expected writeable logits (the bitmask is applied in place), got a read-only array"
        )
    if not logits.dtype.isnative:
        raise ConfigurationError(
            f"expected logits in the machine's byte order, got {logits.dtype.str}; "
            "use logits.astype(logits.dtype.newbyteorder('='))"
        )
    return _two_dimensional(logits, "logits", logits[None, :] if logits.ndim == 1 else logits)


def _numpy_bitmask(bitmask: Any) -> np.ndarray:
    if isinstance(bitmask, np.ndarray):
        masks = bitmask
    elif hasattr(bitmask, "numpy") and str(getattr(bitmask, "device", "cpu")) == "cpu":
        masks = bitmask.numpy()
    else:
        raise ConfigurationError(
            "expected the bitmask of numpy logits as a numpy array or a CPU torch tensor, got "
            f"{type(bitmask).__name__} on {getattr(bitmask, 'device', 'an unknown device')}"
        )
    return masks[None, :] if masks.ndim == 1 else masks


def _two_dimensional(original: Any, name: str, view: Any) -> Any:
    if len(view.shape) != 2:
        raise ConfigurationError(
            f"expected {name} of shape [batch, vocab] or [vocab], got {tuple(original.shape)}; "
            f"reshape them to 2-D first (e.g. {name}.reshape(-1, {name}.shape[-1]))"
        )
    return view


def _check_bitmask(masks: Any, int32: str, vocab: int) -> Any:
    """``masks`` (2-D after the caller's unsqueeze) is int32 and no wider than the logits."""
    if str(masks.dtype) != int32:
        raise ConfigurationError(
            f"expected an int32 bitmask, got {masks.dtype}; "
            "use structgen.allocate_token_bitmask(batch, vocab_size)"
        )
    _two_dimensional(masks, "bitmask", masks)
    words = masks.shape[1]
    if words > bitmask_words(vocab):
        raise ConfigurationError(
            f"expected a bitmask of at most {bitmask_words(vocab)} words per row for logits of "
            f"{vocab} columns, got {words} words (tokens up to {32 * words}); fill the bitmask "
            "for the model's vocabulary (its logits width), not a larger one"
        )
    return masks


def _rows(indices: Any, batch: int, count: int) -> np.ndarray | None:
    """The logits row of every bitmask row (None: the identity), checked."""
    if indices is None:
        if count != batch:
            raise ConfigurationError(
                f"expected one bitmask row per logits row ({batch}), got {count}; "
                "pass indices= to map bitmask rows to logits rows"
            )
        return None
    if hasattr(indices, "detach"):  # a torch tensor
        indices = indices.detach().cpu().numpy()
    rows = np.asarray(indices)
    if rows.ndim != 1 or not (np.issubdtype(rows.dtype, np.integer) or rows.size == 0):
        raise ConfigurationError(
            f"expected indices as a flat sequence of ints, got {rows.dtype} of shape {rows.shape}"
        )
    rows = rows.astype(np.int64)
    if len(rows) != count:
        raise ConfigurationError(
            f"expected one index per bitmask row ({count}), got {len(rows)} indices"
        )
    outside = rows[(rows < 0) | (rows >= batch)]
    if len(outside):
        raise ConfigurationError(
            f"expected indices in [0, {batch}) (rows of the logits), got {int(outside[0])}"
        )
    if len(np.unique(rows)) != len(rows):
        raise ConfigurationError(f"expected distinct indices, got {rows.tolist()}")
    return rows
