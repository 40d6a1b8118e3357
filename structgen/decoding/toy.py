"""A toy language model with fixed, known next-token distributions, for exact tests.

``ToyLM(vocab_size, next_logits)`` scores the next token with ``next_logits(context)``, a pure
function of the tokens so far, so the distribution of every continuation can be enumerated and
compared with what a sampler produces. It counts its forward passes like a real model would
(one per :meth:`ToySequence.extend`, whatever the block length, and one per
:meth:`ToyBatch.step`, whatever the number of rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from structgen.decoding.model import LanguageModel, ModelSequence, SequenceBatch
from structgen.errors import ConfigurationError

__all__ = ["ToyBatch", "ToyLM", "ToySequence"]

NextLogits = Callable[[tuple[int, ...]], np.ndarray]


class ToyLM(LanguageModel):
    """A model whose logits after a context are ``next_logits(tuple(context))``."""

    def __init__(self, vocab_size: int, next_logits: NextLogits) -> None:
        if vocab_size < 1:
            raise ConfigurationError(f"vocab_size must be positive, not {vocab_size}")
        self._vocab_size = int(vocab_size)
        self._next_logits = next_logits
        self._forward_passes = 0

    @classmethod
    def random(cls, vocab_size: int, *, seed: int = 0, order: int = 2) -> ToyLM:
        """Normal logits seeded by ``seed``, the context's last ``order`` tokens and its length
        modulo 3: the distribution depends on what came before but is the same on every call."""

        def next_logits(context: tuple[int, ...]) -> np.ndarray:
            key = [seed, len(context) % 3, *context[-order:]] if order else [seed]
            return np.random.default_rng(key).normal(0.0, 2.0, vocab_size).astype(np.float32)

        return cls(vocab_size, next_logits)

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    @property
    def forward_passes(self) -> int:
        return self._forward_passes

    def logits(self, context: Sequence[int]) -> np.ndarray:
        """The next-token logits after ``context`` (no forward pass is counted)."""
        row = np.asarray(self._next_logits(tuple(context)), dtype=np.float32)
        if row.shape != (self._vocab_size,):
            raise ConfigurationError(
                f"next_logits returned shape {row.shape}, expected ({self._vocab_size},)"
            )
        return row

    def new_sequence(self) -> ToySequence:
        return ToySequence(self)

    def _new_batch(self, prefix: ModelSequence, rows: int) -> ToyBatch:
        if not isinstance(prefix, ToySequence) or prefix._model is not self:
            raise ConfigurationError("new_batch needs a sequence of this model")
        return ToyBatch(self, prefix.tokens, rows)

    def _count_pass(self) -> None:
        self._forward_passes += 1


class ToySequence(ModelSequence):
    """A sequence of a :class:`ToyLM`: the tokens are the whole state."""

    def __init__(self, model: ToyLM) -> None:
        super().__init__()
        self._model = model

    def _feed(self, ids: list[int], num_logits: int) -> np.ndarray:
        if any(not 0 <= t < self._model.vocab_size for t in ids):
            raise ConfigurationError(f"token ids must be in [0, {self._model.vocab_size})")
        self._model._count_pass()
        tokens = self._tokens + ids
        start = len(tokens) - num_logits
        return np.stack([self._model.logits(tokens[: start + i + 1]) for i in range(num_logits)])

    def _drop(self, count: int) -> None:
        pass  # the tokens are the whole state

    def _fork(self) -> ToySequence:
        return ToySequence(self._model)


class ToyBatch(SequenceBatch):
    """Rows of a :class:`ToyLM`: one counted forward pass per step, the tokens are the state."""

    def __init__(self, model: ToyLM, prefix: list[int], rows: int) -> None:
        super().__init__(prefix, rows)
        self._model = model

    def _feed_column(self, ids: list[int]) -> np.ndarray:
        if any(not 0 <= t < self._model.vocab_size for t in ids):
            raise ConfigurationError(f"token ids must be in [0, {self._model.vocab_size})")
        self._model._count_pass()
        return np.stack([self._model.logits([*row, t]) for row, t in zip(self._rows, ids)])

    def _select(self, rows: list[int]) -> None:
        pass  # the tokens are the whole state
