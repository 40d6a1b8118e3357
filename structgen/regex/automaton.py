"""The automaton core shared by the byte DFA and the code-point DFA.

Both engines reduce their alphabet to *classes* (integers ``0..C-1``: bytes, or code-point
intervals, that no transition tells apart), so everything here works on a table
``transitions[state, class]`` (``DEAD`` = -1 for no move) and a boolean ``accepting[state]``,
state 0 the start:

- :func:`determinize` — subset construction from an ε-NFA whose edges carry class sets, within
  ``max_states``;
- :func:`trim` — keep the states reachable from the start that can reach acceptance;
- :func:`minimize` — Moore's partition refinement (hash-grouped rows, vectorised with numpy);
- :func:`product` — the pair automaton of two DFAs over one alphabet, for ∧, ∨ and ∖;
- :func:`shortest_accepted` — a shortest accepted word (breadth-first), e.g. a witness that
  a product is not empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from structgen.errors import LimitExceededError

__all__ = [
    "DEAD",
    "StateLimit",
    "determinize",
    "group_rows",
    "minimize",
    "product",
    "renumber",
    "shortest_accepted",
    "trim",
]

DEAD = -1

Table = tuple[np.ndarray, np.ndarray]
"""``(transitions int32 [states, classes], accepting bool [states])``."""


@dataclass(frozen=True)
class StateLimit:
    """A bound on the states of an automaton and the words of the error raised past it."""

    max_states: int
    what: str
    hint: str

    def exceeded(self) -> LimitExceededError:
        return LimitExceededError(self.what, self.max_states, hint=self.hint)


def determinize(
    moves: Sequence[Sequence[tuple[Sequence[int], int]]],
    epsilons: Sequence[Sequence[int]],
    start: frozenset[int],
    num_classes: int,
    is_accepting: Callable[[frozenset[int], bool], bool],
    *,
    limit: StateLimit,
    distinct_start: bool = False,
) -> Table:
    """Subset construction.

    ``moves[s]`` lists ``(classes, target)`` edges of NFA state ``s``, ``epsilons[s]`` its
    ε-targets; ``start`` is the (already closed) start subset. ``is_accepting(subset,
    at_start)`` decides acceptance (an NFA with anchors accepts differently at the start); with
    ``distinct_start`` the start is never merged with an equal subset reached later.
    """
    closures: dict[frozenset[int], frozenset[int]] = {}

    def close(states: set[int]) -> frozenset[int]:
        key = frozenset(states)
        found = closures.get(key)
        if found is None:
            stack, seen = list(states), set(states)
            while stack:
                for following in epsilons[stack.pop()]:
                    if following not in seen:
                        seen.add(following)
                        stack.append(following)
            found = closures[key] = frozenset(seen)
        return found

    index: dict[frozenset[int], int] = {} if distinct_start else {start: 0}
    order = [start]
    rows: list[list[int]] = []
    position = 0
    while position < len(order):
        current = order[position]
        position += 1
        targets: list[set[int]] = [set() for _ in range(num_classes)]
        for state in current:
            for classes, target in moves[state]:
                for class_id in classes:
                    targets[class_id].add(target)
        row = []
        for target_set in targets:
            if not target_set:
                row.append(DEAD)
                continue
            closed = close(target_set)
            state_id = index.get(closed)
            if state_id is None:
                if len(order) >= limit.max_states:
                    raise limit.exceeded()
                state_id = index[closed] = len(order)
                order.append(closed)
            row.append(state_id)
        rows.append(row)
    transitions = np.array(rows, dtype=np.int32).reshape(len(order), num_classes)
    accepting = np.array([is_accepting(s, i == 0) for i, s in enumerate(order)], dtype=bool)
    return transitions, accepting


def _follow(transitions: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """``mapping[t]`` for every live transition ``t``, ``DEAD`` elsewhere."""
    live = transitions >= 0
    return np.where(live, mapping[np.where(live, transitions, 0)], DEAD)


def trim(transitions: np.ndarray, accepting: np.ndarray) -> Table:
    """The states reachable from the start that can reach acceptance, renumbered breadth-first.

    The start is always kept: when it cannot reach acceptance the result is one rejecting
    state without moves (the empty language).
    """
    live = accepting.copy()
    while True:  # reverse reachability, one vectorised round per step of distance
        reaches = (_follow(transitions, live.astype(np.int8)) > 0).any(axis=1) | live
        if (reaches == live).all():
            break
        live = reaches
    if not live[0]:
        return np.full((1, transitions.shape[1]), DEAD, dtype=np.int32), np.zeros(1, dtype=bool)
    kept = np.where(_follow(transitions, live.astype(np.int8)) > 0, transitions, DEAD)
    return renumber(kept.astype(np.int32), accepting)


def renumber(transitions: np.ndarray, accepting: np.ndarray) -> Table:
    """States reachable from 0, numbered in breadth-first order (lower targets first)."""
    num_states = transitions.shape[0]
    new_id = np.full(num_states, DEAD, dtype=np.int32)
    order = [0]
    new_id[0] = 0
    position = 0
    rows = transitions.tolist()
    while position < len(order):
        state = order[position]
        position += 1
        for target in sorted(set(rows[state])):
            if target >= 0 and new_id[target] < 0:
                new_id[target] = len(order)
                order.append(target)
    old = np.array(order, dtype=np.int64)
    remapped = _follow(transitions[old], new_id)
    return np.ascontiguousarray(remapped.astype(np.int32)), accepting[old].copy()


def group_rows(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Ids ``0..k-1`` of the distinct rows of ``rows`` (equal rows, equal ids).

    Rows are hashed to one uint64 (a random linear form mod 2^64) and grouped by hash — a 1-D
    sort instead of ``np.unique(axis=0)``'s row sort — then checked: should two different rows
    ever share a hash, the exact row sort is used instead.
    """
    hashed = (rows.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    _, first, ids = np.unique(hashed, return_index=True, return_inverse=True)
    ids = ids.reshape(-1)
    if (rows == rows[first[ids]]).all():
        return ids
    _, ids = np.unique(rows, axis=0, return_inverse=True)
    return ids.reshape(-1)


def minimize(transitions: np.ndarray, accepting: np.ndarray) -> Table:
    """Moore's partition refinement of a trimmed DFA; the quotient renumbered from the start."""
    num_states = transitions.shape[0]
    _, columns = np.unique(transitions, axis=1, return_index=True)
    compact = transitions[:, np.sort(columns)]  # one column per distinct class behaviour
    block = accepting.astype(np.int64)
    count = len(np.unique(block))
    weights = np.random.default_rng(0x5EED).integers(
        1, 2**63, size=compact.shape[1] + 1, dtype=np.uint64
    ) | np.uint64(1)
    while True:
        signature = np.concatenate([block[:, None], _follow(compact, block)], axis=1)
        block = group_rows(signature, weights)
        new_count = int(block.max()) + 1
        if new_count == count:
            break
        count = new_count
    if count == num_states:
        return transitions, accepting
    representative = np.zeros(count, dtype=np.int64)
    representative[block[::-1]] = np.arange(num_states)[::-1]  # the first state of each block
    quotient = _follow(transitions[representative], block)
    # Put the start block first, then renumber breadth-first.
    start_block = int(block[0])
    permutation = np.arange(count)
    permutation[[0, start_block]] = permutation[[start_block, 0]]
    inverse = np.argsort(permutation)
    quotient = _follow(quotient, inverse)[permutation]
    return renumber(quotient.astype(np.int32), accepting[representative][permutation])


def product(
    left: Table,
    right: Table,
    accept: Callable[[bool, bool], bool],
    *,
    limit: StateLimit,
    keep_dead_left: bool = False,
    keep_dead_right: bool = False,
) -> Table:
    """The pair automaton of two DFAs over the same classes, reachable part only.

    A pair accepts when ``accept(left accepts, right accepts)``. A side that died continues as
    a rejecting sink when its ``keep_dead_*`` is set (needed for ∨ and ∖); otherwise the pair
    dies with it (enough for ∧).
    """
    (left_t, left_a), (right_t, right_a) = left, right
    if left_t.shape[1] != right_t.shape[1]:
        raise ValueError(
            f"a product needs one alphabet: {left_t.shape[1]} classes against {right_t.shape[1]}"
        )
    num_classes = left_t.shape[1]
    sink_left, sink_right = left_t.shape[0], right_t.shape[0]
    dead_row = np.full((1, num_classes), DEAD, dtype=np.int32)
    left_rows = np.vstack([left_t, dead_row])
    right_rows = np.vstack([right_t, dead_row])
    left_rows = np.where(left_rows < 0, sink_left, left_rows).astype(np.int64)
    right_rows = np.where(right_rows < 0, sink_right, right_rows).astype(np.int64)
    left_accepting = np.append(left_a, False)
    right_accepting = np.append(right_a, False)

    def alive(a: int, b: int) -> bool:
        if a == sink_left and (not keep_dead_left or b == sink_right):
            return False
        return not (b == sink_right and (not keep_dead_right or a == sink_left))

    stride = sink_right + 1
    index = {0: 0}
    order = [0]
    rows: list[np.ndarray] = []
    position = 0
    while position < len(order):
        key = order[position]
        position += 1
        keys = left_rows[key // stride] * stride + right_rows[key % stride]
        row = np.full(num_classes, DEAD, dtype=np.int32)
        distinct, inverse = np.unique(keys, return_inverse=True)
        ids = np.full(len(distinct), DEAD, dtype=np.int32)
        for slot, pair in enumerate(distinct.tolist()):
            if not alive(pair // stride, pair % stride):
                continue
            found = index.get(pair)
            if found is None:
                if len(order) >= limit.max_states:
                    raise limit.exceeded()
                found = index[pair] = len(order)
                order.append(pair)
            ids[slot] = found
        row[:] = ids[inverse.reshape(-1)]
        rows.append(row)
    accepting = np.array(
        [accept(bool(left_accepting[k // stride]), bool(right_accepting[k % stride]))
         for k in order],
        dtype=bool,
    )
    transitions = np.array(rows, dtype=np.int32).reshape(len(order), num_classes)
    return transitions, accepting


def shortest_accepted(transitions: np.ndarray, accepting: np.ndarray) -> list[int] | None:
    """The classes of a shortest accepted word (the lowest class at each step), or None."""
    parent: dict[int, tuple[int, int]] = {0: (DEAD, DEAD)}
    frontier = [0]
    rows = transitions.tolist()
    while frontier:
        following = []
        for state in frontier:
            if accepting[state]:
                word: list[int] = []
                while state != 0:
                    state, class_id = parent[state]
                    word.append(class_id)
                return word[::-1]
            for class_id, target in enumerate(rows[state]):
                if target >= 0 and target not in parent:
                    parent[target] = (state, class_id)
                    following.append(target)
        frontier = following
    return None
