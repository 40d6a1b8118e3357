"""Samplers: choose the next token from one row of logits under a matcher.

Every sampler targets the same local distribution, the *processed* next-token distribution
``q`` (:class:`~structgen.decoding.processing.Processing`) restricted to the tokens the
constraint allows and renormalised: ``q(x) c(x) / Z`` with ``Z = sum_x q(x) c(x)``. At
temperature 0 each one returns the masked argmax (the lowest id among equal logits). They differ
in how they find it:

- ``"greedy"`` / ``"sample"`` (:class:`MaskSampler`): fill the full token mask, then argmax or
  sample (what transformers' ``generate`` with a masking processor does). Weight: ``log Z``,
  exact.
- ``"awrs"`` (:class:`AWRSSampler`): adaptive weighted rejection sampling (Lipkin et al., "Fast
  Controlled Generation from Language Models with Adaptive Weighted Rejection Sampling", 2025):
  check only the drawn token; exact samples and an unbiased estimate of ``Z`` from a handful of
  single-token checks.

Each call returns a :class:`Choice`: the token, the log importance weight (``log Z`` or its
unbiased estimate; 0 when unconstrained or greedy) and what the constraint cost.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from structgen.decoding.constraint import allowed_tokens
from structgen.decoding.processing import Processing, draw
from structgen.errors import ConfigurationError, MatcherError
from structgen.matcher import Matcher

__all__ = [
    "SAMPLERS",
    "AWRSSampler",
    "Choice",
    "MaskSampler",
    "Sampler",
    "SamplerName",
    "make_sampler",
]

SamplerName = Literal["greedy", "sample", "awrs"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One decided token and its cost.

    ``log_weight``: the log of the local normaliser ``Z`` (or of an unbiased estimate of ``Z``:
    ``exp(log_weight)`` is unbiased); ``-inf`` only when every allowed token has probability 0
    even at the temperature alone (a step with no allowed token raises instead). ``checks``:
    single-token ``accepts`` calls; ``masks``: full masks filled; ``evaluations``: constraint
    evaluations, a full mask counting one per vocabulary token.
    """

    token: int
    log_weight: float = 0.0
    checks: int = 0
    masks: int = 0
    vocab_size: int = 0

    @property
    def evaluations(self) -> int:
        return self.checks + self.masks * self.vocab_size


class Sampler(ABC):
    """Chooses one token per call; ``matcher=None`` means unconstrained."""

    name: ClassVar[str]

    def __init__(self, processing: Processing) -> None:
        self.processing = processing

    @abstractmethod
    def choose(
        self, logits: np.ndarray, matcher: Matcher | None, rng: np.random.Generator
    ) -> Choice:
        """The next token given one row of logits; the matcher is not advanced."""

    def _free(self, logits: np.ndarray, rng: np.random.Generator) -> Choice:
        """The unconstrained choice: argmax, or a draw from the processed distribution."""
        if self.processing.greedy:
            return Choice(int(np.argmax(logits)))
        return Choice(draw(np.exp(self.processing.log_probs(logits)), rng))

    def _masked(
        self, logits: np.ndarray, matcher: Matcher, rng: np.random.Generator, checks: int = 0
    ) -> Choice:
        """The choice from the full mask (exact ``Z``): argmax or a draw."""
        allowed = allowed_tokens(matcher, logits.shape[0])
        if not allowed.any():
            raise MatcherError(
                "the constraint allows no next token (a dead end in the compiled constraint)"
            )
        vocab = matcher.vocab_size
        if self.processing.greedy:
            scores = np.where(allowed, logits, -np.inf)
            token = int(np.argmax(scores))
            if not allowed[token]:  # every allowed logit is -inf
                token = int(np.flatnonzero(allowed)[0])
            return Choice(token, 0.0, checks, 1, vocab)
        mass = np.exp(self.processing.log_probs(logits)) * allowed
        total = float(mass.sum())
        if not total > 0:  # top-k / top-p removed every allowed token: temperature only
            mass = np.exp(self.processing.log_probs(logits, truncate=False)) * allowed
            total = float(mass.sum())
        if not total > 0:
            token = int(np.flatnonzero(allowed)[0])
            return Choice(token, -math.inf, checks, 1, vocab)
        return Choice(draw(mass, rng), math.log(total), checks, 1, vocab)


class MaskSampler(Sampler):
    """Fill the full mask every step, then argmax (``"greedy"``) or sample (``"sample"``)."""

    name = "sample"

    def choose(
        self, logits: np.ndarray, matcher: Matcher | None, rng: np.random.Generator
    ) -> Choice:
        if matcher is None:
            return self._free(logits, rng)
        return self._masked(logits, matcher, rng)


class AWRSSampler(Sampler):
    """Adaptive weighted rejection sampling (Lipkin et al., 2025, arXiv:2504.05410).

    Draw ``x`` from the processed distribution ``q`` with the rejected tokens removed; check
    only ``x``. A rejected ``x`` leaves the support (its mass joins the rejected mass ``R``)
    and the draw repeats. An accepted ``x`` is an exact sample of ``q c / Z`` (sampling without
    replacement until the first allowed token). The weight follows the paper's recursive
    estimator: draw one more token ``y`` from what is left without ``x`` and check it;
    ``Z_hat = 1 - R`` when ``y`` is allowed (or nothing is left), else ``q(x)``. Unbiased:
    rejecting ``r`` gives ``Z = (1 - q_k(r)) Z_next`` exactly, and accepting ``x`` gives
    ``Z_k = q_k(x) + (1 - q_k(x)) P(y allowed)``, estimated by the one check of ``y``; the
    product telescopes to the two cases above.

    After :meth:`rejection_limit` rejections in one step the sampler stops guessing and fills
    the full mask: the rejected tokens are disallowed anyway, so the masked draw has the same
    distribution, and its weight is the exact ``Z`` (an unbiased estimate with zero variance).
    At temperature 0 it checks tokens in decreasing logit order (lowest id first among ties)
    and returns the first allowed one: the masked argmax, usually after one check.
    """

    name = "awrs"

    def __init__(self, processing: Processing, *, max_rejections: int | None = None) -> None:
        super().__init__(processing)
        if max_rejections is not None and (
            isinstance(max_rejections, bool)
            or not isinstance(max_rejections, int)
            or max_rejections < 0
        ):
            raise ConfigurationError(
                f"max_rejections must be an int >= 0 or None, not {max_rejections!r}"
            )
        self.max_rejections = max_rejections

    def rejection_limit(self, vocab_size: int) -> int:
        """Rejections allowed in one step before the full mask: ``max_rejections``, or by
        default ``max(64, vocab_size // 32)`` (1536 for a 49k vocabulary: still 32 times fewer
        evaluations than a mask, and a few milliseconds of single-token checks at worst)."""
        if self.max_rejections is not None:
            return self.max_rejections
        return max(64, vocab_size // 32)

    def choose(
        self, logits: np.ndarray, matcher: Matcher | None, rng: np.random.Generator
    ) -> Choice:
        if matcher is None:
            return self._free(logits, rng)
        if self.processing.greedy:
            return self._lazy_argmax(logits, matcher, rng)
        return self._rejection(logits, matcher, rng)

    def _lazy_argmax(
        self, logits: np.ndarray, matcher: Matcher, rng: np.random.Generator
    ) -> Choice:
        scores = np.array(logits, dtype=np.float64)
        scores[matcher.vocab_size :] = -np.inf
        checks = 0
        for token in _descending(scores, self.rejection_limit(matcher.vocab_size)):
            checks += 1
            if matcher.accepts(token):
                return Choice(token, 0.0, checks, 0, matcher.vocab_size)
        return self._masked(logits, matcher, rng, checks)

    def _rejection(self, logits: np.ndarray, matcher: Matcher, rng: np.random.Generator) -> Choice:
        # Unnormalised bookkeeping over the original q: the urn holds q(i) until i is rejected
        # (then 0), so its mass is 1 - R. Columns past the matcher's vocabulary are known
        # rejections, removed up front (the same identity as a checked rejection).
        mass = np.exp(self.processing.log_probs(logits))
        mass[matcher.vocab_size :] = 0.0
        urn = _Urn(mass)
        checks = 0
        limit = self.rejection_limit(matcher.vocab_size)
        while checks < limit:  # every check so far was a rejection
            token = urn.draw(rng)
            if token is None:
                break  # the support is exhausted: the full mask decides (fallback inside)
            checks += 1
            if not matcher.accepts(token):
                urn.remove(token)
                continue
            remaining = urn.mass_left()
            q_token = float(mass[token])
            urn.remove(token)
            other = urn.draw(rng)
            if other is None:  # token was the last one left: Z_k = 1
                estimate = remaining
            else:
                checks += 1
                estimate = remaining if matcher.accepts(other) else q_token
            return Choice(token, math.log(estimate), checks, 0, matcher.vocab_size)
        return self._masked(logits, matcher, rng, checks)


class _Urn:
    """Draws without replacement from unnormalised masses (changed in place: a removed token's
    mass becomes 0). Draws search a cumulative table rebuilt only once half of its mass has
    been removed: a draw from the stale table, kept only when its token is still in, has exactly
    the current distribution, and is kept with chance at least one half — so a rejection costs
    O(log V), not O(V)."""

    __slots__ = ("_cdf", "_removed", "_total", "mass")

    def __init__(self, mass: np.ndarray) -> None:
        self.mass = mass
        self._rebuild()

    def _rebuild(self) -> None:
        self._cdf = np.cumsum(self.mass)
        self._total = float(self._cdf[-1])
        self._removed = 0.0

    def mass_left(self) -> float:
        return float(self.mass.sum())

    def remove(self, token: int) -> None:
        self._removed += float(self.mass[token])
        self.mass[token] = 0.0

    def draw(self, rng: np.random.Generator) -> int | None:
        """A token drawn proportionally to its mass, or None when no mass is left."""
        if self._removed > self._total / 2:
            self._rebuild()
        for _ in range(32):  # each try succeeds with chance >= 1/2
            if not self._total > self._removed:
                break
            index = int(np.searchsorted(self._cdf, rng.random() * self._total, side="right"))
            index = min(index, len(self._cdf) - 1)
            if self.mass[index] > 0:
                return index
        return draw(self.mass, rng) if self.mass.any() else None


def _descending(scores: np.ndarray, limit: int) -> Iterator[int]:
    """Up to ``limit`` token ids in decreasing score order, the lowest id first among equal
    scores, stopping at ``-inf``: a sorted top slice first (every tie at its cut included), the
    rest sorted only if the walk goes past it."""
    size = scores.shape[0]
    count = min(limit, size, 64)
    if count < 1:
        return
    cut = np.partition(scores, size - count)[size - count]
    top = np.flatnonzero(scores >= cut)
    slices = [top[np.lexsort((top, -scores[top]))]]
    given = 0
    while slices:
        for token in slices.pop():
            if given >= limit or not scores[token] > -np.inf:
                return
            given += 1
            yield int(token)
        if given == len(top):  # the top slice is exhausted: sort the rest once
            rest = np.flatnonzero(scores < cut)
            slices.append(rest[np.lexsort((rest, -scores[rest]))])


SAMPLERS: dict[str, type[Sampler]] = {
    "greedy": MaskSampler,
    "sample": MaskSampler,
    "awrs": AWRSSampler,
}


def make_sampler(name: str, processing: Processing, **options: int) -> Sampler:
    """The sampler registered as ``name``; ``"greedy"`` forces temperature 0."""
    cls = SAMPLERS.get(name)
    if cls is None:
        raise ConfigurationError(
            f"unknown sampler {name!r}; choose one of {', '.join(sorted(SAMPLERS))}"
        )
    if name == "greedy":
        processing = Processing(temperature=0.0)
    return cls(processing, **options)
