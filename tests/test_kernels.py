"""Every bitmask-apply backend against the plain-numpy reference, and the public
``apply_token_bitmask`` fuzzed: each input is either applied exactly or refused by name.

Oracles: ``numpy_ref`` is checked against the per-token loop of ``structgen.bitmask``'s
docstring; numba, torch (CPU) and triton (its interpreter, ``TRITON_INTERPRET=1``, in a
subprocess so that no other test's triton import sees the variable) against ``numpy_ref``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.bitmask import apply_token_bitmask, bitmask_words
from structgen.errors import ConfigurationError
from structgen.kernels import apply_numba, numba_cpu, numpy_ref, torch_ops, triton_ops

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """float32 logits ``[batch, V]``, an int32 bitmask no wider than them, and logits rows (or
    None) — every layout the kernels must support, including narrow bitmasks and V % 32 != 0."""
    rng = np.random.default_rng(seed)
    batch, vocab = int(rng.integers(1, 6)), int(rng.integers(1, 300))
    logits = rng.standard_normal((batch, vocab)).astype(np.float32)
    count = int(rng.integers(0, batch + 1)) if seed % 2 else batch
    words = (
        int(rng.integers(0, bitmask_words(vocab) + 1)) if seed % 3 == 0 else bitmask_words(vocab)
    )
    bitmask = rng.integers(-(2**31), 2**31, size=(count, words), dtype=np.int64).astype(np.int32)
    if seed % 5 == 0:
        bitmask[:, : words // 2] = -1  # whole words allowed
    rows = rng.permutation(batch)[:count] if seed % 2 else None
    return logits, bitmask, rows


def loop_oracle(logits: np.ndarray, bitmask: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """The pseudo-code of ``structgen.bitmask``'s docstring, token by token."""
    out = logits.copy()
    targets = range(logits.shape[0]) if rows is None else rows
    for index, row in enumerate(targets):
        for token in range(logits.shape[1]):
            word = token // 32
            if word >= bitmask.shape[1] or not (int(bitmask[index, word]) >> (token % 32)) & 1:
                out[row, token] = -np.inf
    return out


def reference(logits: np.ndarray, bitmask: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    out = logits.astype(np.float64)
    numpy_ref.apply_token_bitmask_inplace(out, bitmask, rows)
    return out


SEEDS = range(60)


@pytest.mark.parametrize("seed", SEEDS)
def test_numpy_reference_is_the_documented_loop(seed):
    logits, bitmask, rows = random_case(seed)
    out = logits.copy()
    numpy_ref.apply_token_bitmask_inplace(out, bitmask, rows)
    np.testing.assert_array_equal(out, loop_oracle(logits, bitmask, rows))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", SEEDS)
def test_numba_kernel_equals_the_reference(seed, dtype):
    logits, bitmask, rows = random_case(seed)
    out = logits.astype(dtype)
    numba_cpu.apply_token_bitmask_inplace(out, bitmask, rows)
    np.testing.assert_array_equal(out, reference(logits, bitmask, rows))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("seed", SEEDS)
def test_torch_ops_on_cpu_equal_the_reference(seed, dtype):
    logits, bitmask, rows = random_case(seed)
    exact = np.round(logits * 4) / 4  # representable in every float type, bfloat16 included
    out = torch.from_numpy(exact).to(dtype)
    torch_ops.apply_token_bitmask_inplace(out, torch.from_numpy(bitmask), rows)
    np.testing.assert_array_equal(out.to(torch.float64).numpy(), reference(exact, bitmask, rows))


TRITON_SCRIPT = """
import json, sys
import numpy as np
import torch
from structgen.kernels import numpy_ref, triton_ops
from tests.test_kernels import random_case, reference

results = []
for seed in json.loads(sys.argv[1]):
    logits, bitmask, rows = random_case(seed)
    out = torch.from_numpy(logits.copy())
    if triton_ops.supports(out):
        triton_ops.apply_token_bitmask_inplace(out, torch.from_numpy(bitmask), rows)
        same = np.array_equal(out.double().numpy(), reference(logits, bitmask, rows))
        results.append([seed, bool(same)])
print(json.dumps({"have_triton": triton_ops._HAVE_TRITON, "results": results}))
"""


def test_triton_kernel_under_the_interpreter_equals_the_reference():
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", TRITON_SCRIPT, json.dumps(list(SEEDS))],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["have_triton"], "triton is installed in the test environment"
    assert len(report["results"]) >= len(SEEDS) // 2, "most cases have work for the kernel"
    assert [seed for seed, same in report["results"] if not same] == []


def test_cuda_dispatch_falls_back_to_torch_without_a_gpu():
    if torch.cuda.is_available():  # the triton branch is then taken: covered by the test above
        assert triton_ops.available() == triton_ops._HAVE_TRITON
        return
    assert not triton_ops.available()


@pytest.mark.parametrize(
    ("make", "kernel"),
    [
        (lambda: np.zeros((2, 70), np.float32), "apply_numba"),
        (lambda: np.zeros((2, 70), np.float64), "apply_numba"),
        (lambda: np.zeros((2, 70), np.float16), "apply_numba"),
        (lambda: torch.zeros(2, 70), "torch_ops"),
    ],
)
def test_dispatch_picks_the_backend_of_the_logits(make, kernel, monkeypatch):
    called = []
    for name, module in (
        ("apply_numba", apply_numba),
        ("numba_cpu", numba_cpu),
        ("numpy_ref", numpy_ref),
        ("torch_ops", torch_ops),
    ):

        def spy(*args, _name=name, _original=module.apply_token_bitmask_inplace):
            called.append(_name)
            _original(*args)

        monkeypatch.setattr(module, "apply_token_bitmask_inplace", spy)
    logits = make()
    apply_token_bitmask(logits, np.zeros((2, 3), np.int32))
    assert called == [kernel]
    assert np.isinf(np.asarray(logits, dtype=np.float64)).all()


def test_numba_kernel_never_touches_memory_outside_its_arrays():
    # The public API refuses these rows; the kernel itself must still stay inside its arrays.
    storage = np.zeros((8, 100), np.float32)
    logits = storage[2:4, 10:50]
    bitmask = np.zeros((2, 2), np.int32)
    numba_cpu.apply_token_bitmask_inplace(logits, bitmask, np.array([5, -3, 1, 7, 2000]))
    assert not np.isinf(storage).any(), "rows 5 and -3 are outside the logits: skipped"
    numba_cpu.apply_token_bitmask_inplace(logits, bitmask[:1], np.array([1, 0, 0, 0]))
    assert np.isinf(storage[3, 10:50]).all() and np.isinf(storage).sum() == 40


# -- the public API, fuzzed --------------------------------------------------------------------

NUMPY_DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool", "complex64"]
TORCH_DTYPES = ["float16", "bfloat16", "float32", "float64", "int32", "int64", "bool"]
FLOATS = {"float16", "bfloat16", "float32", "float64"}


DEFECTS = ["dtype", "ndim", "mask_dtype", "mask_ndim", "words", "mask_rows", "indices"]


@st.composite
def apply_inputs(draw):
    """Random logits (numpy or torch), bitmask and indices: a valid layout (random shapes, float
    dtypes, narrow bitmasks, permuted indices) with, half of the time, one random defect."""
    defect = draw(st.sampled_from([None] * len(DEFECTS) + DEFECTS))
    backend = draw(st.sampled_from(["numpy", "torch"]))
    dtypes = NUMPY_DTYPES if backend == "numpy" else TORCH_DTYPES
    floats = [d for d in dtypes if d in FLOATS]
    dtype = draw(
        st.sampled_from([d for d in dtypes if d not in FLOATS] if defect == "dtype" else floats)
    )
    vocab = draw(st.integers(0, 140))
    batch = draw(st.integers(0, 4))
    ndim = draw(st.sampled_from([0, 3] if defect == "ndim" else [1, 2, 2]))
    shape = {0: (), 1: (vocab,), 2: (batch, vocab), 3: (1, batch, vocab)}[ndim]
    values = np.asarray(np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) % 7)
    mask_dtype = draw(
        st.sampled_from(["int64", "uint32", "int16"] if defect == "mask_dtype" else ["int32"])
    )
    rows_in_batch = batch if ndim == 2 else 1
    most = bitmask_words(vocab)
    words = draw(st.integers(most + 1, most + 40) if defect == "words" else st.integers(0, most))
    mask_ndim = draw(
        st.sampled_from([0, 3] if defect == "mask_ndim" else [2, 2, 1] if ndim != 2 else [2])
    )
    indices = draw(
        st.lists(st.integers(-3, rows_in_batch + 2), max_size=6)
        if defect == "indices"
        else st.none()
        | st.permutations(range(rows_in_batch)).flatmap(
            lambda p: st.integers(0, len(p)).map(lambda n: p[:n])
        )
    )
    mask_rows = rows_in_batch if indices is None else len(indices)
    if defect == "mask_rows":
        mask_rows = draw(st.integers(0, 6).filter(lambda n: n != mask_rows))
    seed = draw(st.integers(0, 2**32 - 1))
    bits = np.random.default_rng(seed).integers(
        -(2**31), 2**31, size=(mask_rows, words), dtype=np.int64
    )
    bitmask = bits.astype(np.int32).astype(mask_dtype)
    if mask_ndim == 1 and mask_rows == 1:
        bitmask = bitmask[0]
    elif mask_ndim == 0:
        bitmask = np.asarray(bits.ravel()[:1].sum(), dtype=mask_dtype)
    elif mask_ndim == 3:
        bitmask = bitmask[None]
    if backend == "torch":
        logits = torch.from_numpy(values).to(getattr(torch, dtype))
        if draw(st.booleans()) and mask_dtype != "uint32":
            bitmask = torch.from_numpy(np.ascontiguousarray(bitmask))
    else:
        logits = values.astype(dtype)
    return logits, bitmask, indices


def expected_result(logits, bitmask, indices) -> np.ndarray | None:
    """The result the contract promises (float64 ``[batch, V]``), or None when it is refused."""
    dtype = str(logits.dtype).removeprefix("torch.")
    masks = np.asarray(bitmask)
    if dtype not in FLOATS or logits.ndim not in (1, 2) or masks.ndim not in (1, 2):
        return None
    values = np.asarray(
        logits.to(torch.float64) if isinstance(logits, torch.Tensor) else logits, np.float64
    )
    values = values.reshape(1, -1) if values.ndim == 1 else values
    masks = masks.reshape(1, -1) if masks.ndim == 1 else masks
    if masks.dtype != np.int32 or masks.shape[1] > bitmask_words(values.shape[1]):
        return None
    if indices is None:
        rows = None
        if masks.shape[0] != values.shape[0]:
            return None
    else:
        rows = np.asarray(indices, dtype=np.int64)
        if len(rows) != masks.shape[0] or len(set(indices)) != len(rows):
            return None
        if len(rows) and (rows.min() < 0 or rows.max() >= values.shape[0]):
            return None
    out = values.copy()
    numpy_ref.apply_token_bitmask_inplace(out, masks, rows)
    return out


def as_float64(logits) -> np.ndarray:
    """``[batch, V]`` float64 values of 1-D or 2-D logits."""
    values = (
        logits.to(torch.float64).numpy()
        if isinstance(logits, torch.Tensor)
        else np.asarray(logits, np.float64)
    )
    return values.reshape(1, -1) if values.ndim == 1 else values


@FUZZ
@given(inputs=apply_inputs())
def test_apply_token_bitmask_is_exact_or_refuses_by_name(inputs):
    logits, bitmask, indices = inputs
    before = logits.clone() if isinstance(logits, torch.Tensor) else logits.copy()
    expected = expected_result(logits, bitmask, indices)
    if expected is None:
        with pytest.raises(ConfigurationError, match="expected"):
            apply_token_bitmask(logits, bitmask, indices=indices)
        same = (
            torch.equal(logits, before)
            if isinstance(logits, torch.Tensor)
            else np.array_equal(logits, before)
        )
        assert same, "a refused call changed nothing"
        return
    apply_token_bitmask(logits, bitmask, indices=indices)
    np.testing.assert_array_equal(as_float64(logits), expected)


@pytest.mark.parametrize(
    ("logits", "bitmask", "indices", "message"),
    [
        (
            np.zeros((1, 40), np.int32),
            np.zeros((1, 2), np.int32),
            None,
            "expected floating logits.*got int32",
        ),
        (
            torch.zeros(1, 1, 40),
            torch.zeros(1, 2, dtype=torch.int32),
            None,
            r"shape \[batch, vocab\].*got \(1, 1, 40\)",
        ),
        (
            np.zeros((1, 1, 40)),
            np.zeros((1, 2), np.int32),
            None,
            r"shape \[batch, vocab\].*got \(1, 1, 40\)",
        ),
        (
            np.zeros((4, 40)),
            np.zeros((1, 2), np.int32),
            list(range(2000)),
            "one index per bitmask row .1., got 2000",
        ),
        (np.zeros((4, 40)), np.zeros((1, 2), np.int32), [-1], r"indices in \[0, 4\).*got -1"),
        (np.zeros((2, 40)), np.zeros((2, 2), np.int32), [1, 1], "distinct indices"),
        (
            np.zeros((1, 1000)),
            np.zeros((1, 4008), np.int32),
            None,
            r"at most 32 words per row for logits of 1000 columns, got 4008",
        ),
        (
            np.zeros((1, 40)),
            np.zeros((1, 2), np.uint32),
            None,
            "expected an int32 bitmask, got uint32",
        ),
    ],
)
def test_the_issue_cases_are_refused_with_a_message(logits, bitmask, indices, message):
    with pytest.raises(ConfigurationError, match=message):
        apply_token_bitmask(logits, bitmask, indices=indices)
