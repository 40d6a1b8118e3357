"""Drafters for constrained speculative decoding: guesses of the next few tokens.

A drafter proposes tokens to follow a context; the decoding loop
(:class:`~structgen.decoding.loop.Decoding`) feeds them to the target model in one forward pass
and its sampler decides every position (:meth:`~structgen.decoding.samplers.Sampler.verify`),
so a draft only ever saves forward passes: it never changes what is sampled. Every draft token
is checked on a *fork* of the run's matcher, which the drafter advances through the tokens it
returns; the draft ends at the first token the constraint refuses.

- :class:`NgramDrafter` (``"ngram"``, prompt lookup): find the latest earlier occurrence of the
  context's last ``n`` tokens (longest ``n`` first) in the prompt and the output so far, and
  propose what followed it. Deterministic (a point-mass proposal).
- :class:`RecyclingDrafter` (``"recycling"``, after Luo et al., "Turning Trash into Treasure:
  Accelerating Inference of Large Language Models with Token Recycling", 2024): an adjacency
  matrix holding, for each token, the ``top_k`` likeliest next tokens of the latest logits
  seen after it (updated from every row the target returns); a draft is the chain that takes,
  at each step, the first of those candidates the constraint allows. A single chain, not the
  paper's tree. Deterministic.
- :class:`ModelDrafter` (a small draft model, any
  :class:`~structgen.decoding.model.LanguageModel`): one forward pass per drafted token on its
  own sequence (cropped back to the accepted tokens at the next call); tokens drawn by the
  run's sampler from the draft's logits under the fork (:meth:`Sampler.propose`), with their
  distribution when the sampler verifies by ``min(1, p/q)``.

:func:`make_drafter` turns ``generate(speculative=...)`` values into a drafter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from structgen.decoding.model import LanguageModel, ModelSequence
from structgen.decoding.samplers import Sampler
from structgen.decoding.transformers_lm import TransformersLM
from structgen.errors import ConfigurationError
from structgen.matcher import Matcher

__all__ = [
    "DRAFTERS",
    "Draft",
    "Drafter",
    "ModelDrafter",
    "NgramDrafter",
    "RecyclingDrafter",
    "make_drafter",
]


@dataclass(slots=True)
class Draft:
    """What a drafter proposes: ``tokens`` (every one allowed by the fork it was given, which
    it advanced through them), per token the distribution it was drawn from (None for a point
    mass), and what drafting cost: single-token checks, constraint evaluations of the
    draft-side sampler, and draft-model forward passes."""

    tokens: list[int] = field(default_factory=list)
    proposals: list[np.ndarray | None] = field(default_factory=list)
    checks: int = 0
    evaluations: int = 0
    forward_passes: int = 0


class Drafter(ABC):
    """Proposes tokens after a context; told the target's logits after every forward pass."""

    name: ClassVar[str]

    @abstractmethod
    def propose(
        self,
        context: Sequence[int],
        matcher: Matcher | None,
        limit: int,
        *,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Draft:
        """At most ``limit`` tokens to follow ``context`` (prompt, output, draft so far).
        ``matcher`` is a fork to advance through the tokens proposed (None: unconstrained)."""

    def observe(self, inputs: Sequence[int], rows: np.ndarray) -> None:  # noqa: B027
        """The target's next-token logits ``rows[i]`` after the token ``inputs[i]``, for every
        position of a forward pass (accepted or not). Default: unused."""


def admit(tokens: Sequence[int], matcher: Matcher | None, limit: int) -> Draft:
    """The longest prefix of ``tokens`` (at most ``limit``) the constraint allows, ``matcher``
    advanced through it; stops after an end-of-sequence token the matcher consumed."""
    draft = Draft()
    for token in tokens[:limit]:
        if matcher is not None:
            draft.checks += 1
            if not matcher.advance(int(token)):
                break
        draft.tokens.append(int(token))
        draft.proposals.append(None)
        if matcher is not None and matcher.is_terminated():
            break
    return draft


class NgramDrafter(Drafter):
    """Prompt lookup: the continuation of the latest earlier occurrence of the context's last
    ``n`` tokens, for ``n`` from ``max_n`` down to ``min_n``.

    An index maps every ``n``-gram of the context to the position after its latest occurrence
    that has a continuation. It follows the contexts it is given: what a new context shares
    with the last one stays indexed, the entries of a dropped tail (a rejected draft, another
    run) are undone from a log, and only the new tokens are indexed."""

    name = "ngram"

    def __init__(self, *, max_n: int = 3, min_n: int = 1) -> None:
        if not 1 <= min_n <= max_n:
            raise ConfigurationError(f"need 1 <= min_n <= max_n, got {min_n} and {max_n}")
        self.max_n, self.min_n = max_n, min_n
        self._indexed: list[int] = []
        self._latest: dict[tuple[int, ...], int] = {}
        # per indexed end position, the (n-gram, its previous entry) pairs it overwrote
        self._undo: list[list[tuple[tuple[int, ...], int | None]]] = []

    def propose(
        self,
        context: Sequence[int],
        matcher: Matcher | None,
        limit: int,
        *,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Draft:
        tokens = [int(t) for t in context]
        self._index(tokens)
        for n in range(min(self.max_n, len(tokens) - 1), self.min_n - 1, -1):
            start = self._latest.get(tuple(tokens[-n:]))
            if start is not None:
                return admit(tokens[start : start + limit], matcher, limit)
        return Draft()

    def _index(self, tokens: list[int]) -> None:
        """Index every n-gram ending before the last token (each has a continuation)."""
        indexed = self._indexed
        common = len(indexed)
        if tokens[:common] != indexed:
            common, shorter = 0, min(len(indexed), len(tokens))
            while common < shorter and indexed[common] == tokens[common]:
                common += 1
        # an n-gram ending at ``end`` stays valid while tokens[: end + 2] are unchanged
        while len(self._undo) > max(common - 1, 0):
            for gram, previous in reversed(self._undo.pop()):
                if previous is None:
                    del self._latest[gram]
                else:
                    self._latest[gram] = previous
        for end in range(len(self._undo), len(tokens) - 1):
            entries = []
            for n in range(self.min_n, min(self.max_n, end + 1) + 1):
                gram = tuple(tokens[end - n + 1 : end + 1])
                entries.append((gram, self._latest.get(gram)))
                self._latest[gram] = end + 1
            self._undo.append(entries)
        self._indexed = tokens


class RecyclingDrafter(Drafter):
    """Token recycling (Luo et al., 2024, arXiv:2408.08696): ``top_k`` candidate next tokens
    per token, from the latest target logits seen after it; a chain draft through them.

    The matrix survives across runs (the paper's hot start): reuse one drafter for a model."""

    name = "recycling"

    def __init__(self, *, top_k: int = 8) -> None:
        if top_k < 1:
            raise ConfigurationError(f"top_k must be positive, not {top_k}")
        self.top_k = top_k
        self.adjacency = np.full((0, top_k), -1, dtype=np.int64)

    def observe(self, inputs: Sequence[int], rows: np.ndarray) -> None:
        width = rows.shape[1]
        if self.adjacency.shape[0] < width:
            grown = np.full((width, self.top_k), -1, dtype=np.int64)
            grown[: self.adjacency.shape[0]] = self.adjacency
            self.adjacency = grown
        k = min(self.top_k, width)
        top = np.argpartition(-rows, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(rows, top, axis=1), axis=1, kind="stable")
        ranked = np.take_along_axis(top, order, axis=1)
        self.adjacency[np.asarray(inputs, dtype=np.int64), :k] = ranked

    def propose(
        self,
        context: Sequence[int],
        matcher: Matcher | None,
        limit: int,
        *,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Draft:
        draft = Draft()
        previous = int(context[-1])
        while len(draft.tokens) < limit and previous < self.adjacency.shape[0]:
            chosen = None
            for candidate in self.adjacency[previous]:
                if candidate < 0:
                    break
                if matcher is not None:
                    draft.checks += 1
                    if not matcher.advance(int(candidate)):
                        continue
                chosen = int(candidate)
                break
            if chosen is None:
                break
            draft.tokens.append(chosen)
            draft.proposals.append(None)
            if matcher is not None and matcher.is_terminated():
                break
            previous = chosen
        return draft


class ModelDrafter(Drafter):
    """A small draft model (sharing the target's tokenizer) drafting token by token with the
    run's sampler; its cache follows the accepted tokens (cropped back at the next call)."""

    name = "model"

    def __init__(self, model: LanguageModel) -> None:
        self.model = model
        self._sequence: ModelSequence | None = None
        self._row: np.ndarray | None = None  # logits after all of ``_sequence``

    @property
    def held(self) -> list[int]:
        """The tokens the draft model's sequence holds (its cache)."""
        return [] if self._sequence is None else self._sequence.tokens

    def propose(
        self,
        context: Sequence[int],
        matcher: Matcher | None,
        limit: int,
        *,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Draft:
        draft = Draft()
        passes = self.model.forward_passes
        if self._sequence is None:
            self._sequence = self.model.new_sequence()
        sequence = self._sequence
        row = self._sync(sequence, [int(t) for t in context])
        while True:
            choice, proposal = sampler.propose(row, matcher, rng)
            draft.evaluations += choice.evaluations
            if matcher is not None and not matcher.advance(choice.token):
                break  # a sampler never proposes a refused token; stop if it did
            draft.tokens.append(choice.token)
            draft.proposals.append(proposal)
            if len(draft.tokens) >= limit or (matcher is not None and matcher.is_terminated()):
                break
            row = self._extend(sequence, [choice.token])
        draft.forward_passes = self.model.forward_passes - passes
        return draft

    def _extend(self, sequence: ModelSequence, tokens: list[int]) -> np.ndarray:
        self._row = sequence.extend(tokens)[0]
        return self._row

    def _sync(self, sequence: ModelSequence, context: list[int]) -> np.ndarray:
        """The logits after ``context``: crop the sequence to what it shares with it (keeping
        at least one token to feed) and feed the rest."""
        held = sequence.tokens
        common = 0
        for ours, theirs in zip(held, context):
            if ours != theirs:
                break
            common += 1
        if common == len(held) == len(context) and self._row is not None:
            return self._row
        keep = min(common, len(context) - 1)
        sequence.crop(keep)
        return self._extend(sequence, context[keep:])


DRAFTERS: dict[str, type[Drafter]] = {"ngram": NgramDrafter, "recycling": RecyclingDrafter}

# ``speculative=True``: the model-free drafter that saved the most forward passes on SmolLM2
# (docs/decoding.md, "Speculative decoding").
DEFAULT_DRAFTER = "ngram"


def make_drafter(speculative: Any) -> Drafter | None:
    """The drafter for ``generate(speculative=...)``: False/None (none), True (the default
    model-free drafter), ``"ngram"``, ``"recycling"``, a :class:`Drafter`, a
    :class:`LanguageModel` or a loaded transformers causal LM (a draft model)."""
    if speculative is None or speculative is False:
        return None
    if speculative is True:
        speculative = DEFAULT_DRAFTER
    if isinstance(speculative, str):
        cls = DRAFTERS.get(speculative)
        if cls is None:
            raise ConfigurationError(
                f"unknown drafter {speculative!r}; choose one of {', '.join(sorted(DRAFTERS))}, "
                "True, or pass a draft model"
            )
        return cls()
    if isinstance(speculative, Drafter):
        return speculative
    if isinstance(speculative, LanguageModel):
        return ModelDrafter(speculative)
    if callable(speculative) and hasattr(speculative, "config"):
        return ModelDrafter(TransformersLM(speculative))
    raise ConfigurationError(
        "speculative= takes False, True, 'ngram', 'recycling', a Drafter, a LanguageModel or "
        f"a loaded transformers model, not {type(speculative).__name__}"
    )
