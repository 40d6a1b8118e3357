"""The numba apply kernel of every numpy float width (``kernels/apply_numba.py``, what
``apply_token_bitmask`` uses for numpy logits) and the triton kernel in every torch float type,
each held to the plain-numpy reference (``tests/test_kernels.py`` checks that reference against
the documented per-token loop). Cases: narrow bitmasks (logits wider than the bitmask: the
columns past it are masked), V % 32 != 0, rows subsets in any order, whole words allowed,
logits that are a strided slice of a wider array."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from structgen.bitmask import apply_token_bitmask
from structgen.errors import ConfigurationError
from structgen.kernels import apply_numba
from tests.test_kernels import SEEDS, random_case, reference

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("seed", SEEDS)
def test_numba_kernel_of_every_width_equals_the_reference(seed, dtype):
    logits, bitmask, rows = random_case(seed)
    exact = (np.round(logits * 4) / 4).astype(dtype)  # representable in float16
    out = exact.copy()
    apply_numba.apply_token_bitmask_inplace(out, bitmask, rows)
    np.testing.assert_array_equal(out.astype(np.float64), reference(exact, bitmask, rows))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_numba_kernel_on_a_strided_slice_touches_only_its_slice(dtype):
    storage = np.zeros((6, 200), dtype)
    logits = storage[1:5, 30:170]  # rows of 140 columns, row stride 200
    bitmask = np.random.default_rng(3).integers(-(2**31), 2**31, (2, 4)).astype(np.int32)
    expected = reference(np.zeros((4, 140)), bitmask, np.array([3, 1]))
    apply_numba.apply_token_bitmask_inplace(logits, bitmask, np.array([3, 1]))
    np.testing.assert_array_equal(logits.astype(np.float64), expected)
    outside = storage.copy()
    outside[1:5, 30:170] = 0
    assert not np.isinf(outside).any()


def test_numba_kernel_never_touches_memory_outside_its_arrays():
    storage = np.zeros((8, 100), np.float16)
    logits = storage[2:4, 10:50]
    bitmask = np.zeros((2, 2), np.int32)
    apply_numba.apply_token_bitmask_inplace(logits, bitmask, np.array([5, -3, 1, 7, 2000]))
    assert not np.isinf(storage).any(), "rows 5 and -3 are outside the logits: skipped"
    apply_numba.apply_token_bitmask_inplace(logits, bitmask[:1], np.array([1, 0, 0, 0]))
    assert np.isinf(storage[3, 10:50]).all() and np.isinf(storage).sum() == 40


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_public_apply_on_numpy_logits_of_every_width(dtype):
    rng = np.random.default_rng(11)
    logits = rng.standard_normal((3, 100)).astype(dtype)
    narrow = rng.integers(-(2**31), 2**31, (2, 3)).astype(np.int32)  # 96 < 100 columns
    expected = reference(logits, narrow, np.array([2, 0]))
    apply_token_bitmask(logits, narrow, indices=[2, 0])
    np.testing.assert_array_equal(logits.astype(np.float64), expected)
    with pytest.raises(ConfigurationError, match="at most 4 words per row.*got 5 words"):
        apply_token_bitmask(logits, np.zeros((3, 5), np.int32))  # wider than the logits


TRITON_SCRIPT = """
import json, sys
import numpy as np
import torch
from structgen.kernels import triton_ops
from tests.test_kernels import random_case, reference

results = []
for name in ("float16", "bfloat16", "float32"):
    for seed in json.loads(sys.argv[1]):
        logits, bitmask, rows = random_case(seed)
        exact = np.round(logits * 4) / 4  # representable in every float type
        wide = torch.zeros(exact.shape[0], exact.shape[1] + 17, dtype=getattr(torch, name))
        out = wide[:, 5 : 5 + exact.shape[1]]  # a strided view: row stride != vocab
        out.copy_(torch.from_numpy(exact))
        if triton_ops.supports(out):
            triton_ops.apply_token_bitmask_inplace(out, torch.from_numpy(bitmask), rows)
            same = np.array_equal(out.double().numpy(), reference(exact, bitmask, rows))
            edges = torch.cat([wide[:, :5], wide[:, 5 + exact.shape[1]:]], dim=1)
            results.append([name, seed, bool(same), bool((edges == 0).all())])
print(json.dumps(results))
"""


def test_triton_kernel_in_every_float_type_under_the_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", TRITON_SCRIPT, json.dumps(list(SEEDS)[:30])],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert {name for name, *_ in results} == {"float16", "bfloat16", "float32"}
    assert len(results) >= 3 * 15, "most cases have work for the kernel"
    assert [r for r in results if not (r[2] and r[3])] == []
