"""Temperature, top-k and top-p against a pure-Python oracle; the seeded generator; draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from structgen.decoding import Processing, make_rng
from structgen.decoding.processing import draw
from structgen.errors import ConfigurationError


def _oracle(logits, temperature, top_k, top_p):
    """Probabilities after temperature, top-k (ties at the cut kept), top-p (smallest prefix of
    the likeliest whose mass reaches top_p), renormalised: plain Python, sorted lists."""
    scaled = [x / temperature for x in logits]
    keep = set(range(len(scaled)))
    if top_k is not None and top_k < len(scaled):
        cut = sorted(scaled, reverse=True)[top_k - 1]
        keep = {i for i in keep if scaled[i] >= cut}
    top = max(scaled[i] for i in keep)
    weights = {i: math.exp(scaled[i] - top) for i in keep}
    total = sum(weights.values())
    probs = {i: w / total for i, w in weights.items()}
    if top_p is not None and top_p < 1:
        order = sorted(probs, key=lambda i: (-probs[i], i))
        kept, mass = [], 0.0
        for i in order:
            if mass >= top_p:
                break
            kept.append(i)
            mass += probs[i]
        total = sum(probs[i] for i in kept)
        probs = {i: probs[i] / total for i in kept}
    return [probs.get(i, 0.0) for i in range(len(logits))]


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("top_k", [None, 1, 3, 7])
@pytest.mark.parametrize("top_p", [None, 0.3, 0.9, 1.0])
def test_processing_matches_the_oracle(temperature, top_k, top_p):
    for seed in range(5):
        logits = np.random.default_rng(seed).normal(0, 2, 12).round(1).astype(np.float32)
        got = np.exp(Processing(temperature, top_k, top_p).log_probs(logits))
        expected = _oracle([float(x) for x in logits], temperature, top_k, top_p)
        assert np.allclose(got, expected, atol=1e-12), (logits, got, expected)


def test_truncate_false_applies_the_temperature_only():
    logits = np.array([1.0, 2.0, 3.0])
    got = np.exp(Processing(2.0, top_k=1, top_p=0.1).log_probs(logits, truncate=False))
    assert np.allclose(got, _oracle([1.0, 2.0, 3.0], 2.0, None, None))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
    ],
)
def test_bad_options_are_refused(options, match):
    with pytest.raises(ConfigurationError, match=match):
        Processing(**options)


def test_temperature_zero_has_no_distribution():
    with pytest.raises(ConfigurationError, match="argmax"):
        Processing(0.0).log_probs(np.zeros(3))


def test_seeded_generators_repeat():
    a, b = make_rng(42), make_rng(42)
    p = np.array([0.1, 0.0, 0.6, 0.3])
    assert [draw(p, a) for _ in range(50)] == [draw(p, b) for _ in range(50)]


def test_draw_never_returns_a_token_without_mass_and_follows_the_weights():
    rng = make_rng(1)
    p = np.array([0.0, 2.0, 0.0, 6.0, 0.0])  # unnormalised
    counts = np.bincount([draw(p, rng) for _ in range(8000)], minlength=5)
    assert counts[0] == counts[2] == counts[4] == 0
    assert abs(counts[3] / 8000 - 0.75) < 0.03
    with pytest.raises(ConfigurationError, match="mass"):
        draw(np.zeros(3), rng)
