"""The model interface: the toy model, and a transformers causal LM (a tiny random Llama built
from a config, no download) whose block passes must match one-token passes."""

from __future__ import annotations

import numpy as np
import pytest

from structgen.decoding import Processing, ToyLM, TransformersLM, decode, make_rng, make_sampler
from structgen.errors import ConfigurationError
from tests.decoding.oracles import EOS, compiled, full_match, small_vocab, text_of


def test_toy_extend_returns_the_logits_after_each_requested_position():
    lm = ToyLM.random(9, seed=1)
    sequence = lm.new_sequence()
    rows = sequence.extend([1, 2, 3], num_logits=2)
    assert rows.shape == (2, 9) and rows.dtype == np.float32
    assert np.array_equal(rows[0], lm.logits([1, 2]))
    assert np.array_equal(rows[1], lm.logits([1, 2, 3]))
    sequence.crop(1)
    assert sequence.tokens == [1] and len(sequence) == 1
    assert np.array_equal(sequence.extend([4])[0], lm.logits([1, 4]))
    assert lm.forward_passes == 2


def test_toy_refuses_what_a_model_could_not_do():
    lm = ToyLM.random(5)
    sequence = lm.new_sequence()
    with pytest.raises(ConfigurationError, match="num_logits"):
        sequence.extend([1], num_logits=2)
    with pytest.raises(ConfigurationError, match="token ids"):
        sequence.extend([7])
    with pytest.raises(ConfigurationError, match="crop"):
        sequence.crop(1)
    with pytest.raises(ConfigurationError, match="shape"):
        ToyLM(4, lambda context: np.zeros(3)).new_sequence().extend([1])


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


def test_a_block_pass_gives_the_logits_of_one_token_passes(tiny_llama):
    lm = TransformersLM(tiny_llama)
    assert lm.vocab_size == small_vocab().size
    tokens = [3, 1, 4, 1, 5, 9, 2, 6]
    one_by_one = lm.new_sequence()
    singles = np.stack([one_by_one.extend([t])[0] for t in tokens])
    block = lm.new_sequence()
    first = block.extend(tokens[:3], num_logits=3)
    rest = block.extend(tokens[3:], num_logits=5)
    assert np.allclose(np.concatenate([first, rest]), singles, atol=1e-5)
    # crop back and take another path: the cache forgets the cropped tokens
    block.crop(4)
    again = block.extend([7, 8], num_logits=2)
    fresh = lm.new_sequence().extend([*tokens[:4], 7, 8], num_logits=2)
    assert block.tokens == [*tokens[:4], 7, 8]
    assert np.allclose(again, fresh, atol=1e-5)
    assert lm.forward_passes == len(tokens) + 2 + 1 + 1


def test_jump_forward_on_a_transformers_model_changes_no_token(tiny_llama):
    vocab = small_vocab()
    pattern = r"\{\"x\":(1|2){1,3}\}"
    lm = TransformersLM(tiny_llama)
    runs = {}
    for jump in (False, True):
        runs[jump] = decode(
            lm,
            [15, 16],
            sampler=make_sampler("greedy", Processing()),
            rng=make_rng(0),
            matcher=compiled(pattern, vocab).matcher(),
            eos_ids=[EOS],
            max_new_tokens=20,
            jump_forward=jump,
        )
    assert runs[True].tokens == runs[False].tokens
    assert full_match(pattern, text_of(vocab, runs[True].tokens))
    assert runs[True].stats.forward_passes < runs[False].stats.forward_passes


def test_transformers_lm_refuses_other_objects():
    with pytest.raises(ConfigurationError, match="causal language model"):
        TransformersLM(object())
