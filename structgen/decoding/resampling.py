"""Importance weights of a particle population: normalising, effective sample size, resampling.

Weights are kept as logs (a sequence's weight is a product of many step normalisers).
``-inf`` is a weight of zero; a population whose weights are all zero is treated as uniform
(there is nothing to prefer). Two resampling schemes draw ``n`` ancestors with chance
proportional to the weights:

- ``"systematic"``: one uniform ``u`` in ``[0, 1/n)``, ancestors at the quantiles ``u + i/n``
  of the cumulative weights. Particle ``i`` gets ``floor(n w_i)`` or ``ceil(n w_i)`` copies
  (``w`` normalised), never more spread than that, so it adds the least noise; the default.
- ``"multinomial"``: ``n`` independent draws (the textbook scheme, the most noise).

Both are unbiased: the expected number of copies of particle ``i`` is ``n w_i``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from structgen.errors import ConfigurationError

__all__ = [
    "RESAMPLING_SCHEMES",
    "ResamplingScheme",
    "effective_sample_size",
    "log_mean_exp",
    "normalised_weights",
    "resample",
]

ResamplingScheme = Literal["systematic", "multinomial"]
RESAMPLING_SCHEMES: tuple[str, ...] = ("systematic", "multinomial")


def normalised_weights(log_weights: Sequence[float]) -> np.ndarray:
    """The weights ``exp(log_weights)`` scaled to sum to 1 (uniform when all are zero)."""
    logs = np.asarray(log_weights, dtype=np.float64)
    if logs.size == 0:
        raise ConfigurationError("a population needs at least one particle")
    top = float(np.max(logs))
    if np.isnan(logs).any() or top == math.inf:
        raise ConfigurationError(f"log weights must be finite or -inf, got {logs.tolist()}")
    if top == -math.inf:
        return np.full(logs.size, 1.0 / logs.size)
    weights = np.exp(logs - top)
    return weights / weights.sum()


def effective_sample_size(log_weights: Sequence[float]) -> float:
    """``(sum w)^2 / sum w^2``: ``n`` for equal weights, 1 when one particle holds them all."""
    weights = normalised_weights(log_weights)
    return float(1.0 / np.square(weights).sum())


def log_mean_exp(log_weights: Sequence[float]) -> float:
    """``log(mean(exp(log_weights)))`` without overflow (``-inf`` when all weights are zero)."""
    logs = np.asarray(log_weights, dtype=np.float64)
    if logs.size == 0:
        raise ConfigurationError("a population needs at least one particle")
    top = float(np.max(logs))
    if top == -math.inf:
        return -math.inf
    return top + math.log(float(np.exp(logs - top).mean()))


def resample(
    log_weights: Sequence[float],
    rng: np.random.Generator,
    scheme: ResamplingScheme = "systematic",
) -> list[int]:
    """``n`` ancestor indices (sorted) drawn with chance proportional to the weights."""
    weights = normalised_weights(log_weights)
    n = weights.size
    if scheme == "systematic":
        points = (rng.random() + np.arange(n)) / n
    elif scheme == "multinomial":
        points = np.sort(rng.random(n))
    else:
        raise ConfigurationError(
            f"unknown resampling scheme {scheme!r}; choose one of {', '.join(RESAMPLING_SCHEMES)}"
        )
    cumulative = np.cumsum(weights)
    indices = np.searchsorted(cumulative, points, side="right")
    # A point at or past the rounded total lands on the last particle with weight.
    last = int(np.flatnonzero(weights)[-1])
    return [min(int(i), last) for i in indices]
