"""The language-model interface a decoding loop drives: one sequence, its KV cache, its logits.

The loop owns the forward passes (not ``model.generate``): it starts a sequence from nothing,
extends it by one or several tokens in one forward pass — getting the next-token logits at each
new position — and crops it back when a speculated block was not taken. Two implementations:
:class:`~structgen.decoding.transformers_lm.TransformersLM` (a transformers causal LM with a
``DynamicCache``) and :class:`~structgen.decoding.toy.ToyLM` (fixed, known distributions for
exact tests).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from structgen.errors import ConfigurationError

__all__ = ["LanguageModel", "ModelSequence"]


class ModelSequence(ABC):
    """One token sequence held by a model: the tokens fed so far and their cached state.

    The arguments are checked here; a model implements :meth:`_feed` (one forward pass) and
    :meth:`_drop` (forget cached positions)."""

    def __init__(self) -> None:
        self._tokens: list[int] = []

    @property
    def tokens(self) -> list[int]:
        """The tokens fed so far (a copy)."""
        return list(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def extend(self, token_ids: Sequence[int], *, num_logits: int = 1) -> np.ndarray:
        """Feed ``token_ids`` in one forward pass; the next-token logits after each of the last
        ``num_logits`` of them, float32 ``[num_logits, vocab_size]`` on the CPU.

        Row ``i`` holds the logits after ``token_ids[len(token_ids) - num_logits + i]``: with a
        block ``[t, d1, …, dk]`` and ``num_logits = k + 1``, row 0 scores the position of
        ``d1`` and row ``k`` the position after ``dk``.
        """
        ids = [int(t) for t in token_ids]
        if not ids or not 1 <= num_logits <= len(ids):
            raise ConfigurationError(
                f"extend needs at least one token and 1 <= num_logits <= {len(ids)}, "
                f"got {len(ids)} tokens and num_logits={num_logits}"
            )
        rows = self._feed(ids, num_logits)
        self._tokens.extend(ids)
        return rows

    def crop(self, length: int) -> None:
        """Keep only the first ``length`` tokens (and their cache): undo a speculated block."""
        if not 0 <= length <= len(self._tokens):
            raise ConfigurationError(
                f"cannot crop to {length} tokens: the sequence has {len(self._tokens)}"
            )
        if length < len(self._tokens):
            self._drop(len(self._tokens) - length)
            del self._tokens[length:]

    @abstractmethod
    def _feed(self, ids: list[int], num_logits: int) -> np.ndarray:
        """One forward pass over ``ids`` after the tokens so far (not yet appended to them):
        the logits rows :meth:`extend` returns."""

    @abstractmethod
    def _drop(self, count: int) -> None:
        """Forget the cached state of the last ``count`` tokens (at least one)."""


class LanguageModel(ABC):
    """A causal language model that the decoding loop can drive token by token."""

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """The width of the logits (may exceed the tokenizer's length)."""

    @property
    @abstractmethod
    def forward_passes(self) -> int:
        """Forward passes run so far by every sequence of this model."""

    @abstractmethod
    def new_sequence(self) -> ModelSequence:
        """An empty sequence; feed the prompt with :meth:`ModelSequence.extend`."""
