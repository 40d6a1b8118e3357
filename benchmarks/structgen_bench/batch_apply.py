"""Apply-kernel time per row: float32 logits ``[B, V]`` masked in place by an int32 bitmask.

Kernels: structgen's numba CPU kernel (``apply_token_bitmask`` on numpy logits), its torch ops
(the same call on a CPU tensor), the plain numpy reference (``kernels/numpy_ref.py``), and
xgrammar's ``apply_token_bitmask_inplace`` on a CPU tensor. Every kernel's output is checked
against the reference on the same logits before any is timed; each timed call gets fresh
logits (the copy is not timed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from structgen.bitmask import apply_token_bitmask
from structgen.kernels import numpy_ref
from structgen_bench.batch_fill import percentiles

__all__ = ["APPLY_KERNELS", "measure_apply"]

APPLY_KERNELS = ("structgen-numba", "structgen-torch", "numpy-reference", "xgrammar-cpu")


def _kernels() -> dict[str, tuple[Callable[[Any, Any], None], bool]]:
    """Each kernel: its call ``(logits, bitmask)`` and whether it takes torch tensors."""
    kernels: dict[str, tuple[Callable[[Any, Any], None], bool]] = {
        "structgen-numba": (apply_token_bitmask, False),
        "numpy-reference": (numpy_ref.apply_token_bitmask_inplace, False),
    }
    try:
        import torch  # noqa: F401

        kernels["structgen-torch"] = (apply_token_bitmask, True)
    except ImportError:
        pass
    try:
        import xgrammar as xgr

        def xgrammar_apply(logits: Any, bitmask: Any) -> None:
            xgr.apply_token_bitmask_inplace(logits, bitmask)

        kernels["xgrammar-cpu"] = (xgrammar_apply, True)
    except ImportError:
        pass
    return {name: kernels[name] for name in APPLY_KERNELS if name in kernels}


def measure_apply(*, vocab_size: int, batch_sizes: Sequence[int], repeat: int,
                  seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Per kernel and batch size: seconds per call and per row (p50/p99/mean/max), after each
    kernel's output matched the numpy reference; a kernel that differs is reported, not timed."""
    rng = np.random.default_rng(seed)
    words = (vocab_size + 31) // 32
    kernels = _kernels()
    out: dict[str, Any] = {"vocab_size": vocab_size, "dtype": "float32", "repeat": repeat,
                           "kernels": {name: {} for name in kernels},
                           "missing": [n for n in APPLY_KERNELS if n not in kernels]}  # fmt: skip
    for size in batch_sizes:
        logits = rng.standard_normal((size, vocab_size), dtype=np.float32)
        # about one token in five allowed, as inside a JSON string
        bits = rng.random((size, words * 32)) < 0.2
        bitmask = np.packbits(bits, axis=1, bitorder="little").view(np.int32)
        expected = logits.copy()
        numpy_ref.apply_token_bitmask_inplace(expected, bitmask)
        for name, (call, wants_torch) in kernels.items():
            work, mask = _inputs(logits, bitmask, wants_torch)
            call(work, mask)
            got = work.numpy() if wants_torch else work
            if not np.array_equal(got, expected):
                out["kernels"][name][str(size)] = {"status": "differs from the numpy reference"}
                continue
            times = []
            for _ in range(repeat):
                work, mask = _inputs(logits, bitmask, wants_torch)
                started = time.perf_counter_ns()
                call(work, mask)
                times.append((time.perf_counter_ns() - started) / 1e9)
            out["kernels"][name][str(size)] = {
                "status": "ok",
                "seconds": percentiles(times),
                "per_row_seconds": percentiles([t / size for t in times]),
            }
    return out


def _inputs(logits: np.ndarray, bitmask: np.ndarray, wants_torch: bool) -> tuple[Any, Any]:
    if not wants_torch:
        return logits.copy(), bitmask
    import torch

    return torch.from_numpy(logits.copy()), torch.from_numpy(bitmask)
