"""Sequential Monte Carlo over constrained particles: sampling from the *global* constrained
distribution, not the locally constrained one.

Locally constrained decoding (mask, renormalise, sample; what ``"sample"`` and ``"awrs"`` do)
draws ``x`` with chance ``prod_t q(x_t | x_<t) c(x_t) / Z_t``: it is myopic. When the model
likes a prefix whose only valid continuations it finds unlikely, the mask keeps the prefix and
renormalises the bad continuations up. The distribution a user usually wants is the model's
own, conditioned on the whole output satisfying the constraint:
``P(x | c) = prod_t q(x_t | x_<t) c(x) / Z`` over complete sequences. Its ratio to the
local proposal is the importance weight ``w(x) = prod_t Z_t`` — the product of the step
normalisers, exactly what every sampler's :class:`~structgen.decoding.samplers.Choice` carries
(``log Z`` from a full mask; AWRS's unbiased estimate of it, which keeps the scheme exact: SMC
with unbiased random weights targets the same distribution).

SMC (as in Lew et al., "Sequential Monte Carlo Steering of Large Language Models using
Probabilistic Programs", 2023, and Loula et al., "Syntactic and Semantic Control of Large
Language Models via Sequential Monte Carlo", 2025) runs ``N`` particles, each a forked matcher
and a model row:

1. every live particle proposes its next token with the run's sampler; its log weight grows by
   the choice's ``log_weight``; a particle that chose end-of-sequence (or whose matcher
   terminated) is finished: it keeps its weight and stops;
2. when the effective sample size ``(sum w)^2 / sum w^2`` falls under ``ess_threshold * N``
   (default ``N / 2``), ``N`` particles are drawn afresh (systematic resampling by default, see
   :mod:`~structgen.decoding.resampling`), finished ones included, and each gets the mean
   weight: particles on prefixes with little valid mass are dropped, promising ones copied;
3. the live particles' tokens go through the model as one batch
   (:class:`~structgen.decoding.model.SequenceBatch`): **one forward pass per step** whatever
   ``N``; resampling reorders the batch rows by index.

The result is one particle drawn by final weight (among the finished ones when any finished):
an exact sample of ``P(x | c)`` in the limit of many particles (bias ``O(1/N)``), with every
particle and its weight returned too. ``N = 1`` never resamples: plain locally constrained
sampling. The mean of the final weights is an unbiased estimate of ``Z``, the chance that the
model's own output satisfies the constraint (reported as ``stats.log_weight``).

Cost: ``N`` times the sampler work per token (constraint checks) and one forward pass per token
of batch ``N`` (on a CPU, a few rows cost little more than one). No jump-forward: every particle
advances one token per pass, which keeps the batch rectangular (each particle's forced tokens
would differ). With a temperature or top-k / top-p, the target is the *processed* model's
distribution conditioned on the constraint.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from structgen.decoding.model import LanguageModel
from structgen.decoding.resampling import (
    RESAMPLING_SCHEMES,
    ResamplingScheme,
    effective_sample_size,
    log_mean_exp,
    normalised_weights,
    resample,
)
from structgen.decoding.samplers import Choice, Sampler
from structgen.decoding.stats import DecodingStats
from structgen.errors import ConfigurationError, MatcherError
from structgen.matcher import Matcher

__all__ = ["DEFAULT_PARTICLES", "Particle", "SMCDecoded", "SMCDecoding", "smc_decode"]

DEFAULT_PARTICLES = 4
"""Particles when the caller names none: enough to undo a strong local bias on short outputs
at a few times the sampler work; raise it for faithfulness, the forward passes stay one per
token."""


@dataclass(frozen=True, slots=True)
class Particle:
    """One particle at the end of a run: its tokens (end-of-sequence included when chosen), its
    log weight and whether it finished (end of sequence or a terminated matcher)."""

    tokens: tuple[int, ...]
    log_weight: float
    finished: bool


@dataclass(slots=True)
class SMCDecoded:
    """What :func:`smc_decode` returns: the drawn particle's ``tokens`` and ``finished`` (as a
    :class:`~structgen.decoding.loop.Decoded`), the run's counters, every particle, and the
    index of the one drawn."""

    tokens: list[int]
    finished: bool
    stats: DecodingStats = field(default_factory=DecodingStats)
    particles: list[Particle] = field(default_factory=list)
    chosen: int = 0

    @property
    def log_evidence(self) -> float:
        """Log of the mean final weight: an estimate of ``log Z`` (unbiased in ``Z``); refused
        before the run has particles."""
        return log_mean_exp([p.log_weight for p in self.particles])


class _Walker:
    """A particle during a run: its tokens, matcher, log weight, whether it finished, and its
    row in the model batch (while it is live)."""

    __slots__ = ("finished", "log_weight", "matcher", "row", "tokens")

    def __init__(self, matcher: Matcher | None, row: int) -> None:
        self.tokens: list[int] = []
        self.matcher = matcher
        self.log_weight = 0.0
        self.finished = False
        self.row = row

    def copy(self) -> _Walker:
        twin = _Walker(None if self.matcher is None else self.matcher.fork(), self.row)
        twin.tokens = list(self.tokens)
        twin.log_weight = self.log_weight
        twin.finished = self.finished
        return twin


class SMCDecoding:
    """One SMC run, iterable like :class:`~structgen.decoding.loop.Decoding`: no token is
    decided until the last step (the output is drawn among the final particles), so iterating
    runs the whole population and yields the drawn particle's tokens as one item.
    :meth:`result` then gives every particle and the counters. The arguments are
    :func:`smc_decode`'s."""

    def __init__(
        self,
        model: LanguageModel,
        prompt_ids: Sequence[int],
        *,
        sampler: Sampler,
        rng: np.random.Generator,
        matcher: Matcher | None = None,
        particles: int = DEFAULT_PARTICLES,
        eos_ids: Iterable[int] = (),
        max_new_tokens: int = 64,
        ess_threshold: float = 0.5,
        resampling: ResamplingScheme = "systematic",
    ) -> None:
        self._prompt = [int(t) for t in prompt_ids]
        _check(self._prompt, sampler, particles, max_new_tokens, ess_threshold, resampling)
        self._model = model
        self._sampler = sampler
        self._rng = rng
        self._matcher = matcher
        self.particles = particles
        self._eos = frozenset(int(t) for t in eos_ids)
        self.max_new_tokens = max_new_tokens
        self.ess_threshold = ess_threshold
        self.resampling = resampling
        self.stats = DecodingStats(prompt_tokens=len(self._prompt), particles=particles)
        self._result: SMCDecoded | None = None
        self._started = False

    def result(self) -> SMCDecoded:
        """The drawn particle, every particle and the counters (nothing decided before the
        run ends)."""
        if self._result is None:
            return SMCDecoded([], False, self.stats)
        return self._result

    def __iter__(self) -> Iterator[list[int]]:
        if self._started:
            raise ConfigurationError("an SMC run runs once; make a new one to decode again")
        self._started = True
        return self._steps()

    def _steps(self) -> Iterator[list[int]]:
        self._result = self._run()
        if self._result.tokens:
            yield list(self._result.tokens)

    def _run(self) -> SMCDecoded:
        stats, rng, sampler = self.stats, self._rng, self._sampler
        matcher, n = self._matcher, self.particles
        walkers = [_Walker(None if matcher is None else matcher.fork(), 0) for _ in range(n)]
        started = time.perf_counter()
        sequence = self._model.new_sequence()
        logits = sequence.extend(self._prompt)  # every particle starts from this one row
        batch = self._model.new_batch(sequence, 1)
        stats.model_seconds += time.perf_counter() - started
        stats.forward_passes += 1
        for step in range(self.max_new_tokens):
            live = [w for w in walkers if not w.finished]
            started = time.perf_counter()
            for walker in live:
                _propose(walker, sampler, logits[walker.row], rng, self._eos, stats)
            stats.sampling_seconds += time.perf_counter() - started
            if all(w.finished for w in walkers) or step == self.max_new_tokens - 1:
                break
            if effective_sample_size([w.log_weight for w in walkers]) < self.ess_threshold * n:
                walkers = _resampled(walkers, rng, self.resampling)
                stats.resamples += 1
            live = [w for w in walkers if not w.finished]
            started = time.perf_counter()
            batch.select([w.row for w in live])
            for row, walker in enumerate(live):
                walker.row = row
            logits = batch.step([w.tokens[-1] for w in live])
            stats.model_seconds += time.perf_counter() - started
            stats.forward_passes += 1
        return _result(walkers, rng, stats)


def smc_decode(
    model: LanguageModel,
    prompt_ids: Sequence[int],
    *,
    sampler: Sampler,
    rng: np.random.Generator,
    matcher: Matcher | None = None,
    particles: int = DEFAULT_PARTICLES,
    eos_ids: Iterable[int] = (),
    max_new_tokens: int = 64,
    ess_threshold: float = 0.5,
    resampling: ResamplingScheme = "systematic",
) -> SMCDecoded:
    """Decode up to ``max_new_tokens`` tokens after ``prompt_ids`` with ``particles`` particles
    (see the module docstring). ``matcher`` is forked once per particle and left as it was;
    ``sampler`` proposes every token (its temperature must be above 0); resampling
    (``"systematic"`` or ``"multinomial"``) happens when the effective sample size falls under
    ``ess_threshold * particles`` (0 never resamples)."""
    run = SMCDecoding(
        model,
        prompt_ids,
        sampler=sampler,
        rng=rng,
        matcher=matcher,
        particles=particles,
        eos_ids=eos_ids,
        max_new_tokens=max_new_tokens,
        ess_threshold=ess_threshold,
        resampling=resampling,
    )
    for _ in run:
        pass
    return run.result()


def _check(
    prompt: list[int],
    sampler: Sampler,
    particles: int,
    max_new_tokens: int,
    ess_threshold: float,
    resampling: str,
) -> None:
    if not prompt:
        raise ConfigurationError("decoding needs at least one prompt token")
    if isinstance(particles, bool) or not isinstance(particles, int) or particles < 1:
        raise ConfigurationError(f"particles must be a positive int, not {particles!r}")
    if max_new_tokens < 1:
        raise ConfigurationError(f"max_new_tokens must be positive, not {max_new_tokens}")
    if not 0 <= ess_threshold <= 1:
        raise ConfigurationError(
            f"ess_threshold is a fraction of the particles in [0, 1], not {ess_threshold!r}"
        )
    if resampling not in RESAMPLING_SCHEMES:
        raise ConfigurationError(
            f"unknown resampling scheme {resampling!r}; "
            f"choose one of {', '.join(RESAMPLING_SCHEMES)}"
        )
    if sampler.processing.greedy:
        raise ConfigurationError(
            "sequential Monte Carlo samples: at temperature 0 every particle makes the same "
            "choices; give a temperature above 0 (or decode greedily without particles)"
        )


def _propose(
    walker: _Walker,
    sampler: Sampler,
    row: np.ndarray,
    rng: np.random.Generator,
    eos: frozenset[int],
    stats: DecodingStats,
) -> None:
    """One token for a live particle: the sampler's choice, its weight, the matcher advanced."""
    choice: Choice = sampler.choose(row, walker.matcher, rng)
    stats.particle_tokens += 1
    stats.checks += choice.checks
    stats.masks += choice.masks
    stats.constraint_evaluations += choice.evaluations
    walker.log_weight += choice.log_weight
    token = choice.token
    matcher = walker.matcher
    if matcher is not None and not matcher.advance(token):
        raise MatcherError(
            f"the sampler chose token {token} at step {len(walker.tokens)}, which the "
            "constraint refuses (a structgen bug)"
        )
    walker.tokens.append(token)
    walker.finished = token in eos or (matcher is not None and matcher.is_terminated())


def _resampled(
    walkers: list[_Walker], rng: np.random.Generator, scheme: ResamplingScheme
) -> list[_Walker]:
    """A new population of the same size drawn by weight, every weight set to the mean (so the
    mean weight still estimates the normaliser). An ancestor's first copy is the ancestor
    itself; the others fork its matcher."""
    logs = [w.log_weight for w in walkers]
    mean = log_mean_exp(logs)
    taken: set[int] = set()
    population = []
    for index in resample(logs, rng, scheme):
        walker = walkers[index] if index not in taken else walkers[index].copy()
        taken.add(index)
        population.append(walker)
    for walker in population:
        walker.log_weight = mean
    return population


def _result(walkers: list[_Walker], rng: np.random.Generator, stats: DecodingStats) -> SMCDecoded:
    """The particle drawn by final weight, among the finished ones when any finished (those
    cut by ``max_new_tokens`` are not complete outputs)."""
    particles = [Particle(tuple(w.tokens), w.log_weight, w.finished) for w in walkers]
    candidates = [i for i, p in enumerate(particles) if p.finished] or list(range(len(particles)))
    if len(candidates) == 1:
        chosen = candidates[0]
    else:
        weights = normalised_weights([particles[i].log_weight for i in candidates])
        chosen = candidates[int(rng.choice(len(candidates), p=weights))]
    picked = particles[chosen]
    stats.tokens = len(picked.tokens)
    stats.log_weight = log_mean_exp([p.log_weight for p in particles])
    return SMCDecoded(list(picked.tokens), picked.finished, stats, particles, chosen)
