"""The model side of particles: a forked sequence is independent, and a batch of rows (one
forward pass per step) gives each row the logits of its own single sequence, on the toy model
and on a tiny random Llama (no download)."""

from __future__ import annotations

import numpy as np
import pytest

from structgen.decoding import Processing, ToyLM, TransformersLM, make_rng, make_sampler
from structgen.decoding.smc import smc_decode
from structgen.errors import ConfigurationError
from tests.decoding.oracles import EOS, compiled, full_match, small_vocab, text_of


def test_a_toy_batch_scores_every_row_in_one_pass():
    lm = ToyLM.random(9, seed=1)
    prefix = lm.new_sequence()
    prefix.extend([1, 2])
    batch = lm.new_batch(prefix, 3)
    assert len(batch) == 3 and lm.forward_passes == 1
    rows = batch.step([3, 4, 5])
    assert rows.shape == (3, 9) and lm.forward_passes == 2
    for row, token in zip(rows, [3, 4, 5]):
        assert np.array_equal(row, lm.logits([1, 2, token]))
    batch.select([2, 0, 2, 2])
    assert [batch.tokens(i) for i in range(4)] == [[1, 2, 5], [1, 2, 3], [1, 2, 5], [1, 2, 5]]
    rows = batch.step([6, 7, 8, 0])
    assert np.array_equal(rows[1], lm.logits([1, 2, 3, 7]))
    assert lm.forward_passes == 3
    assert prefix.tokens == [1, 2]  # the prefix is left as it was


def test_a_toy_fork_is_independent():
    lm = ToyLM.random(9, seed=1)
    sequence = lm.new_sequence()
    sequence.extend([1, 2, 3])
    twin = sequence.fork()
    assert twin.tokens == [1, 2, 3]
    twin.crop(1)
    twin.extend([4])
    assert sequence.tokens == [1, 2, 3] and twin.tokens == [1, 4]


def test_a_batch_refuses_what_a_model_could_not_do():
    lm = ToyLM.random(5)
    prefix = lm.new_sequence()
    with pytest.raises(ConfigurationError, match="feed the prompt first"):
        lm.new_batch(prefix, 2)
    prefix.extend([1])
    with pytest.raises(ConfigurationError, match="at least one row"):
        lm.new_batch(prefix, 0)
    with pytest.raises(ConfigurationError, match="a sequence of this model"):
        ToyLM.random(5).new_batch(prefix, 2)
    batch = lm.new_batch(prefix, 2)
    with pytest.raises(ConfigurationError, match="one token per row"):
        batch.step([1])
    with pytest.raises(ConfigurationError, match="row indices"):
        batch.select([2])
    with pytest.raises(ConfigurationError, match="token ids"):
        batch.step([1, 9])


@pytest.fixture(scope="module")
def tiny_llama():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=small_vocab().size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    return LlamaForCausalLM(config).eval()


def _single(lm, tokens):
    return lm.new_sequence().extend(tokens)[0]


def test_a_transformers_fork_copies_the_cache(tiny_llama):
    lm = TransformersLM(tiny_llama)
    sequence = lm.new_sequence()
    sequence.extend([3, 1, 4])
    twin = sequence.fork()
    assert np.allclose(twin.extend([5])[0], _single(lm, [3, 1, 4, 5]), atol=1e-5)
    assert np.allclose(sequence.extend([6])[0], _single(lm, [3, 1, 4, 6]), atol=1e-5)
    assert twin.tokens == [3, 1, 4, 5] and sequence.tokens == [3, 1, 4, 6]


def test_a_transformers_batch_reorders_its_cache_rows(tiny_llama):
    lm = TransformersLM(tiny_llama)
    prefix = lm.new_sequence()
    prefix.extend([3, 1, 4])
    batch = lm.new_batch(prefix, 1)
    batch.select([0, 0, 0])  # one row repeated: what a first resampling does
    passes = lm.forward_passes
    rows = batch.step([7, 8, 9])
    assert lm.forward_passes == passes + 1
    for row, token in zip(rows, [7, 8, 9]):
        assert np.allclose(row, _single(lm, [3, 1, 4, token]), atol=1e-5)
    batch.select([2, 2, 0])
    rows = batch.step([1, 2, 3])
    for row, tokens in zip(rows, [[9, 1], [9, 2], [7, 3]]):
        assert np.allclose(row, _single(lm, [3, 1, 4, *tokens]), atol=1e-5)
    batch.select([1])  # the others finished
    assert np.allclose(batch.step([5])[0], _single(lm, [3, 1, 4, 9, 2, 5]), atol=1e-5)
    # the prefix's own cache was copied, not shared
    assert np.allclose(prefix.extend([2])[0], _single(lm, [3, 1, 4, 2]), atol=1e-5)


def test_smc_on_a_transformers_model_is_valid_with_one_pass_per_step(tiny_llama):
    vocab = small_vocab()
    pattern = r"\{\"x\":(1|2){1,3}\}"
    lm = TransformersLM(tiny_llama)
    for seed in range(3):
        passes = lm.forward_passes
        result = smc_decode(
            lm,
            [15, 16],
            sampler=make_sampler("awrs", Processing(temperature=1.0)),
            rng=make_rng(seed),
            matcher=compiled(pattern, vocab).matcher(),
            particles=6,
            eos_ids=[EOS],
            max_new_tokens=20,
            ess_threshold=0.9,
        )
        assert result.finished and full_match(pattern, text_of(vocab, result.tokens))
        steps = max(len(p.tokens) for p in result.particles)
        assert result.stats.forward_passes == lm.forward_passes - passes == steps
