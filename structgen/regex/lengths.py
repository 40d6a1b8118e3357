"""Which states of a code-point DFA can still finish within a length window.

A state ``(q, n)`` of the product *DFA × "length in [low, high]"* (``n`` characters read so far)
can reach acceptance iff ``q`` accepts some continuation whose length lies in
``[low − n, high − n]``. :class:`LengthWindow` answers that exactly without building the
product: for a finite ``high`` it tabulates, for every remaining length ``k ≤ high``, the states
that accept a word of exactly ``k`` characters (one sweep over the DFA's edges per ``k``); for
``high = None`` only the longest finite continuation of each state and whether it has infinitely
many (it reaches a cycle) are needed, and counts past ``low`` are all alike.
"""

from __future__ import annotations

import numpy as np

from structgen.errors import LimitExceededError

__all__ = ["DEFAULT_MAX_CELLS", "LengthWindow"]

DEFAULT_MAX_CELLS = 1 << 24
"""Bound on a length table (DFA states × (maxLength + 1))."""


class LengthWindow:
    """``live(q, n)`` for a DFA (``transitions[q, class]``, ``-1`` dead) and bounds ``[low, high]``.

    Counts are clamped by :meth:`clamp` (past ``low`` when ``high`` is ``None``), so a lazy
    product has finitely many states. ``max_cells`` bounds the table (``states × (high + 1)``).
    """

    def __init__(
        self,
        transitions: np.ndarray,
        accepting: np.ndarray,
        low: int,
        high: int | None,
        *,
        max_cells: int,
    ) -> None:
        if low < 0 or (high is not None and high < low):
            raise ValueError(f"bad length window [{low}, {high}]")
        self.low = low
        self.high = high
        num_states = int(transitions.shape[0])
        src, dst = _edges(transitions)
        alive = _coreachable(num_states, src, dst, accepting)
        keep = alive[src] & alive[dst]
        src, dst = src[keep], dst[keep]
        self._table: np.ndarray | None = None
        if high is None:
            self._infinite, self._longest = _longest_continuations(num_states, src, dst, accepting)
            self._alive = alive
        else:
            cells = num_states * (high + 1)
            if cells > max_cells:
                raise LimitExceededError(
                    f"the length table of combined string constraints ({num_states} automaton "
                    f"states × maxLength {high})",
                    max_cells,
                    hint="simplify the pattern/format or lower maxLength",
                )
            self._table = _window_table(num_states, src, dst, accepting, low, high)

    def clamp(self, count: int) -> int:
        """The count a state stores after ``count`` characters (``low`` stands for any more)."""
        return min(count, self.low) if self.high is None else count

    def live(self, state: int, count: int) -> bool:
        """Whether ``state`` after ``count`` characters can still be accepted within bounds."""
        return bool(self.live_many(np.array([state]), count)[0])

    def live_many(self, states: np.ndarray, count: int) -> np.ndarray:
        """:meth:`live` for each of ``states`` (``-1`` entries are not live) at one count."""
        states = np.asarray(states)
        valid = states >= 0
        safe = np.where(valid, states, 0)
        if self._table is not None:
            if count > self.high:  # type: ignore[operator]
                return np.zeros(states.shape, dtype=bool)
            return valid & self._table[count][safe]
        need = self.low - min(count, self.low)
        return valid & self._alive[safe] & (self._infinite[safe] | (self._longest[safe] >= need))


def _edges(transitions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (source, target) pairs of the DFA's moves."""
    num_states = transitions.shape[0]
    sources = np.repeat(np.arange(num_states, dtype=np.int64), transitions.shape[1])
    targets = transitions.reshape(-1).astype(np.int64)
    moving = targets >= 0
    pairs = np.unique(sources[moving] * (num_states + 1) + targets[moving])
    return pairs // (num_states + 1), pairs % (num_states + 1)


def _coreachable(num_states: int, src: np.ndarray, dst: np.ndarray, accepting) -> np.ndarray:
    alive = np.asarray(accepting, dtype=bool).copy()
    while True:
        grown = alive.copy()
        grown[src[alive[dst]]] = True
        if grown.sum() == alive.sum():
            return alive
        alive = grown


def _window_table(num_states, src, dst, accepting, low: int, high: int) -> np.ndarray:
    """``table[n, q]``: ``q`` accepts a word whose length lies in ``[low − n, high − n]``."""
    exact = np.zeros((high + 1, num_states), dtype=bool)
    exact[0] = np.asarray(accepting, dtype=bool)
    for k in range(1, high + 1):
        row = exact[k]
        row[src[exact[k - 1][dst]]] = True
    counts = np.zeros((high + 2, num_states), dtype=np.int32)
    np.cumsum(exact, axis=0, out=counts[1:])
    n = np.arange(high + 1)
    upper = high - n + 1
    lower = np.maximum(low - n, 0)
    return (counts[upper] - counts[lower]) > 0


def _longest_continuations(num_states, src, dst, accepting) -> tuple[np.ndarray, np.ndarray]:
    """Per state: whether its continuations are unbounded (it reaches a cycle among live
    states), else the length of its longest accepted continuation (``-1``: none)."""
    successors: list[list[int]] = [[] for _ in range(num_states)]
    predecessors: list[list[int]] = [[] for _ in range(num_states)]
    for a, b in zip(src.tolist(), dst.tolist()):
        successors[a].append(b)
        predecessors[b].append(a)
    remaining = [len(s) for s in successors]
    longest = np.full(num_states, -1, dtype=np.int64)
    peeled = np.zeros(num_states, dtype=bool)
    stack = [q for q in range(num_states) if remaining[q] == 0]
    while stack:
        state = stack.pop()
        peeled[state] = True
        best = 0 if accepting[state] else -1
        for target in successors[state]:
            if longest[target] >= 0:
                best = max(best, int(longest[target]) + 1)
        longest[state] = best
        for source in predecessors[state]:
            remaining[source] -= 1
            if remaining[source] == 0:
                stack.append(source)
    return ~peeled, longest
