"""Logits processing (temperature, top-k, top-p) and the seeded random generator of a run.

:class:`Processing` turns one row of logits into the *processed* next-token distribution every
sampler targets (masked by the constraint afterwards): divide by the temperature, keep the
``top_k`` highest logits (ties at the cut kept), then keep the smallest set of most likely
tokens whose probability reaches ``top_p``. A temperature of 0 means argmax decoding: the
distribution is never needed, only the order of the logits.

Random choices come from one ``numpy.random.Generator`` per run (:func:`make_rng`), so a seed
makes a run reproducible and no global random state is touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from structgen.errors import ConfigurationError

__all__ = ["Processing", "draw", "log_softmax", "make_rng"]


def make_rng(seed: int | None) -> np.random.Generator:
    """The generator of one run: seeded (reproducible) or fresh from the OS."""
    return np.random.default_rng(seed)


def log_softmax(values: np.ndarray) -> np.ndarray:
    """Normalised log-probabilities (float64) of ``values``; ``-inf`` entries stay ``-inf``."""
    x = np.asarray(values, dtype=np.float64)
    top = np.max(x)
    if not np.isfinite(top):
        raise ConfigurationError("every logit is -inf (or one is nan/+inf): nothing to sample")
    shifted = x - top
    return shifted - math.log(float(np.exp(shifted).sum()))


def draw(probabilities: np.ndarray, rng: np.random.Generator) -> int:
    """One index drawn with chance proportional to ``probabilities`` (non-negative, not
    necessarily normalised, some entry positive): inverse CDF with one uniform number."""
    cdf = np.cumsum(probabilities)
    total = float(cdf[-1])
    if not total > 0:
        raise ConfigurationError("cannot draw from a distribution without mass")
    index = int(np.searchsorted(cdf, rng.random() * total, side="right"))
    if index >= len(cdf):  # u * total rounded up to total: the last token with mass
        index = int(np.flatnonzero(probabilities)[-1])
    return index


@dataclass(frozen=True, slots=True)
class Processing:
    """Temperature, top-k and top-p, checked once; :meth:`log_probs` applies them."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise ConfigurationError(
                f"temperature must be 0 (greedy) or a positive finite number, not {t!r}"
            )
        k = self.top_k
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise ConfigurationError(f"top_k must be a positive int or None, not {k!r}")
        p = self.top_p
        if p is not None and (
            isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1
        ):
            raise ConfigurationError(f"top_p must be a number in (0, 1] or None, not {p!r}")

    @property
    def greedy(self) -> bool:
        """Temperature 0: the choice is an argmax, no distribution is formed."""
        return self.temperature == 0

    def log_probs(self, logits: np.ndarray, *, truncate: bool = True) -> np.ndarray:
        """The processed distribution as float64 log-probabilities (``-inf`` = removed).

        ``truncate=False`` applies the temperature only (the fallback when top-k / top-p leave
        no token the constraint allows)."""
        if self.greedy:
            raise ConfigurationError("temperature 0 has no distribution: decode by argmax")
        x = np.asarray(logits, dtype=np.float64) / self.temperature
        if truncate and self.top_k is not None and self.top_k < x.shape[0]:
            cut = np.partition(x, x.shape[0] - self.top_k)[x.shape[0] - self.top_k]
            x = np.where(x >= cut, x, -np.inf)
        logp = log_softmax(x)
        if truncate and self.top_p is not None and self.top_p < 1:
            order = np.argsort(-logp, kind="stable")
            mass_before = np.cumsum(np.exp(logp[order])) - np.exp(logp[order])
            drop = order[mass_before >= self.top_p]
            if drop.size:
                logp = logp.copy()
                logp[drop] = -np.inf
                logp = log_softmax(logp)
        return logp
