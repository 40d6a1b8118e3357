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
- :func:`repeat` — ``X{low,high}`` straight from a DFA of ``X`` (a counter construction whose
  subsets stay small however large the bounds);
- :func:`shortest_accepted` — a shortest accepted word (breadth-first), e.g. a witness that
  a product is not empty.

Work is bounded as it happens: :class:`WorkBudget` counts subset elements and moves explored
by :func:`determinize` and :func:`repeat` and raises past its limit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from structgen.errors import LimitExceededError
from structgen.kernels.trie_walk import hopcroft_kernel, product_table_kernel, trim_kernels

__all__ = [
    "DEAD",
    "StateLimit",
    "WorkBudget",
    "determinize",
    "distinct",
    "group_rows",
    "minimize",
    "product",
    "renumber",
    "repeat",
    "shortest_accepted",
    "trim",
]

DEAD = -1
# From this many states Hopcroft's splitting runs in numba once numba is loaded (the Python
# loop costs ~10 us a state and class: a format's 900-state automaton took ~80 ms).
_KERNEL_STATES = 16
# Products whose pairs number at most this many search in numba once it is loaded (a dense id
# per pair: 16 MB); the numpy search, one breadth-first level at a time, pays ~10 array calls a
# level, and a residue automaton (``multipleOf``) is long and thin: ~25 ms a product.
_KERNEL_PAIRS = 1 << 22

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


@dataclass
class WorkBudget:
    """A running count of determinisation work (subset elements and moves explored).

    :meth:`spend` raises :class:`~structgen.errors.LimitExceededError` (``what``, ``max_work``,
    ``hint``) as soon as the total passes ``max_work``; ``spent`` reports the work done.
    """

    max_work: int
    what: str = "the work of determinising a regex (subset elements and moves explored)"
    hint: str = "simplify the pattern or raise max_regex_work (max_work of regex_to_dfa)"
    spent: int = 0

    def spend(self, amount: int) -> None:
        self.spent += amount
        if self.spent > self.max_work:
            raise LimitExceededError(self.what, self.max_work, hint=self.hint)


def _intern(subset: Hashable, index: dict, order: list, limit: StateLimit) -> int:
    """The state number of ``subset``, numbering it next if it is new (past the limit: an error)."""
    state_id = index.get(subset)
    if state_id is None:
        if len(order) >= limit.max_states:
            raise limit.exceeded()
        state_id = index[subset] = len(order)
        order.append(subset)
    return state_id


def determinize(
    moves: Sequence[Sequence[tuple[Sequence[int], int]]],
    epsilons: Sequence[Sequence[int]],
    start: frozenset[int],
    num_classes: int,
    is_accepting: Callable[[frozenset[int], bool], bool],
    *,
    limit: StateLimit,
    distinct_start: bool = False,
    budget: WorkBudget | None = None,
) -> Table:
    """Subset construction.

    ``moves[s]`` lists ``(classes, target)`` edges of NFA state ``s``, ``epsilons[s]`` its
    ε-targets; ``start`` is the (already closed) start subset. ``is_accepting(subset,
    at_start)`` decides acceptance (an NFA with anchors accepts differently at the start); with
    ``distinct_start`` the start is never merged with an equal subset reached later. ``budget``
    is charged per subset for its elements and class moves read, and per closure computed.
    """
    costs = [1 + sum(len(classes) for classes, _ in state_moves) for state_moves in moves]
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
            if budget is not None:
                budget.spend(len(found))
        return found

    index: dict[frozenset[int], int] = {} if distinct_start else {start: 0}
    order = [start]
    rows: list[list[int]] = []
    position = 0
    while position < len(order):
        current = order[position]
        position += 1
        if budget is not None:
            budget.spend(sum(costs[state] for state in current))
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
            row.append(_intern(close(target_set), index, order, limit))
        rows.append(row)
    transitions = np.array(rows, dtype=np.int32).reshape(len(order), num_classes)
    accepting = np.array([is_accepting(s, i == 0) for i, s in enumerate(order)], dtype=bool)
    return transitions, accepting


def repeat(
    transitions: np.ndarray,
    accepting: np.ndarray,
    low: int,
    high: int | None,
    *,
    limit: StateLimit,
    budget: WorkBudget,
) -> Table:
    """A DFA of ``X{low,high}`` (``high`` None: unbounded) from a trimmed DFA of ``X``.

    A configuration ``(d, c)`` is "in copy ``c`` (from 1) at state ``d``"; a copy that accepts
    may start the next one. Past ``low`` copies, a smaller count leaves more copies to go, so
    its future language contains that of a larger count at the same ``d``: only the least such
    count per ``d`` is kept (and unbounded counts stop at ``low``). A subset thus holds at most
    ``|X| · (low + 1)`` configurations whatever ``high`` is, instead of one per copy alive.
    The result is not minimal; the first state is the start (never merged with a later one).
    """
    if high is not None and high < max(low, 1):
        if high < low:
            raise ValueError(f"a repetition needs low <= high, got {{{low},{high}}}")
        return np.full((1, transitions.shape[1]), DEAD, dtype=np.int32), np.ones(1, dtype=bool)
    if accepting[0]:
        low = 0  # X ∋ ε: X{m,n} = X{0,n}
    chained = chained_repeat(transitions, accepting, low, high, limit, budget)
    if chained is not None:
        return chained
    columns, inverse = np.unique(transitions, axis=1, return_inverse=True)
    rows = columns.tolist()
    inverse = inverse.reshape(-1)
    num_classes = columns.shape[1]
    accepts = accepting.tolist()
    cap = max(low, 1) if high is None else high

    def close(configs: list[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        below: set[tuple[int, int]] = set()
        best: dict[int, int] = {}
        stack = configs
        while stack:
            d, c = stack.pop()
            if c >= low:
                if best.get(d, cap + 1) <= c:
                    continue
                best[d] = c
            elif (d, c) in below:
                continue
            else:
                below.add((d, c))
            if accepts[d] and (high is None or c < high):
                stack.append((0, min(c + 1, cap)))
        below.update((d, c) for d, c in best.items())
        budget.spend(len(below))
        return frozenset(below)

    start = close([(0, 1)])
    index: dict[frozenset[tuple[int, int]], int] = {}
    order = [start]
    table: list[list[int]] = []
    position = 0
    while position < len(order):
        current = order[position]
        position += 1
        budget.spend(len(current) * num_classes)
        row = []
        for class_id in range(num_classes):
            moved = [(rows[d][class_id], c) for d, c in current if rows[d][class_id] >= 0]
            if not moved:
                row.append(DEAD)
                continue
            row.append(_intern(close(moved), index, order, limit))
        table.append(row)
    compact = np.array(table, dtype=np.int32).reshape(len(order), num_classes)
    final = np.array(
        [any(accepts[d] and c >= low for d, c in subset) for subset in order], dtype=bool
    )
    final[0] |= low == 0
    return np.ascontiguousarray(compact[:, inverse]), final


def chained_repeat(
    transitions: np.ndarray,
    accepting: np.ndarray,
    low: int,
    high: int | None,
    limit: StateLimit,
    budget: WorkBudget | None = None,
) -> Table | None:
    """``X{low,high}`` as copies of ``X`` laid end to end, when ``X`` is *prefix-free with a
    fresh start* (no accepted string extends into another: accepting states have no
    transitions; and no transition re-enters the start): a copy then ends exactly where it
    accepts, so "``c`` copies done, at state ``d`` of the next" is the whole configuration and
    no subsets arise. One JSON-encoded character is such an ``X``; its ``{0,31}`` took 30-60 ms
    through the subset construction and takes well under one here. ``None``: not such an ``X``.
    From a minimal ``X`` the result is minimal too (copies left to go tell blocks apart).
    """
    num_states = transitions.shape[0]
    if accepting[0] or not accepting.any() or (transitions == 0).any():
        return None
    if (transitions[accepting] >= 0).any():
        return None
    inner = np.flatnonzero(~accepting)  # inner[0] == 0: the start
    position = np.full(num_states, DEAD, dtype=np.int64)
    position[inner] = np.arange(len(inner))
    width = len(inner)
    # Blocks of copies: block c is "c copies done"; past ``low`` (unbounded) one more state,
    # "enough copies, at the start of another", whose row is the start row of the last block.
    if high is None:
        blocks = max(low, 1)
        counts = [0] if low == 0 else [low]
    else:
        blocks = high
        counts = list(range(low, high + 1))
    extra = 0 if high is None and low == 0 else 1
    total = blocks * width + extra
    if total > limit.max_states:
        raise limit.exceeded()
    if budget is not None:
        budget.spend(total)
    body = transitions[inner]
    live = body >= 0
    ends = live & accepting[np.where(live, body, 0)]
    within = np.where(live, position[np.where(live, body, 0)], DEAD)
    table = np.full((total, transitions.shape[1]), DEAD, dtype=np.int32)
    for copy in range(blocks):
        following = 0 if high is None and low == 0 else copy + 1
        rows = np.where(ends, following * width, np.where(live, within + copy * width, DEAD))
        table[copy * width : (copy + 1) * width] = rows
    if high is None and low > 0:
        table[blocks * width] = table[(blocks - 1) * width]
    final = np.zeros(total, dtype=bool)
    final[np.array(counts) * width] = True
    return table, final


def _follow(transitions: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """``mapping[t]`` for every live transition ``t``, ``DEAD`` elsewhere."""
    live = transitions >= 0
    return np.where(live, mapping[np.where(live, transitions, 0)], DEAD)


def trim(transitions: np.ndarray, accepting: np.ndarray) -> Table:
    """The states reachable from the start that can reach acceptance, renumbered breadth-first.

    The start is always kept: when it cannot reach acceptance the result is one rejecting
    state without moves (the empty language).
    """
    empty = np.full((1, transitions.shape[1]), DEAD, dtype=np.int32), np.zeros(1, dtype=bool)
    kernels = trim_kernels() if transitions.shape[0] >= _KERNEL_STATES else None
    if kernels is not None:
        coreachable_states, renumber_table = kernels
        table = np.ascontiguousarray(transitions, dtype=np.int32)
        accepting = np.ascontiguousarray(accepting, dtype=bool)
        live = coreachable_states(table, accepting)
        return renumber_table(table, accepting, live, False) if live[0] else empty
    live = _coreachable(transitions, accepting)
    if not live[0]:
        return empty
    kept = np.where(_follow(transitions, live.astype(np.int8)) > 0, transitions, DEAD)
    return renumber(kept.astype(np.int32), accepting)


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``values`` (flattened): ``np.unique(values)`` without its
    check for masked arrays, which imports ``numpy.ma`` (10 ms of a fresh process, numpy 2.4)
    and costs microseconds a call."""
    ordered = np.sort(values, axis=None)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _coreachable(transitions: np.ndarray, accepting: np.ndarray) -> np.ndarray:
    """The states from which an accepting state can be reached (reverse search over the
    distinct (source, target) edges)."""
    num_states, num_classes = transitions.shape
    flat = transitions.ravel()
    moves = np.flatnonzero(flat >= 0)
    edges = distinct(flat[moves].astype(np.int64) * num_states + moves // num_classes)
    targets, sources = np.divmod(edges, num_states)
    offsets = np.searchsorted(targets, np.arange(num_states + 1)).tolist()
    sources_list = sources.tolist()
    live = accepting.tolist()
    pending = [state for state, accepts in enumerate(live) if accepts]
    while pending:
        target = pending.pop()
        for source in sources_list[offsets[target] : offsets[target + 1]]:
            if not live[source]:
                live[source] = True
                pending.append(source)
    return np.array(live, dtype=bool)


def renumber(transitions: np.ndarray, accepting: np.ndarray, *, by_class: bool = False) -> Table:
    """States reachable from 0, numbered in breadth-first order (lower targets first; with
    ``by_class``, targets in class order: a numbering that depends on the language alone when
    the DFA is minimal)."""
    num_states = transitions.shape[0]
    kernels = trim_kernels() if num_states >= _KERNEL_STATES else None
    if kernels is not None:
        return kernels[1](
            np.ascontiguousarray(transitions, dtype=np.int32),
            np.ascontiguousarray(accepting, dtype=bool),
            np.ones(num_states, dtype=bool),
            by_class,
        )
    new_id = np.full(num_states, DEAD, dtype=np.int32)
    order = [0]
    new_id[0] = 0
    position = 0
    rows = transitions.tolist()
    while position < len(order):
        state = order[position]
        position += 1
        for target in dict.fromkeys(rows[state]) if by_class else sorted(set(rows[state])):
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
    """The minimal DFA of a trimmed one (Hopcroft); the quotient renumbered from the start."""
    num_states = transitions.shape[0]
    _, columns = np.unique(transitions, axis=1, return_index=True)
    compact = transitions[:, np.sort(columns)]  # one column per distinct class behaviour
    block = _acyclic_blocks(compact, accepting)
    if block is None:
        kernel = hopcroft_kernel() if num_states >= _KERNEL_STATES else None
        if kernel is None:
            block = _hopcroft_blocks(compact, accepting)
        else:
            found = kernel(np.ascontiguousarray(compact, dtype=np.int32), accepting.astype(bool))
            block = np.unique(found, return_inverse=True)[1].reshape(-1)
    count = int(block.max()) + 1
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
    # (class order: the same table whatever ids the partition gave the blocks)
    accepting = accepting[representative][permutation]
    return renumber(quotient.astype(np.int32), accepting, by_class=True)


def _acyclic_blocks(compact: np.ndarray, accepting: np.ndarray) -> np.ndarray | None:
    """Block ids of the coarsest partition of an acyclic trimmed DFA, or None on a cycle.

    In a trimmed acyclic DFA a state's height (its longest path; the state where it ends has
    no moves, so accepts) is the length of its longest word, so equivalent states have one
    height, and states can be merged from the leaves up: a state's block is fixed by its
    acceptance and its targets' blocks (Revuz 1992). Linear in the table, for the keys, enums
    and literals schemas are full of; Hopcroft's splitting handles the rest.
    """
    rows = compact.tolist()
    finals = accepting.tolist()
    num_states = len(rows)
    block = [-1] * num_states
    ids: dict[tuple, int] = {}
    # Post-order DFS: a state is numbered once all its targets are; a target on the stack
    # again (grey) is a cycle.
    colour = [0] * num_states  # 0 white, 1 grey, 2 black
    for root in range(num_states):
        if colour[root]:
            continue
        stack = [(root, iter(rows[root]))]
        colour[root] = 1
        while stack:
            state, moves = stack[-1]
            for target in moves:
                if target < 0 or colour[target] == 2:
                    continue
                if colour[target] == 1:
                    return None
                colour[target] = 1
                stack.append((target, iter(rows[target])))
                break
            else:
                stack.pop()
                colour[state] = 2
                signature = (finals[state], *(block[t] if t >= 0 else -1 for t in rows[state]))
                found = ids.get(signature)
                if found is None:
                    found = ids[signature] = len(ids)
                block[state] = found
    return np.array(block, dtype=np.int64)


def _hopcroft_blocks(compact: np.ndarray, accepting: np.ndarray) -> np.ndarray:
    """Block ids ``0..k-1`` of the coarsest partition respecting acceptance and moves.

    Hopcroft (1971): split blocks by the predecessors of a splitter, queueing the smaller half,
    O(classes · n log n) — Moore's rounds would be as many as the states on a long chain. DEAD
    moves go to an explicit rejecting sink added for the run.
    """
    num_states, num_classes = compact.shape
    sink = num_states
    full = np.vstack([np.where(compact < 0, sink, compact), np.full((1, num_classes), sink)])
    predecessors = []
    for class_id in range(num_classes):
        column = full[:, class_id]
        order = np.argsort(column, kind="stable").tolist()
        offsets = np.concatenate([[0], np.cumsum(np.bincount(column, minlength=sink + 1))])
        offsets = offsets.tolist()
        predecessors.append((order, offsets))
    accepting_states = set(np.flatnonzero(accepting).tolist())
    rejecting_states = set(range(sink + 1)) - accepting_states
    blocks = [part for part in (accepting_states, rejecting_states) if part]
    block_of = [0] * (sink + 1)
    for block_id, members in enumerate(blocks):
        for state in members:
            block_of[state] = block_id
    pending = {(block_id, c) for block_id in range(len(blocks)) for c in range(num_classes)}
    while pending:
        splitter, class_id = pending.pop()
        order, offsets = predecessors[class_id]
        touched: dict[int, list[int]] = {}
        for target in list(blocks[splitter]):
            for source in order[offsets[target] : offsets[target + 1]]:
                touched.setdefault(block_of[source], []).append(source)
        for block_id, inside in touched.items():
            members = blocks[block_id]
            if len(inside) == len(members):
                continue
            moved = set(inside)
            if 2 * len(moved) > len(members):
                moved = members - moved
            members -= moved
            new_id = len(blocks)
            blocks.append(moved)
            for state in moved:
                block_of[state] = new_id
            # The smaller half suffices where the whole block was not pending; else both are.
            pending.update((new_id, other) for other in range(num_classes))
    _, ids = np.unique(np.array(block_of[:sink], dtype=np.int64), return_inverse=True)
    return ids.reshape(-1)


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
    stride = sink_right + 1
    kernel = product_table_kernel() if (sink_left + 1) * stride <= _KERNEL_PAIRS else None
    if kernel is not None:
        count, found, transitions = kernel(
            np.ascontiguousarray(left_rows), np.ascontiguousarray(right_rows),
            keep_dead_left, keep_dead_right, limit.max_states,
            np.full((sink_left + 1) * stride, DEAD, dtype=np.int32),
        )  # fmt: skip
        if count < 0:
            raise limit.exceeded()
        pairs, transitions = found[:count], transitions[:count].copy()
    else:
        pairs, transitions = _pair_levels(
            left_rows, right_rows, keep_dead_left, keep_dead_right, limit
        )
    table = np.array([[accept(a, b) for b in (False, True)] for a in (False, True)], dtype=bool)
    accepting = table[
        left_accepting[pairs // stride].astype(np.int64),
        right_accepting[pairs % stride].astype(np.int64),
    ]
    return transitions, accepting


def _pair_levels(
    left_rows: np.ndarray,
    right_rows: np.ndarray,
    keep_dead_left: bool,
    keep_dead_right: bool,
    limit: StateLimit,
) -> tuple[np.ndarray, np.ndarray]:
    """(pairs, table) of :func:`product`'s search in numpy (before numba is loaded, or past
    ``_KERNEL_PAIRS``): breadth-first, one level at a time, a level's pairs numbered as the
    state-by-state search numbers them (by source state, then by pair key within a row)."""
    sink_left, sink_right = left_rows.shape[0] - 1, right_rows.shape[0] - 1
    stride = sink_right + 1
    index = {0: 0}
    order = [0]
    blocks: list[np.ndarray] = []
    level_start = 0
    while level_start < len(order):
        sources = np.array(order[level_start:], dtype=np.int64)
        level_start = len(order)
        keys = left_rows[sources // stride] * stride + right_rows[sources % stride]
        positions = np.argsort(keys, axis=1, kind="stable")
        ranked = np.take_along_axis(keys, positions, axis=1).reshape(-1)  # rows, each ascending
        live = _alive(ranked // stride, ranked % stride, sink_left, sink_right,
                      keep_dead_left, keep_dead_right)  # fmt: skip
        distinct, first, inverse = np.unique(ranked, return_index=True, return_inverse=True)
        ids = np.full(len(distinct), DEAD, dtype=np.int32)
        live_distinct = live[first]
        fresh: list[tuple[int, int]] = []  # (first position, slot) of pairs not seen before
        for slot, pair, position in zip(
            np.flatnonzero(live_distinct).tolist(),
            distinct[live_distinct].tolist(),
            first[live_distinct].tolist(),
        ):
            found = index.get(pair)
            if found is None:
                fresh.append((position, slot))
            else:
                ids[slot] = found
        if len(order) + len(fresh) > limit.max_states:
            raise limit.exceeded()
        fresh.sort()
        for _, slot in fresh:
            pair = int(distinct[slot])
            ids[slot] = index[pair] = len(order)
            order.append(pair)
        # Each row's targets, class by class: the ids of its keys.
        ranked_ids = ids[inverse.reshape(-1)]
        lookup = np.full(keys.shape, DEAD, dtype=np.int32)
        np.put_along_axis(lookup, positions, ranked_ids.reshape(keys.shape), axis=1)
        blocks.append(lookup)
    transitions = np.concatenate(blocks).astype(np.int32).reshape(len(order), left_rows.shape[1])
    return np.array(order, dtype=np.int64), transitions


def _alive(
    a: np.ndarray,
    b: np.ndarray,
    sink_left: int,
    sink_right: int,
    keep_dead_left: bool,
    keep_dead_right: bool,
) -> np.ndarray:
    """Which pairs ``(a, b)`` go on: a side at its sink dies with the pair unless kept (and
    never when both sides are at their sinks)."""
    left_dead = a == sink_left
    right_dead = b == sink_right
    both = left_dead & right_dead
    dead = (left_dead & (both if keep_dead_left else True)) | (
        right_dead & (both if keep_dead_right else True)
    )
    return ~dead


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
