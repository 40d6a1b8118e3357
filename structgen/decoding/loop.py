"""The decoding loop: forward passes, sampler decisions, matcher advances, jump-forward.

Jump-forward rule. When the matcher's ``forced_tokens()`` names a continuation the constraint
alone decides, those tokens are fed *with* the token just chosen, in one forward pass, as a
draft. The sampler then still decides every position, on the logits the block returned, exactly
as it would have without the draft: while it chooses the drafted token the draft is kept (and a
forward pass saved); at the first position where it chooses another token, the rest of the
draft is cropped from the cache and decoding goes on from the sampler's token. So jump-forward
never changes a choice — greedy output is the same token for token, and a seeded sampler sees
the same logits and consumes its random numbers in the same order — whatever tokenization
``forced_tokens()`` proposes (forced *bytes* tokenized greedily may differ from what the masked
model would pick, e.g. ``{"`` + ``x`` where the model prefers ``{`` + ``"x"``: then only the
part that agrees is kept). The one caveat is floating point: logits of a block pass may differ
from one-token passes in the last bits, which can only matter at an exact tie.

Speculative decoding extends the same cycle. A :class:`~structgen.decoding.drafters.Drafter`
proposes tokens after the forced ones (forced stretches and drafter proposals alternate, all
checked on one fork of the matcher, the draft cut at the first token the constraint refuses);
the block is fed in one forward pass; each position is decided by
:meth:`~structgen.decoding.samplers.Sampler.verify`, which keeps the drafted token by the
speculative-sampling acceptance rule (a point mass for forced tokens and model-free drafts:
kept with chance ``p(x)``, else a draw of ``p`` without ``x``; ``min(1, p/q)`` and the residual
``(p - q)+`` for a draft model's sampled tokens under ``"sample"``), so every output token is
still an exact draw of the masked target distribution. At the first position not kept, the rest
of the block is cropped. The matcher only ever advances by decided tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from structgen.decoding.drafters import Drafter
from structgen.decoding.model import LanguageModel
from structgen.decoding.samplers import Sampler
from structgen.decoding.stats import DecodingStats
from structgen.errors import ConfigurationError, MatcherError
from structgen.matcher import Matcher

__all__ = ["Decoded", "Decoding", "decode"]


@dataclass(slots=True)
class Decoded:
    """The tokens decided (an end-of-sequence token included when one ended the run), whether
    the run ended by itself (end of sequence, or a terminated matcher) and its counters."""

    tokens: list[int]
    finished: bool
    stats: DecodingStats = field(default_factory=DecodingStats)


class Decoding:
    """One decoding run, stepped as an iterator: each item is the list of tokens one forward pass
    decided (the draft tokens the sampler kept, then its own token), in order.

    Iterating to the end runs the whole loop; :meth:`result` then says what was decided.
    Streaming reads the items as they come; :func:`decode` just drains them. ``matcher``
    (advanced in place) constrains every token; without one the model generates freely until an
    ``eos_ids`` token. ``jump_forward`` feeds the matcher's forced tokens ahead (see the module
    docstring: it saves forward passes and changes no choice). ``drafter`` adds speculative
    drafts of up to ``draft_tokens`` tokens per forward pass (forced tokens not counted).
    """

    def __init__(
        self,
        model: LanguageModel,
        prompt_ids: Sequence[int],
        *,
        sampler: Sampler,
        rng: np.random.Generator,
        matcher: Matcher | None = None,
        eos_ids: Iterable[int] = (),
        max_new_tokens: int = 64,
        jump_forward: bool = True,
        drafter: Drafter | None = None,
        draft_tokens: int = 8,
    ) -> None:
        self._prompt = [int(t) for t in prompt_ids]
        if not self._prompt:
            raise ConfigurationError("decoding needs at least one prompt token")
        if max_new_tokens < 1:
            raise ConfigurationError(f"max_new_tokens must be positive, not {max_new_tokens}")
        if draft_tokens < 1:
            raise ConfigurationError(f"draft_tokens must be positive, not {draft_tokens}")
        self._model = model
        self.drafter = drafter
        self.draft_tokens = draft_tokens
        self._sampler = sampler
        self._rng = rng
        self.matcher = matcher
        self._eos = frozenset(int(t) for t in eos_ids)
        self.max_new_tokens = max_new_tokens
        self.jump_forward = jump_forward
        self.tokens: list[int] = []
        self.finished = False
        self.stats = DecodingStats(prompt_tokens=len(self._prompt))
        self._started = False

    def result(self) -> Decoded:
        """The tokens decided so far, whether the run ended by itself, and its counters."""
        return Decoded(self.tokens, self.finished, self.stats)

    def __iter__(self) -> Iterator[list[int]]:
        if self._started:
            raise ConfigurationError("a Decoding runs once; make a new one to decode again")
        self._started = True
        return self._steps()

    def _steps(self) -> Iterator[list[int]]:
        matcher, stats, tokens = self.matcher, self.stats, self.tokens
        sequence = self._model.new_sequence()
        pending = self._prompt
        while not self.finished and len(tokens) < self.max_new_tokens:
            budget = self.max_new_tokens - len(tokens)
            started = time.perf_counter()
            draft, proposals, forced = self._draft(budget - 1)
            stats.draft_seconds += time.perf_counter() - started
            started = time.perf_counter()
            rows = sequence.extend(pending + draft, num_logits=len(draft) + 1)
            stats.model_seconds += time.perf_counter() - started
            stats.forward_passes += 1
            stats.tokens_drafted += sum(forced)
            stats.tokens_speculated += len(draft) - sum(forced)
            if self.drafter is not None:
                self.drafter.observe([pending[-1], *draft], rows)
            decided: list[int] = []
            for position, row in enumerate(rows):
                started = time.perf_counter()
                if position < len(draft):
                    choice = self._sampler.verify(
                        row, matcher, self._rng, draft[position], proposals[position]
                    )
                else:
                    choice = self._sampler.choose(row, matcher, self._rng)
                stats.sampling_seconds += time.perf_counter() - started
                stats.add(choice)
                token = choice.token
                _advance(matcher, token, len(tokens))
                tokens.append(token)
                decided.append(token)
                self.finished = token in self._eos or (
                    matcher is not None and matcher.is_terminated()
                )
                kept = position < len(draft) and token == draft[position]
                if kept:
                    if forced[position]:
                        stats.tokens_jumped += 1
                    else:
                        stats.tokens_accepted += 1
                    if not self.finished:
                        continue
                unused = len(draft) - position - kept
                if unused:
                    sequence.crop(len(sequence) - unused)
                pending = [token]
                break
            yield decided

    def _draft(self, limit: int) -> tuple[list[int], list[np.ndarray | None], list[bool]]:
        """The block to feed after the pending token: forced tokens (jump-forward) and the
        drafter's tokens, alternating, at most ``limit`` in all and ``draft_tokens`` from the
        drafter; with each token the distribution it was drawn from (None: a point mass) and
        whether it was forced."""
        matcher, drafter = self.matcher, self.drafter
        if limit < 1 or (matcher is not None and matcher.is_terminated()):
            return [], [], []
        if drafter is None:
            forced = _forced(matcher, limit) if self.jump_forward else []
            return forced, [None] * len(forced), [True] * len(forced)
        fork = None if matcher is None else matcher.fork()
        context = self._prompt + self.tokens
        draft: list[int] = []
        proposals: list[np.ndarray | None] = []
        kinds: list[bool] = []
        speculated = 0
        while len(draft) < limit:
            forced = _forced(fork, limit - len(draft)) if self.jump_forward else []
            for token in forced:
                fork.advance(token)  # type: ignore[union-attr]  # forced tokens imply a fork
            draft += forced
            proposals += [None] * len(forced)
            kinds += [True] * len(forced)
            room = min(limit - len(draft), self.draft_tokens - speculated)
            if room < 1 or (fork is not None and fork.is_terminated()):
                break
            proposed = drafter.propose(
                context + draft, fork, room, sampler=self._sampler, rng=self._rng
            )
            self.stats.draft_checks += proposed.checks
            self.stats.draft_evaluations += proposed.checks + proposed.evaluations
            self.stats.draft_forward_passes += proposed.forward_passes
            kept = _within(proposed.tokens, self._model.vocab_size)
            draft += proposed.tokens[:kept]
            proposals += proposed.proposals[:kept]
            kinds += [False] * kept
            speculated += kept
            if kept < room or (fork is not None and fork.is_terminated()):
                break  # the drafter stopped (no guess, or the constraint cut it)
        return draft, proposals, kinds


def decode(
    model: LanguageModel,
    prompt_ids: Sequence[int],
    *,
    sampler: Sampler,
    rng: np.random.Generator,
    matcher: Matcher | None = None,
    eos_ids: Iterable[int] = (),
    max_new_tokens: int = 64,
    jump_forward: bool = True,
    drafter: Drafter | None = None,
    draft_tokens: int = 8,
) -> Decoded:
    """Decode up to ``max_new_tokens`` tokens after ``prompt_ids`` (a :class:`Decoding` run to
    its end)."""
    run = Decoding(
        model,
        prompt_ids,
        sampler=sampler,
        rng=rng,
        matcher=matcher,
        eos_ids=eos_ids,
        max_new_tokens=max_new_tokens,
        jump_forward=jump_forward,
        drafter=drafter,
        draft_tokens=draft_tokens,
    )
    for _ in run:
        pass
    return run.result()


def _forced(matcher: Matcher | None, limit: int) -> list[int]:
    """The forced continuation to feed ahead (at most ``limit`` tokens)."""
    if matcher is None or limit < 1 or matcher.is_terminated():
        return []
    return [int(t) for t in matcher.forced_tokens()[:limit]]


def _within(tokens: list[int], width: int) -> int:
    """How many leading ``tokens`` the target model can take (a draft model's logits may be
    wider than the target's)."""
    for index, token in enumerate(tokens):
        if not 0 <= token < width:
            return index
    return len(tokens)


def _advance(matcher: Matcher | None, token: int, step: int) -> None:
    if matcher is not None and not matcher.advance(token):
        raise MatcherError(
            f"the sampler chose token {token} at step {step}, which the constraint refuses "
            "(a structgen bug)"
        )
