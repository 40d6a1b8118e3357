"""The Matcher: the one runtime interface every decoder drives, one per sequence.

A matcher never raises in the hot loop: ``advance`` returns False on a token the constraint
forbids and leaves the state as it was. History is a persistent linked list, so ``fork`` is
O(1) and matchers forked from one another share it; ``rollback(n)`` is O(n).
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

import numpy as np

from structgen.errors import ConfigurationError

TERMINATED = -2

State = TypeVar("State")

__all__ = ["TERMINATED", "History", "Matcher", "as_token_id", "bitmask_row_view"]


class History(Generic[State]):
    """The states a matcher went through: a persistent linked list of ``(state, previous)``.

    Nodes are never changed, so :meth:`fork` shares them in O(1); :meth:`rollback` walks ``n``
    links back. Both engines' matchers keep their states here.
    """

    __slots__ = ("_initial", "_node", "_steps", "state")

    def __init__(self, initial: State) -> None:
        self._initial = initial
        self._node: tuple[State, Any] = (initial, None)
        self._steps = 0
        self.state: State = initial
        """The current state (read-only; an attribute: every decoding step reads it)."""

    @property
    def num_steps(self) -> int:
        """How many states were pushed since the start (how far :meth:`rollback` can go)."""
        return self._steps

    def push(self, state: State) -> None:
        self._node = (state, self._node)
        self._steps += 1
        self.state = state

    def rollback(self, n: int = 1) -> None:
        """Drop the last ``n`` states (a ConfigurationError when there are fewer)."""
        count = _as_integer(n)
        if count is None:
            raise ConfigurationError(
                f"expected an int number of steps to roll back, got {type(n).__name__} {n!r:.60}"
            )
        n = count
        if n < 0 or n > self._steps:
            raise ConfigurationError(f"cannot roll back {n} steps: the matcher has {self._steps}")
        node = self._node
        for _ in range(n):
            node = node[1]
        self._node = node
        self._steps -= n
        self.state = node[0]

    def fork(self) -> History[State]:
        """An independent history sharing this one's nodes."""
        twin: History[State] = History.__new__(History)
        twin._initial, twin._node, twin._steps = self._initial, self._node, self._steps
        twin.state = self.state
        return twin

    def reset(self) -> None:
        """Back to the initial state, with no steps."""
        self._node = (self._initial, None)
        self._steps = 0
        self.state = self._initial


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


def _as_integer(value: Any) -> int | None:
    """``value`` as an int when it is an integer (anything with ``__index__``: int, numpy and
    torch integer scalars), None for bools and everything else."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def as_token_id(token_id: Any) -> int:
    """``token_id`` as a Python int; a ConfigurationError for anything but an integer (bools,
    floats and strings are refused rather than truncated or compared)."""
    value = _as_integer(token_id)
    if value is None:
        raise ConfigurationError(
            f"expected a token id (an int), got {type(token_id).__name__} {token_id!r:.60}"
        )
    return value


_INT32 = np.dtype(np.int32)


def bitmask_row_view(bitmask: Any, num_words: int, row: Any = 0) -> np.ndarray:
    """A writable numpy view of row ``row`` of a CPU bitmask (numpy array or torch tensor),
    after checking the bitmask's layout and that ``row`` is an integer naming one of its rows
    (negative rows are refused, not counted from the end). Anything else is a
    ConfigurationError that says what was expected."""
    if (  # the common case, checked in a fraction of the time the general path takes
        type(bitmask) is np.ndarray
        and type(row) is int
        and bitmask.dtype is _INT32
        and bitmask.ndim == 2
        and bitmask.shape[1] == num_words
        and 0 <= row < bitmask.shape[0]
        and bitmask.flags.writeable
    ):
        return bitmask[row]
    if not isinstance(bitmask, np.ndarray):
        if not callable(getattr(bitmask, "numpy", None)):
            raise ConfigurationError(
                "expected the bitmask as a numpy array or a torch tensor, got "
                f"{type(bitmask).__name__}; use structgen.allocate_token_bitmask(batch, vocab_size)"
            )
        if getattr(bitmask, "is_cuda", False) or str(getattr(bitmask, "device", "cpu")) not in (
            "cpu",
        ):
            raise ConfigurationError(
                f"the bitmask must be on the CPU, got one on {bitmask.device}; fill it on the CPU "
                "and copy it with .to(device, non_blocking=True)"
            )
        try:
            bitmask = bitmask.numpy()
        except (RuntimeError, TypeError) as error:  # e.g. a tensor that requires grad
            raise ConfigurationError(
                f"the bitmask cannot be used as a numpy array: {error}"
            ) from None
        if not isinstance(bitmask, np.ndarray):
            raise ConfigurationError(
                f"expected the bitmask's .numpy() to give an array, got {type(bitmask).__name__}"
            )
    if bitmask.dtype != np.int32 or bitmask.ndim != 2 or bitmask.shape[1] != num_words:
        raise ConfigurationError(
            f"expected an int32 bitmask of shape [batch, {num_words}], got {bitmask.dtype} "
            f"{tuple(bitmask.shape)}; use structgen.allocate_token_bitmask(batch, vocab_size)"
        )
    index = _as_integer(row)
    if index is None or not 0 <= index < bitmask.shape[0]:
        raise ConfigurationError(
            f"expected a row index in [0, {bitmask.shape[0]}) of the bitmask, got {row!r:.60}"
        )
    if not bitmask.flags.writeable:
        raise ConfigurationError(
            "the bitmask is read-only; pass a writable array (e.g. bitmask.copy())"
        )
    return bitmask[index]
