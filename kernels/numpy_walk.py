"""The grammar engine's trie walk in plain numpy, one trie depth at a time.

:func:`walk_trie_events` has the signature and the results of
:func:`structgen.kernels.numba_cpu.walk_trie_events` (the same bits, the same events in the same
order) and needs no JIT: a fresh process uses it while numba loads (see
:mod:`structgen.kernels.trie_walk`).

How: the live ``(node, lexer state)`` pairs of one depth are stepped to the children of their
nodes with array operations; equal pairs merge. Each pair carries the depth where its oldest
lexeme started (``rank``); the numba kernel keeps the states of a node in exactly that order
(inherited states first, by first appearance; a lexeme starting at the node last), so sorting
events by (node, rank) reproduces its output. Work is proportional to the live pairs, plus a
few array calls per depth.
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = ["TrieLevels", "trie_levels", "walk_trie_events"]


class TrieLevels:
    """The trie's nodes ordered by (depth, index) — *positions* — with what a walk reads of each.

    ``order[p]`` is the node at position ``p`` and ``position[node]`` the inverse; the children
    of position ``p`` are the positions ``child_lo[p]:child_hi[p]`` (consecutive, in index
    order); ``byte[p]``, ``token_lo[p]:token_hi[p]`` (its slice of ``token_ids``) and
    ``inner[p]`` (whether it has children) are read in position order, so the walk of one depth
    reads memory mostly in sequence."""

    __slots__ = (
        "order", "position", "child_lo", "child_hi", "byte", "token_lo", "token_hi", "inner",
        "__weakref__",
    )  # fmt: skip

    def __init__(
        self,
        node_byte: np.ndarray,
        node_depth: np.ndarray,
        subtree_end: np.ndarray,
        token_ptr: np.ndarray,
    ) -> None:
        count = len(node_depth)
        narrow = node_depth.astype(np.uint16) if count and node_depth.max() < 1 << 16 else None
        order = np.argsort(node_depth if narrow is None else narrow, kind="stable")  # radix
        # In this order the children of a node are consecutive, and one node follows another
        # of its own group exactly when it starts where the other's subtree ends (a sibling).
        depths = node_depth[order]
        ends = subtree_end[order]
        sibling = (ends[:-1] == order[1:]) & (depths[:-1] == depths[1:])
        starts = np.flatnonzero(np.r_[True, ~sibling])[1:]  # group 0 is the root alone
        sizes = np.diff(np.r_[starts, count])
        self.order = order.astype(np.int64)
        self.position = np.empty(count, dtype=np.int64)
        self.position[order] = np.arange(count, dtype=np.int64)
        # A first child comes right after its parent in preorder.
        parents = self.position[order[starts] - 1]
        self.child_lo = np.zeros(count, dtype=np.int64)
        self.child_hi = np.zeros(count, dtype=np.int64)
        self.child_lo[parents] = starts
        self.child_hi[parents] = starts + sizes
        self.byte = node_byte[order].astype(np.int64)
        self.token_lo = token_ptr[order].astype(np.int64)
        self.token_hi = token_ptr[order + 1].astype(np.int64)
        self.inner = self.child_hi > self.child_lo


_LEVELS: dict[tuple[int, ...], tuple[weakref.ref, TrieLevels]] = {}


def trie_levels(
    node_byte: np.ndarray, node_depth: np.ndarray, subtree_end: np.ndarray, token_ptr: np.ndarray
) -> TrieLevels:
    """:class:`TrieLevels` of a trie, kept while its ``node_depth`` array lives."""
    key = (id(node_byte), id(node_depth), id(subtree_end), id(token_ptr))
    entry = _LEVELS.get(key)
    if entry is not None and entry[0]() is node_depth:
        return entry[1]
    levels = TrieLevels(node_byte, node_depth, subtree_end, token_ptr)
    _LEVELS[key] = (weakref.ref(node_depth, lambda _, key=key: _LEVELS.pop(key, None)), levels)
    return levels


def _ragged(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])``."""
    total = int(counts.sum())
    ends = np.cumsum(counts)
    return np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - counts), counts)


def walk_trie_events(
    transitions: np.ndarray,
    has_accepting: np.ndarray,
    start_state: int,
    start_nodes: np.ndarray,
    node_byte: np.ndarray,
    node_depth: np.ndarray,
    subtree_end: np.ndarray,
    token_ptr: np.ndarray,
    token_ids: np.ndarray,
    out: np.ndarray,
    event_node: np.ndarray,
    event_state: np.ndarray,
) -> int:
    """See :func:`structgen.kernels.numba_cpu.walk_trie_events`: sets the bits of the tokens
    reached with some state alive in ``out``; writes the distinct ``(node, state)`` events
    (an accepting state at a node with children) in preorder; returns their number, or ``-1``
    when the event arrays are too small (``out`` then already holds every bit)."""
    starts = np.asarray(start_nodes, dtype=np.int64)
    if not len(starts):
        return 0
    levels = trie_levels(node_byte, node_depth, subtree_end, token_ptr)
    num_states = np.int64(transitions.shape[0])
    # One lookup table, read with flat indices (a view when the table is C-contiguous).
    table = transitions.reshape(-1)
    width = np.int64(transitions.shape[1])
    start_depths = node_depth[starts].astype(np.int64)
    start_positions = levels.position[starts]
    depth = int(start_depths.min())
    last_start_depth = int(start_depths.max())
    # Lexemes can meet at a node only when a start node lies below another one; else every
    # node carries at most one state and nothing needs merging or ranking.
    reach = np.maximum.accumulate(subtree_end[starts])
    nested = bool(len(starts) > 1 and (starts[1:] < reach[:-1]).any())
    # The live pairs (position, state, rank) at the current depth, inherited from the parents.
    places = np.empty(0, dtype=np.int64)
    states = np.empty(0, dtype=np.int64)
    ranks = np.empty(0, dtype=np.int64)
    reached: list[np.ndarray] = []
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
    while len(places) or depth <= last_start_depth:
        if len(places):
            alive = places
            if nested:  # positions come sorted; keep each once
                keep = np.empty(len(places), dtype=bool)
                keep[0] = True
                np.not_equal(places[1:], places[:-1], out=keep[1:])
                alive = places[keep]
            reached.append(alive)
            event = levels.inner[places] & has_accepting[states]
            if event.any():
                found.append((places[event], states[event], ranks[event] if nested else None))
        here = start_positions[start_depths == depth]
        if len(here):  # a lexeme starts at these nodes: their children see the start state too
            places = np.concatenate([places, here])
            states = np.concatenate([states, np.full(len(here), start_state, dtype=np.int64)])
            if nested:
                ranks = np.concatenate([ranks, np.full(len(here), depth, dtype=np.int64)])
        # Step every pair to the children of its node.
        lo = levels.child_lo[places]
        counts = levels.child_hi[places] - lo
        children = _ragged(lo, counts)
        stepped = table[np.repeat(states * width, counts) + levels.byte[children]]
        live = stepped >= 0
        places, states = children[live], stepped[live].astype(np.int64)
        if nested:
            ranks = np.repeat(ranks, counts)[live]
            if len(places):  # merge equal pairs, keeping the oldest lexeme's rank
                keys = places * num_states + states
                by_key = np.lexsort((ranks, keys))
                keys = keys[by_key]
                first = np.ones(len(keys), dtype=bool)
                first[1:] = keys[1:] != keys[:-1]
                chosen = by_key[first]
                places, states, ranks = places[chosen], states[chosen], ranks[chosen]
        depth += 1
    if reached:
        alive = np.concatenate(reached)
        lo = levels.token_lo[alive]
        tokens = token_ids[_ragged(lo, levels.token_hi[alive] - lo)]
        allowed = np.zeros(len(out) * 32, dtype=bool)
        allowed[tokens] = True
        packed = np.packbits(allowed, bitorder="little").view("<u4").astype(np.uint32)
        out |= packed.view(np.int32)
    if not found:
        return 0
    event_nodes = levels.order[np.concatenate([f[0] for f in found])]
    event_states = np.concatenate([f[1] for f in found])
    count = len(event_nodes)
    if count > len(event_node):
        return -1
    if nested:
        ordered = np.lexsort((np.concatenate([f[2] for f in found]), event_nodes))
    else:
        ordered = np.argsort(event_nodes, kind="stable")  # one state per node
    event_node[:count] = event_nodes[ordered]
    event_state[:count] = event_states[ordered]
    return count
