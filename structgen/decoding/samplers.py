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

Speculative decoding asks two more things of a sampler. :meth:`Sampler.verify` decides a
position where a token was drafted, so that the output is still an exact draw of the masked
distribution ``p``: for a deterministic draft (a point mass) the sampler decides as
:meth:`~Sampler.choose` would and the draft is kept when it chose the drafted token — that keeps
``x`` with chance ``p(x)`` and otherwise yields a draw of ``p`` without ``x``, renormalised: the
speculative-sampling rule for a point-mass proposal. For a token drawn from a draft model's
distribution ``q`` (when :meth:`Sampler.propose` returned it), ``"sample"`` applies
``min(1, p(x)/q(x))`` and the residual ``(p - q)+``. :meth:`Sampler.propose` draws a draft
model's token from its own logits under the (forked) matcher.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
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

    def verify(
        self,
        logits: np.ndarray,
        matcher: Matcher | None,
        rng: np.random.Generator,
        token: int,
        proposal: np.ndarray | None = None,
    ) -> Choice:
        """Decide a position where ``token`` was drafted (the draft is kept iff the returned
        token is ``token``); ``token`` is known to be allowed (forced, or checked on a fork).

        ``proposal=None`` (a point mass): decide as :meth:`choose` does — the draft is kept
        with chance ``p(token)``, else the choice is a draw of ``p`` without ``token`` (exactly
        the speculative residual), and the random numbers are consumed as without a draft.
        A ``proposal`` (the distribution ``token`` was drawn from, see :meth:`propose`) is used
        by samplers that know ``p`` in full; the others treat the draft as a point mass, which
        is exact for any draft, only less often kept."""
        return self.choose(logits, matcher, rng)

    def propose(
        self, logits: np.ndarray, matcher: Matcher | None, rng: np.random.Generator
    ) -> tuple[Choice, np.ndarray | None]:
        """A draft model's token from its own ``logits`` under ``matcher`` (an allowed token),
        with the distribution it was drawn from when :meth:`verify` uses it (else None).

        At temperature 0: the masked argmax, found lazily (tokens checked in decreasing logit
        order, a full mask only after many refusals). Otherwise a draw as :meth:`choose`."""
        if self.processing.greedy and matcher is not None:
            return _lazy_argmax(logits, matcher, rng, self._masked, _default_limit(matcher)), None
        return self.choose(logits, matcher, rng), None

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
        mass, total = self._masked_mass(logits, allowed)
        if not total > 0:
            token = int(np.flatnonzero(allowed)[0])
            return Choice(token, -math.inf, checks, 1, vocab)
        return Choice(draw(mass, rng), math.log(total), checks, 1, vocab)

    def _masked_mass(
        self, logits: np.ndarray, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, float]:
        """The processed distribution times the mask (``allowed=None``: no mask) and its
        total; top-k / top-p are dropped when they leave no allowed token."""
        mass = np.exp(self.processing.log_probs(logits))
        if allowed is None:
            return mass, float(mass.sum())
        mass *= allowed
        total = float(mass.sum())
        if not total > 0:  # top-k / top-p removed every allowed token: temperature only
            mass = np.exp(self.processing.log_probs(logits, truncate=False)) * allowed
            total = float(mass.sum())
        return mass, total


class MaskSampler(Sampler):
    """Fill the full mask every step, then argmax (``"greedy"``) or sample (``"sample"``).

    Speculative sampling with a draft model (Leviathan et al., 2023; Chen et al., 2023): the
    masked target ``p`` is known in full, so a token ``x`` drawn from the draft's masked ``q``
    is kept with chance ``min(1, p(x)/q(x))``, else the choice is a draw of the residual
    ``(p - q)+`` renormalised; the output is an exact draw of ``p``."""

    name = "sample"

    def choose(
        self, logits: np.ndarray, matcher: Matcher | None, rng: np.random.Generator
    ) -> Choice:
        if matcher is None:
            return self._free(logits, rng)
        return self._masked(logits, matcher, rng)

    def propose(
        self, logits: np.ndarray, matcher: Matcher | None, rng: np.random.Generator
    ) -> tuple[Choice, np.ndarray | None]:
        if self.processing.greedy:
            return super().propose(logits, matcher, rng)
        allowed = None if matcher is None else allowed_tokens(matcher, logits.shape[0])
        if allowed is not None and not allowed.any():
            raise MatcherError(
                "the constraint allows no next token (a dead end in the compiled constraint)"
            )
        mass, total = self._masked_mass(logits, allowed)
        masks, vocab = (0, 0) if matcher is None else (1, matcher.vocab_size)
        if not total > 0:  # no mass at all: a point mass on the first allowed token
            token = int(np.flatnonzero(allowed)[0]) if allowed is not None else 0
            return Choice(token, -math.inf, 0, masks, vocab), None
        token = draw(mass, rng)
        return Choice(token, math.log(total), 0, masks, vocab), mass / total

    def verify(
        self,
        logits: np.ndarray,
        matcher: Matcher | None,
        rng: np.random.Generator,
        token: int,
        proposal: np.ndarray | None = None,
    ) -> Choice:
        if proposal is None or self.processing.greedy:
            return self.choose(logits, matcher, rng)
        width = logits.shape[0]
        allowed = None if matcher is None else allowed_tokens(matcher, width)
        masks, vocab = (0, 0) if matcher is None else (1, matcher.vocab_size)
        mass, total = self._masked_mass(logits, allowed)
        if not total > 0:
            return self.choose(logits, matcher, rng)
        p = mass / total
        q = np.zeros(width)
        shared = min(width, proposal.shape[0])
        q[:shared] = proposal[:shared]
        weight = math.log(total)
        if token < width and rng.random() * q[token] < p[token]:
            return Choice(int(token), weight, 0, masks, vocab)
        residual = np.maximum(p - q, 0.0)
        if not residual.sum() > 0:  # p == q up to rounding: the rejection was a rounding tie
            residual = p
        return Choice(draw(residual, rng), weight, 0, masks, vocab)


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
        return self._decide(logits, matcher, rng, None)

    def verify(
        self,
        logits: np.ndarray,
        matcher: Matcher | None,
        rng: np.random.Generator,
        token: int,
        proposal: np.ndarray | None = None,
    ) -> Choice:
        """A point-mass verification whatever the proposal (``p`` is never known in full):
        the draw is made as :meth:`choose` makes it, with the drafted token already known to
        be allowed, so landing on it costs no check (the weight is unchanged: it reads only
        whether tokens are allowed, not how that was learnt)."""
        return self._decide(logits, matcher, rng, int(token))

    def propose(
        self, logits: np.ndarray, matcher: Matcher | None, rng: np.random.Generator
    ) -> tuple[Choice, np.ndarray | None]:
        return self.choose(logits, matcher, rng), None

    def _decide(
        self,
        logits: np.ndarray,
        matcher: Matcher | None,
        rng: np.random.Generator,
        known: int | None,
    ) -> Choice:
        if matcher is None:
            return self._free(logits, rng)
        limit = self.rejection_limit(matcher.vocab_size)
        if self.processing.greedy:
            return _lazy_argmax(logits, matcher, rng, self._masked, limit, known)
        return self._rejection(logits, matcher, rng, known)

    def _rejection(
        self,
        logits: np.ndarray,
        matcher: Matcher,
        rng: np.random.Generator,
        known: int | None = None,
    ) -> Choice:
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
            if token != known:
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
            elif other == known:
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


def _default_limit(matcher: Matcher) -> int:
    return max(64, matcher.vocab_size // 32)


def _lazy_argmax(
    logits: np.ndarray,
    matcher: Matcher,
    rng: np.random.Generator,
    masked: Callable[..., Choice],
    limit: int,
    known: int | None = None,
) -> Choice:
    """The masked argmax by checking tokens in decreasing logit order (``known`` is allowed
    without a check); ``masked`` (the full mask) decides after ``limit`` refusals."""
    scores = np.array(logits, dtype=np.float64)
    scores[matcher.vocab_size :] = -np.inf
    checks = 0
    for token in _descending(scores, limit):
        if token == known:
            return Choice(token, 0.0, checks, 0, matcher.vocab_size)
        checks += 1
        if matcher.accepts(token):
            return Choice(token, 0.0, checks, 0, matcher.vocab_size)
    return masked(logits, matcher, rng, checks)


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
