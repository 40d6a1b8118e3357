"""``fill_next_token_bitmasks`` and ``fill_async`` (issue 13, part 1): a batch of matchers with a
different constraint per row, filled on threads, equals each matcher filling its own row alone
(the oracle: ``Matcher.fill_next_token_bitmask`` on a one-row bitmask, single-threaded)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from structgen.bitmask import allocate_token_bitmask
from structgen.errors import ConfigurationError
from structgen.kernels.numpy_ref import unpack_bitmask
from structgen.runtime.batch import fill_async, fill_next_token_bitmasks
from structgen.runtime.compiler import compile_grammar, compile_json_schema, compile_regex
from tests.helpers.vocab_fixtures import gguf_vocab


@pytest.fixture(scope="module")
def batch():
    """Twelve matchers over four constraints (and one unconstrained row), each advanced along a
    random allowed path of its own length."""
    vocab = gguf_vocab("smollm2")
    constraints = [
        compile_json_schema({"type": "object", "properties": {"a": {"type": "integer"}}}, vocab),
        compile_json_schema({"type": "array", "items": {"enum": ["red", "green"]}}, vocab),
        compile_grammar('start: "(" start* ")" | /[a-z]+/', vocab),
        compile_regex(r"[A-Z][a-z]+ \d{2,4}", vocab),
    ]
    rng = np.random.default_rng(7)
    matchers = []
    scratch = allocate_token_bitmask(1, vocab.size)
    for row in range(12):
        matcher = constraints[row % len(constraints)].matcher()
        for _ in range(row):
            matcher.fill_next_token_bitmask(scratch, 0)
            allowed = np.flatnonzero(unpack_bitmask(scratch, vocab.size)[0])
            allowed = allowed[~np.isin(allowed, list(vocab.eos_ids))]
            if len(allowed) == 0:
                break
            assert matcher.advance(int(rng.choice(allowed)))
        matchers.append(matcher)
    matchers.insert(5, None)
    return vocab, matchers


def one_by_one(matchers, vocab_size):
    rows, needed = [], []
    for matcher in matchers:
        single = allocate_token_bitmask(1, vocab_size)
        needed.append(False if matcher is None else matcher.fill_next_token_bitmask(single, 0))
        rows.append(single[0])
    return np.stack(rows), needed


@pytest.mark.parametrize("threads", [None, 1, 2, 5, 64])
def test_a_batch_equals_its_rows_filled_alone(batch, threads):
    vocab, matchers = batch
    expected, expected_needed = one_by_one(matchers, vocab.size)
    assert len({row.tobytes() for row in expected}) > 6, "the rows differ: a real batch"
    bitmask = np.zeros((len(matchers), expected.shape[1]), np.int32)
    needed = fill_next_token_bitmasks(matchers, bitmask, threads=threads)
    np.testing.assert_array_equal(bitmask, expected)
    assert needed == expected_needed
    assert needed[5] is False and (bitmask[5] == -1).all(), "no constraint: all allowed"


def test_a_torch_bitmask_and_the_async_fill(batch):
    vocab, matchers = batch
    expected, expected_needed = one_by_one(matchers, vocab.size)
    bitmask = allocate_token_bitmask(len(matchers), vocab.size, backend="torch")
    pending = fill_async(matchers, bitmask, threads=2)
    assert pending.result(timeout=60) == expected_needed
    np.testing.assert_array_equal(bitmask.numpy(), expected)


@pytest.mark.parametrize(
    ("bitmask", "threads", "message"),
    [
        (np.zeros((3, 1536), np.int32), None, r"shape \[13, words\].*got \(3, 1536\)"),
        (np.zeros(1536, np.int32), None, r"shape \[13, words\].*got \(1536,\)"),
        ([[0]], None, "numpy array or a CPU torch tensor, got list"),
        (np.zeros((13, 1536), np.int32), 0, "threads as a positive int or None, got 0"),
        (np.zeros((13, 1536), np.int32), True, "threads as a positive int or None, got True"),
        (np.zeros((13, 7), np.int32), 1, r"int32 bitmask of shape \[batch, 1536\]"),
    ],
)
def test_wrong_inputs_are_refused_by_name(batch, bitmask, threads, message):
    _, matchers = batch
    with pytest.raises(ConfigurationError, match=message):
        fill_next_token_bitmasks(matchers, bitmask, threads=threads)


def test_the_async_fill_reraises_what_the_fill_raised(batch):
    _, matchers = batch
    pending = fill_async(matchers, torch.zeros(13, 7, dtype=torch.int32))
    with pytest.raises(ConfigurationError, match=r"shape \[batch, 1536\]"):
        pending.result(timeout=60)
