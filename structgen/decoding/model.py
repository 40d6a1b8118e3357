"""The language-model interface a decoding loop drives: one sequence, its KV cache, its logits.

The loop owns the forward passes (not ``model.generate``): it starts a sequence from nothing,
extends it by one or several tokens in one forward pass — getting the next-token logits at each
new position — and crops it back when a speculated block was not taken. A sequence can be
forked (an independent copy of its cache), and :meth:`LanguageModel.new_batch` turns one into
a :class:`SequenceBatch`: rows of equal length that advance one token each per forward pass
(the particles of sequential Monte Carlo), reordered, repeated or dropped by index when
particles are resampled or finish. Two implementations:
:class:`~structgen.decoding.transformers_lm.TransformersLM` (a transformers causal LM with a
``DynamicCache``) and :class:`~structgen.decoding.toy.ToyLM` (fixed, known distributions for
exact tests).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from structgen.errors import ConfigurationError

__all__ = ["LanguageModel", "ModelSequence", "SequenceBatch"]


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

    def fork(self) -> ModelSequence:
        """An independent copy: the same tokens and a copy of the cached state (extending or
        cropping one leaves the other as it was). No forward pass."""
        copy = self._fork()
        copy._tokens = list(self._tokens)
        return copy

    @abstractmethod
    def _feed(self, ids: list[int], num_logits: int) -> np.ndarray:
        """One forward pass over ``ids`` after the tokens so far (not yet appended to them):
        the logits rows :meth:`extend` returns."""

    @abstractmethod
    def _fork(self) -> ModelSequence:
        """A sequence of the same model holding a copy of this one's cached state (its tokens
        are set by :meth:`fork`)."""

    @abstractmethod
    def _drop(self, count: int) -> None:
        """Forget the cached state of the last ``count`` tokens (at least one)."""


class SequenceBatch(ABC):
    """Rows of one model's sequences, all of the same length, advanced together: one forward
    pass feeds one token to every row and returns every row's next-token logits.

    Made by :meth:`LanguageModel.new_batch` from a prefix (the prompt) repeated; rows are
    addressed by position and :meth:`select` reorders, repeats or drops them. The arguments
    are checked here; a model implements :meth:`_feed_column` and :meth:`_select`."""

    def __init__(self, prefix: Sequence[int], rows: int) -> None:
        self._rows = [list(prefix) for _ in range(rows)]

    def __len__(self) -> int:
        """The number of rows."""
        return len(self._rows)

    def tokens(self, row: int) -> list[int]:
        """The tokens of ``row`` (a copy): the prefix, then the tokens fed to it."""
        return list(self._rows[row])

    def step(self, token_ids: Sequence[int]) -> np.ndarray:
        """Feed ``token_ids[i]`` to row ``i``, all rows in one forward pass; the next-token
        logits of every row, float32 ``[rows, vocab_size]`` on the CPU."""
        ids = [int(t) for t in token_ids]
        if not ids or len(ids) != len(self._rows):
            raise ConfigurationError(
                f"step needs one token per row: the batch has {len(self._rows)} rows, "
                f"got {len(ids)} tokens"
            )
        logits = self._feed_column(ids)
        for row, token in zip(self._rows, ids):
            row.append(token)
        return logits

    def select(self, rows: Sequence[int]) -> None:
        """Keep the rows listed, in that order: a row may repeat (resampling copies a particle)
        or be left out (a finished particle); the new row ``i`` is the old ``rows[i]``."""
        indices = [int(r) for r in rows]
        if any(not 0 <= r < len(self._rows) for r in indices):
            raise ConfigurationError(
                f"row indices must be in [0, {len(self._rows)}), got {indices}"
            )
        self._select(indices)
        self._rows = [list(self._rows[r]) for r in indices]

    @abstractmethod
    def _feed_column(self, ids: list[int]) -> np.ndarray:
        """One forward pass feeding ``ids[i]`` to row ``i``: the logits :meth:`step` returns."""

    @abstractmethod
    def _select(self, rows: list[int]) -> None:
        """Reorder the cached state by ``rows`` (checked indices, repeats allowed)."""


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

    def new_batch(self, prefix: ModelSequence, rows: int) -> SequenceBatch:
        """``rows`` copies of ``prefix`` (already fed, e.g. the prompt) as one batch that
        advances one token per row per forward pass; ``prefix`` itself is left as it was. No
        forward pass: the prefix's cache is copied."""
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            raise ConfigurationError(f"a batch needs at least one row, not {rows!r}")
        if not len(prefix):
            raise ConfigurationError("a batch continues a prefix: feed the prompt first")
        return self._new_batch(prefix, rows)

    @abstractmethod
    def _new_batch(self, prefix: ModelSequence, rows: int) -> SequenceBatch:
        """The batch :meth:`new_batch` returns (arguments checked)."""
