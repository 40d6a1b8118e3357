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
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from structgen.decoding.model import LanguageModel
from structgen.decoding.samplers import Sampler
from structgen.decoding.stats import DecodingStats
from structgen.errors import ConfigurationError, MatcherError
from structgen.matcher import Matcher

__all__ = ["Decoded", "decode"]


@dataclass(slots=True)
class Decoded:
    """The tokens decided (an end-of-sequence token included when one ended the run), whether
    the run ended by itself (end of sequence, or a terminated matcher) and its counters."""

    tokens: list[int]
    finished: bool
    stats: DecodingStats = field(default_factory=DecodingStats)


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
) -> Decoded:
    """Decode up to ``max_new_tokens`` tokens after ``prompt_ids``.

    ``matcher`` (advanced in place) constrains every token; without one the model generates
    freely until an ``eos_ids`` token. ``jump_forward`` feeds the matcher's forced tokens ahead
    (see the module docstring: it saves forward passes and changes no choice).
    """
    prompt = [int(t) for t in prompt_ids]
    if not prompt:
        raise ConfigurationError("decoding needs at least one prompt token")
    if max_new_tokens < 1:
        raise ConfigurationError(f"max_new_tokens must be positive, not {max_new_tokens}")
    eos = frozenset(int(t) for t in eos_ids)
    stats = DecodingStats(prompt_tokens=len(prompt))
    sequence = model.new_sequence()
    tokens: list[int] = []
    pending = prompt
    finished = False
    while not finished and len(tokens) < max_new_tokens:
        budget = max_new_tokens - len(tokens)
        started = time.perf_counter()
        draft = _draft(matcher, budget - 1) if jump_forward else []
        stats.draft_seconds += time.perf_counter() - started
        started = time.perf_counter()
        rows = sequence.extend(pending + draft, num_logits=len(draft) + 1)
        stats.model_seconds += time.perf_counter() - started
        stats.forward_passes += 1
        stats.tokens_drafted += len(draft)
        for position, row in enumerate(rows):
            started = time.perf_counter()
            choice = sampler.choose(row, matcher, rng)
            stats.sampling_seconds += time.perf_counter() - started
            stats.add(choice)
            token = choice.token
            _advance(matcher, token, len(tokens))
            tokens.append(token)
            if position < len(draft) and token == draft[position]:
                stats.tokens_jumped += 1
                continue
            unused = len(draft) - position
            if unused:
                sequence.crop(len(sequence) - unused)
            finished = token in eos or (matcher is not None and matcher.is_terminated())
            pending = [token]
            break
    return Decoded(tokens, finished, stats)


def _draft(matcher: Matcher | None, limit: int) -> list[int]:
    """The forced continuation to feed ahead (at most ``limit`` tokens)."""
    if matcher is None or limit < 1 or matcher.is_terminated():
        return []
    return [int(t) for t in matcher.forced_tokens()[:limit]]


def _advance(matcher: Matcher | None, token: int, step: int) -> None:
    if matcher is not None and not matcher.advance(token):
        raise MatcherError(
            f"the sampler chose token {token} at step {step}, which the constraint refuses "
            "(a structgen bug)"
        )
