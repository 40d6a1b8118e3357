"""Compute kernels, one file per backend, each with the same signatures.

- ``numpy_ref``: plain numpy reference implementations (the oracle the others are tested against).
- ``numba_cpu``: numba-jitted CPU kernels (trie walks that build token masks, bitmask apply).
- ``torch_ops``: bitmask apply for torch tensors on any device.
- ``triton_ops``: bitmask apply as a triton kernel on CUDA (import-guarded).

Modules are imported lazily by their callers: ``import structgen`` never pays for numba,
torch or triton.
"""
