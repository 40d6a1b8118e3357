"""The Matcher: the one runtime interface every decoder drives, one per sequence.

A matcher never raises in the hot loop: ``advance`` returns False on a token the constraint
forbids and leaves the state as it was. History is a persistent linked list, so ``fork`` is
O(1) and matchers forked from one another share it; ``rollback(n)`` is O(n).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from structgen.errors import ConfigurationError

TERMINATED = -2


class Matcher(ABC):
    """Walks one sequence through a compiled constraint (see ``DESIGN.md``)."""

    vocab_size: int

    @abstractmethod
    def fill_next_token_bitmask(self, bitmask: Any, row: int = 0) -> bool:
        """Write the allowed next tokens into ``bitmask[row]`` (int32 words, bit ``t % 32`` of
        word ``t // 32`` set = allowed). Returns True when some token is disallowed, i.e. when
        applying the mask changes anything."""

    @abstractmethod
    def accepts(self, token_id: int) -> bool:
        """Whether ``advance(token_id)`` would succeed; the state does not change."""

    @abstractmethod
    def advance(self, token_id: int) -> bool:
        """Consume ``token_id``; False (and no change) when the constraint forbids it."""

    @abstractmethod
    def rollback(self, n: int = 1) -> None:
        """Undo the last ``n`` successful advances."""

    @abstractmethod
    def fork(self) -> Matcher:
        """An independent matcher in the same state."""

    @abstractmethod
    def forced_tokens(self) -> list[int]:
        """Tokens the constraint alone decides from here (empty when there is a choice)."""

    @abstractmethod
    def is_accepting(self) -> bool:
        """The text so far is complete: an end-of-sequence token is allowed now."""

    @abstractmethod
    def is_terminated(self) -> bool:
        """An end-of-sequence token has been consumed."""

    @abstractmethod
    def reset(self) -> None:
        """Back to the start, history cleared."""

    @property
    @abstractmethod
    def num_steps(self) -> int:
        """How many advances can be rolled back."""


def as_numpy_bitmask(bitmask: Any, num_words: int) -> np.ndarray:
    """A numpy view of a CPU bitmask (numpy array or torch tensor) after checking its layout."""
    if not isinstance(bitmask, np.ndarray):
        if getattr(bitmask, "is_cuda", False) or str(getattr(bitmask, "device", "cpu")) not in ("cpu",):
            raise ConfigurationError(
                f"the bitmask must be on the CPU, got one on {bitmask.device}; fill it on the CPU "
                "and copy it with .to(device, non_blocking=True)"
            )
        bitmask = bitmask.numpy()
    if bitmask.dtype != np.int32 or bitmask.ndim != 2 or bitmask.shape[1] != num_words:
        raise ConfigurationError(
            f"expected an int32 bitmask of shape [batch, {num_words}], got {bitmask.dtype} "
            f"{tuple(bitmask.shape)}; use structgen.allocate_token_bitmask(batch, vocab_size)"
        )
    return bitmask
