"""Samplers against exact, enumerated distributions on a toy vocabulary.

The oracle is pure Python (``tests/decoding/oracles.py``): the processed distribution of a
row of logits, masked by the tokens ``Matcher.accepts`` allows, gives the exact normaliser
``Z`` and the masked distribution; outputs are checked with ``re.fullmatch``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from structgen.decoding import AWRSSampler, MaskSampler, Processing, ToyLM, decode, make_rng
from structgen.decoding.samplers import make_sampler
from structgen.errors import ConfigurationError
from tests.decoding.oracles import (
    EOS,
    allowed_by_accepts,
    chi_square_pvalue,
    compiled,
    exact_step,
    full_match,
    letters_vocab,
    small_vocab,
    text_of,
)

VOCAB = small_vocab()
V = VOCAB.size


def _state(pattern: str, prefix: list[int]):
    matcher = compiled(pattern, VOCAB).matcher()
    for token in prefix:
        assert matcher.advance(token)
    return matcher


# (pattern, tokens already taken, temperature): permissive, narrow (one cheap token allowed),
# a state where EOS competes, and a low temperature.
CASES = [
    (r"(a|b|ab|ba|c| )+", [], 1.0),
    (r"(ab|ba)+", [1], 1.0),
    (r"(ab|ba)+", [3], 1.0),
    (r"\{\"x\":(1|2)+\}", [8, 10, 7, 11, 12], 0.7),
]


def _row(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 2.0, V).astype(np.float32)


@pytest.mark.parametrize(("pattern", "prefix", "temperature"), CASES)
def test_mean_awrs_weight_is_the_exact_normaliser(pattern, prefix, temperature):
    matcher = _state(pattern, prefix)
    sampler = AWRSSampler(Processing(temperature=temperature))
    rng = make_rng(2025)
    for seed in (1, 2):
        row = _row(seed)
        z, _ = exact_step(row, allowed_by_accepts(matcher, V), temperature)
        weights = np.array(
            [math.exp(sampler.choose(row, matcher, rng).log_weight) for _ in range(20000)]
        )
        error = weights.std() / math.sqrt(len(weights))
        assert abs(weights.mean() - z) < 4 * error + 1e-12, (weights.mean(), z, error)
        assert (weights > 0).all()


def test_the_weight_test_can_tell_a_biased_estimate():
    """The naive estimate (1 - rejected mass) overestimates Z; at this sample size the test
    above would reject it, so it has the power to catch a wrong estimator."""
    matcher = _state(r"(ab|ba)+", [1])
    row = _row(1)
    allowed = allowed_by_accepts(matcher, V)
    z, _ = exact_step(row, allowed)
    q = np.exp(Processing().log_probs(row))
    rng = make_rng(7)
    naive = []
    for _ in range(20000):
        mass = q.copy()
        while True:
            token = int(rng.choice(V, p=mass / mass.sum()))
            if allowed[token]:
                naive.append(mass.sum())
                break
            mass[token] = 0.0
    naive = np.array(naive)
    assert naive.mean() - z > 4 * naive.std() / math.sqrt(len(naive))


@pytest.mark.parametrize("sampler_cls", [AWRSSampler, MaskSampler])
@pytest.mark.parametrize(("pattern", "prefix", "temperature"), CASES)
def test_samples_follow_the_masked_distribution(sampler_cls, pattern, prefix, temperature):
    matcher = _state(pattern, prefix)
    sampler = sampler_cls(Processing(temperature=temperature))
    row = _row(3)
    _, dist = exact_step(row, allowed_by_accepts(matcher, V), temperature)
    rng = make_rng(11)
    n = 20000
    counts = np.bincount([sampler.choose(row, matcher, rng).token for _ in range(n)], minlength=V)
    assert all(counts[t] == 0 for t in range(V) if dist[t] == 0.0)
    assert chi_square_pvalue(counts, [n * p for p in dist]) > 1e-3


def test_top_k_and_top_p_restrict_the_target_before_the_mask():
    matcher = _state(r"(a|b|ab|ba|c| )+", [])
    row = _row(4)
    processing = Processing(temperature=1.0, top_k=6, top_p=0.9)
    q = np.exp(processing.log_probs(row))
    allowed = np.array(allowed_by_accepts(matcher, V))
    expected = q * allowed / (q * allowed).sum()
    rng = make_rng(5)
    n = 20000
    for sampler in (AWRSSampler(processing), MaskSampler(processing)):
        counts = np.bincount(
            [sampler.choose(row, matcher, rng).token for _ in range(n)], minlength=V
        )
        assert all(counts[t] == 0 for t in range(V) if expected[t] == 0.0)
        assert chi_square_pvalue(counts, n * expected) > 1e-3


def test_every_allowed_token_truncated_away_falls_back_to_temperature_only():
    matcher = _state(r"(ab|ba)+", [1])  # allows b (2) and ba (4)
    row = np.zeros(V, dtype=np.float32)
    row[5] = 10.0  # top_k=1 keeps only "{", which is not allowed
    processing = Processing(temperature=1.0, top_k=1)
    for sampler in (AWRSSampler(processing), MaskSampler(processing)):
        tokens = {sampler.choose(row, matcher, make_rng(s)).token for s in range(40)}
        assert tokens == {2, 4}


def test_awrs_at_temperature_zero_is_the_masked_argmax_with_ties():
    matcher = _state(r"(a|b|ab|ba|c| )+", [])
    greedy = MaskSampler(Processing(temperature=0.0))
    lazy = AWRSSampler(Processing(temperature=0.0))
    allowed = allowed_by_accepts(matcher, V)
    rng = make_rng(0)
    for seed in range(200):
        row = np.round(np.random.default_rng(seed).normal(0.0, 1.0, V)).astype(np.float32)
        best = max(float(row[t]) for t in range(V) if allowed[t])
        expected = min(t for t in range(V) if allowed[t] and float(row[t]) == best)
        assert greedy.choose(row, matcher, rng).token == expected
        assert lazy.choose(row, matcher, rng).token == expected


def test_awrs_checks_few_tokens_on_a_permissive_constraint():
    vocab = letters_vocab()
    grammar = compiled(r"[a-j ]*", vocab)
    lm = ToyLM.random(vocab.size, seed=9)
    runs = {}
    for name in ("awrs", "sample"):
        decoded = decode(
            lm,
            [1],
            sampler=make_sampler(name, Processing(temperature=1.0)),
            rng=make_rng(3),
            matcher=grammar.matcher(),
            eos_ids=[EOS],
            max_new_tokens=40,
        )
        assert full_match(r"[a-j ]*", text_of(vocab, decoded.tokens))
        runs[name] = decoded.stats
    assert runs["sample"].evaluations_per_token == vocab.size
    assert runs["awrs"].masks == 0
    assert runs["awrs"].evaluations_per_token < 4  # vs 1202 for the full mask


def test_awrs_falls_back_to_the_mask_when_rejections_pile_up():
    matcher = _state(r"(ab|ba)+", [1])
    row = np.full(V, 5.0, dtype=np.float32)
    row[2] = row[4] = -5.0  # the allowed tokens are very unlikely
    sampler = AWRSSampler(Processing(temperature=1.0), max_rejections=3)
    choice = sampler.choose(row, matcher, make_rng(1))
    assert choice.token in (2, 4)
    assert choice.masks == 1 and choice.checks == 3
    z, _ = exact_step(row, allowed_by_accepts(matcher, V))
    assert math.isclose(math.exp(choice.log_weight), z, rel_tol=1e-9)


PATTERNS = [r"(ab|ba){1,3}", r"\{\"x\":(1|2){1,4}\}", r"(a|b|c)( (a|b|c)){0,3}"]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("name", ["greedy", "sample", "awrs"])
@pytest.mark.parametrize("jump_forward", [True, False])
def test_every_sampler_output_satisfies_the_constraint(pattern, name, jump_forward):
    grammar = compiled(pattern, VOCAB)
    for seed in range(8):
        decoded = decode(
            ToyLM.random(V, seed=seed),
            [15],
            sampler=make_sampler(name, Processing(temperature=1.3)),
            rng=make_rng(seed),
            matcher=grammar.matcher(),
            eos_ids=[EOS],
            max_new_tokens=40,
            jump_forward=jump_forward,
        )
        assert decoded.finished and decoded.tokens[-1] == EOS
        assert full_match(pattern, text_of(VOCAB, decoded.tokens)), decoded.tokens


def test_unknown_sampler_and_bad_options_are_refused():
    with pytest.raises(ConfigurationError, match="unknown sampler 'beam'"):
        make_sampler("beam", Processing())
    with pytest.raises(ConfigurationError, match="max_rejections"):
        AWRSSampler(Processing(), max_rejections=-1)


def test_deep_rejection_walks_stay_exact_on_a_larger_vocabulary():
    """Allowed tokens hold ~7% of the mass and sit below most others: AWRS rejects many tokens
    per step (stale cumulative tables, rebuilds, the lazy order past its first slice), and its
    draws, weights and argmax still match the exact masked distribution."""
    vocab = letters_vocab()
    size = vocab.size
    matcher = compiled(r"[0-9][A-I]", vocab).matcher()
    allowed = allowed_by_accepts(matcher, size)
    row = np.random.default_rng(8).normal(0.0, 1.0, size).astype(np.float32)
    row[np.array(allowed)] -= 1.5
    z, dist = exact_step(row, allowed)
    sampler = AWRSSampler(Processing(temperature=1.0), max_rejections=size)
    rng = make_rng(21)
    n = 4000
    choices = [sampler.choose(row, matcher, rng) for _ in range(n)]
    assert all(c.masks == 0 for c in choices)
    assert np.mean([c.checks for c in choices]) > 20
    counts = np.bincount([c.token for c in choices], minlength=size)
    expected = [n * p for p in dist]
    assert all(counts[t] == 0 for t in range(size) if dist[t] == 0.0)
    assert chi_square_pvalue(counts, expected) > 1e-3
    weights = np.exp([c.log_weight for c in choices])
    assert abs(weights.mean() - z) < 4 * weights.std() / math.sqrt(n)

    tied = np.round(row * 2) / 2  # many equal scores, allowed ones deep in the order
    best = max(float(tied[t]) for t in range(size) if allowed[t])
    expected_argmax = min(t for t in range(size) if allowed[t] and float(tied[t]) == best)
    lazy = AWRSSampler(Processing(temperature=0.0), max_rejections=size)
    choice = lazy.choose(tied, matcher, rng)
    assert choice.token == expected_argmax and choice.masks == 0 and choice.checks > 64
