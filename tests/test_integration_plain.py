"""``ConstrainedLogits``, the per-request ``(token_ids, logits) -> logits`` callable. Oracles:
single-token checks (``accepts``) of a matcher advanced along the same tokens, and ``re``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from structgen.decoding import ToyLM
from structgen.errors import MatcherError
from structgen.integrations.plain import ConstrainedLogits
from tests.decoding.oracles import (
    EOS,
    allowed_by_accepts,
    compiled,
    full_match,
    small_vocab,
    text_of,
)

PATTERN = r'\{"x":(1|2|12)+\}'


def expected_logits(constraint, tokens, logits) -> np.ndarray:
    """``logits`` with -inf wherever a fresh matcher, advanced along ``tokens``, refuses."""
    matcher = constraint.matcher()
    for token in tokens:
        assert matcher.advance(token)
    allowed = np.array(allowed_by_accepts(matcher, len(logits)))
    return np.where(allowed, logits, -np.inf)


def test_a_greedy_custom_loop_stays_in_the_constraint():
    vocab = small_vocab()
    constraint = compiled(PATTERN, vocab)
    lm = ToyLM.random(vocab.size, seed=4)
    constrain = ConstrainedLogits(constraint)
    tokens: list[int] = []
    while len(tokens) < 30:
        raw = lm.logits(tokens)
        masked = constrain(tokens, raw.copy())
        np.testing.assert_array_equal(masked, expected_logits(constraint, tokens, raw))
        token = int(np.argmax(masked))
        if token == EOS:
            break
        tokens.append(token)
    assert tokens[-1:] != [EOS] and full_match(PATTERN, text_of(vocab, tokens))


def test_it_follows_rollbacks_and_new_sequences():
    vocab = small_vocab()
    constraint = compiled(PATTERN, vocab)
    constrain = ConstrainedLogits(constraint)
    raw = np.zeros(vocab.size, np.float32)
    brace, x_key, one, two = 5, 9, 12, 13
    for tokens in (
        [brace, x_key, one],
        [brace, x_key, one, two],
        [brace, x_key],  # rolled back
        [brace, x_key, two, one],  # a different continuation
        [],  # a new sequence
        [8],  # '{"' from the start
    ):
        out = constrain(tokens, raw.copy())
        np.testing.assert_array_equal(out, expected_logits(constraint, tokens, raw))


def test_torch_and_two_dimensional_logits():
    vocab = small_vocab()
    constraint = compiled(PATTERN, vocab)
    raw = np.arange(vocab.size, dtype=np.float32)
    expected = expected_logits(constraint, [5], raw)
    constrain = ConstrainedLogits(constraint)
    out = constrain([5], torch.from_numpy(raw.copy()).to(torch.bfloat16))
    np.testing.assert_array_equal(out.to(torch.float32).numpy(), expected)
    wider = np.concatenate([raw, [7.0, 8.0]])[None, :]  # the model's logits are wider
    out = constrain([5], wider)
    np.testing.assert_array_equal(out[0], np.concatenate([expected, [-np.inf, -np.inf]]))


def test_a_token_the_constraint_refuses_is_named():
    constrain = ConstrainedLogits(compiled(PATTERN, small_vocab()))
    with pytest.raises(MatcherError, match="token 1 at position 0 .*not allowed"):
        constrain([1], np.zeros(17, np.float32))
