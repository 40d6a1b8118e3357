"""numba CPU kernels: token masks from a byte DFA walked over a token trie.

The trie is stored in depth-first preorder as flat arrays (see
:class:`structgen.vocab.trie.TokenTrie`): node ``i`` has ``node_byte[i]``, ``node_depth[i]``
and ``subtree_end[i]`` (one past its last descendant), so a whole subtree is skipped in O(1)
when the DFA dies on its first byte. Compiled with numba's on-disk cache: a second process
loads the machine code instead of paying the JIT again. Where numba finds no writable cache
location (a read-only install and home), the kernels compile without it: slower to start,
never a failed import. No global numba setting is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange


def _jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``njit(cache=True, **options)``, or ``njit(**options)`` where numba cannot cache."""

    def decorate(function: Callable[..., Any]) -> Any:
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError as error:  # "cannot cache function …: no locator available"
            if "cannot cache" not in str(error):
                raise
            return njit(**options)(function)

    return decorate


@_jit(nogil=True)
def subtree_ends(node_depth: np.ndarray) -> np.ndarray:
    """For a preorder trie, the index one past the last descendant of every node."""
    count = node_depth.shape[0]
    ends = np.empty(count, dtype=np.int32)
    stack = np.empty(int(node_depth.max()) + 2 if count else 1, dtype=np.int32)
    top = 0
    for index in range(count):
        depth = node_depth[index]
        while top > 0 and node_depth[stack[top - 1]] >= depth:
            top -= 1
            ends[stack[top]] = index
        stack[top] = index
        top += 1
    while top > 0:
        top -= 1
        ends[stack[top]] = count
    return ends


@_jit(nogil=True)
def _mask_for_state(
    transitions: np.ndarray,
    start_state: int,
    node_byte: np.ndarray,
    node_depth: np.ndarray,
    subtree_end: np.ndarray,
    token_ptr: np.ndarray,
    token_ids: np.ndarray,
    out: np.ndarray,
    stack: np.ndarray,
) -> int:
    """Set in ``out`` the bit of every token whose bytes keep the DFA alive; return the count."""
    count = node_byte.shape[0]
    stack[0] = start_state
    allowed = 0
    index = 1  # node 0 is the root (the empty prefix)
    while index < count:
        depth = node_depth[index]
        state = transitions[stack[depth - 1], node_byte[index]]
        if state < 0:
            index = subtree_end[index]
            continue
        stack[depth] = state
        for position in range(token_ptr[index], token_ptr[index + 1]):
            token = token_ids[position]
            out[token >> 5] |= np.int32(1) << np.int32(token & 31)
            allowed += 1
        index += 1
    return allowed


@_jit(nogil=True)
def token_masks(
    transitions: np.ndarray,
    start_states: np.ndarray,
    node_byte: np.ndarray,
    node_depth: np.ndarray,
    subtree_end: np.ndarray,
    token_ptr: np.ndarray,
    token_ids: np.ndarray,
    num_words: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Bitmasks ``[len(start_states), num_words]`` of the tokens each start state allows.

    Serial: on small machines a parallel loop's thread start-up costs more than the walks of a
    typical regex (see :func:`token_masks_parallel` for large automata)."""
    rows = start_states.shape[0]
    masks = np.zeros((rows, num_words), dtype=np.int32)
    counts = np.zeros(rows, dtype=np.int64)
    max_depth = int(node_depth.max()) + 1 if node_depth.shape[0] else 1
    stack = np.empty(max_depth, dtype=np.int32)
    for row in range(rows):
        counts[row] = _mask_for_state(
            transitions,
            start_states[row],
            node_byte,
            node_depth,
            subtree_end,
            token_ptr,
            token_ids,
            masks[row],
            stack,
        )
    return masks, counts


@_jit(nogil=True, parallel=True)
def token_masks_parallel(
    transitions: np.ndarray,
    start_states: np.ndarray,
    node_byte: np.ndarray,
    node_depth: np.ndarray,
    subtree_end: np.ndarray,
    token_ptr: np.ndarray,
    token_ids: np.ndarray,
    num_words: int,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`token_masks` with the states spread over numba's threads."""
    rows = start_states.shape[0]
    masks = np.zeros((rows, num_words), dtype=np.int32)
    counts = np.zeros(rows, dtype=np.int64)
    max_depth = int(node_depth.max()) + 1 if node_depth.shape[0] else 1
    for row in prange(rows):
        stack = np.empty(max_depth, dtype=np.int32)
        counts[row] = _mask_for_state(
            transitions,
            start_states[row],
            node_byte,
            node_depth,
            subtree_end,
            token_ptr,
            token_ids,
            masks[row],
            stack,
        )
    return masks, counts


def apply_token_bitmask_inplace(
    logits: np.ndarray, bitmask: np.ndarray, rows: np.ndarray | None = None
) -> None:
    """``logits[rows[i], t] = -inf`` where token ``t`` is not allowed by ``bitmask[i]``
    (float32/float64 logits; the signature of :mod:`structgen.kernels.numpy_ref`)."""
    if rows is None:
        rows = np.arange(min(logits.shape[0], bitmask.shape[0]), dtype=np.int64)
    _apply_bitmask(logits, bitmask, rows)


@_jit(nogil=True)
def _apply_bitmask(logits: np.ndarray, bitmask: np.ndarray, rows: np.ndarray) -> None:
    """Never reads or writes outside its arrays: rows out of range and bitmask rows without an
    index are skipped (the caller refuses them before, with a message)."""
    batch, vocab = logits.shape
    masks, words = bitmask.shape
    for index in range(min(rows.shape[0], masks)):
        row = rows[index]
        if row < 0 or row >= batch:
            continue
        for token in range(vocab):
            word = token >> 5
            if word >= words or not (bitmask[index, word] >> (token & 31)) & 1:
                logits[row, token] = -np.inf


@_jit(nogil=True)
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
    """Walk the subtrees below ``start_nodes`` (sorted, distinct) from lexer state
    ``start_state``, one preorder pass over their union.

    Lexemes starting at nested start nodes are tracked together: every node carries the set
    of distinct lexer states reached there, so a node is visited once and the work is bounded
    by nodes × states, however many ways a path splits into lexemes. Sets in ``out`` the bit of
    every token reached with some state alive. Records an *event* ``(node, state)``, once per
    distinct pair, wherever ``state`` accepts some terminal and the trie continues: there a
    lexeme may end inside a token, which only the parser can judge. Returns the number of
    events, or ``-1`` when the event arrays are too small.
    """
    capacity = event_node.shape[0]
    events = 0
    starts = start_nodes.shape[0]
    max_depth = int(node_depth.max()) + 2 if node_depth.shape[0] else 2
    # sets[d, :sizes[d]]: the distinct lexer states alive at the current node of depth d.
    sets = np.empty((max_depth, max_depth), dtype=np.int32)
    sizes = np.zeros(max_depth, dtype=np.int32)
    next_start = 0
    while next_start < starts:
        root = start_nodes[next_start]
        next_start += 1
        root_depth = node_depth[root]
        sets[root_depth, 0] = start_state
        sizes[root_depth] = 1
        index = root + 1
        end = subtree_end[root]
        while index < end:
            depth = node_depth[index]
            byte = node_byte[index]
            size = 0
            for j in range(sizes[depth - 1]):
                state = transitions[sets[depth - 1, j], byte]
                if state < 0:
                    continue
                fresh = True
                for m in range(size):
                    if sets[depth, m] == state:
                        fresh = False
                        break
                if fresh:
                    sets[depth, size] = state
                    size += 1
            if size > 0:
                for position in range(token_ptr[index], token_ptr[index + 1]):
                    token = token_ids[position]
                    out[token >> 5] |= np.int32(1) << np.int32(token & 31)
                if subtree_end[index] > index + 1:
                    for m in range(size):
                        state = sets[depth, m]
                        if has_accepting[state]:
                            if events >= capacity:
                                return -1
                            event_node[events] = index
                            event_state[events] = state
                            events += 1
            if next_start < starts and start_nodes[next_start] == index:
                next_start += 1
                fresh = True
                for m in range(size):
                    if sets[depth, m] == start_state:
                        fresh = False
                        break
                if fresh:
                    sets[depth, size] = start_state
                    size += 1
            sizes[depth] = size
            if size > 0:
                index += 1
                continue
            skip = subtree_end[index]
            if next_start < starts and start_nodes[next_start] < skip:
                # Dead here, but a lexeme starts further down: jump to it. Every node between
                # is dead, so the depths in between hold no state.
                target = start_nodes[next_start]
                for d in range(depth + 1, node_depth[target]):
                    sizes[d] = 0
                index = target
            else:
                index = skip
    return events


@_jit(nogil=True)
def find_unexplored(
    transitions: np.ndarray,
    start_state: int,
    start_nodes: np.ndarray,
    node_byte: np.ndarray,
    node_depth: np.ndarray,
    subtree_end: np.ndarray,
    unexplored: int,
    seen: np.ndarray,
    missing: np.ndarray,
) -> int:
    """The lexer states a walk like :func:`walk_trie_events` would step from (at a node with
    children) whose row is not filled yet (``transitions[state, 0] == unexplored``): each
    written once to ``missing`` (``seen`` marks them; all False on entry, left marked), not
    walked past. Returns how many; ``-1`` when ``missing`` is full. The caller fills those rows
    and asks again until none is missing."""
    capacity = missing.shape[0]
    found = 0
    starts = start_nodes.shape[0]
    max_depth = int(node_depth.max()) + 2 if node_depth.shape[0] else 2
    sets = np.empty((max_depth, max_depth), dtype=np.int32)
    sizes = np.zeros(max_depth, dtype=np.int32)
    next_start = 0
    while next_start < starts:
        root = start_nodes[next_start]
        next_start += 1
        root_depth = node_depth[root]
        size = 0
        if transitions[start_state, 0] == unexplored:
            if subtree_end[root] > root + 1 and not seen[start_state]:
                if found >= capacity:
                    return -1
                seen[start_state] = True
                missing[found] = start_state
                found += 1
        else:
            sets[root_depth, 0] = start_state
            size = 1
        sizes[root_depth] = size
        index = root + 1
        end = subtree_end[root]
        while index < end:
            depth = node_depth[index]
            byte = node_byte[index]
            inner = subtree_end[index] > index + 1
            size = 0
            for j in range(sizes[depth - 1]):
                state = transitions[sets[depth - 1, j], byte]
                if state < 0:
                    continue
                if transitions[state, 0] == unexplored:
                    if inner and not seen[state]:
                        if found >= capacity:
                            return -1
                        seen[state] = True
                        missing[found] = state
                        found += 1
                    continue
                fresh = True
                for m in range(size):
                    if sets[depth, m] == state:
                        fresh = False
                        break
                if fresh:
                    sets[depth, size] = state
                    size += 1
            if next_start < starts and start_nodes[next_start] == index:
                next_start += 1
                if transitions[start_state, 0] != unexplored:
                    fresh = True
                    for m in range(size):
                        if sets[depth, m] == start_state:
                            fresh = False
                            break
                    if fresh:
                        sets[depth, size] = start_state
                        size += 1
            sizes[depth] = size
            if size > 0:
                index += 1
                continue
            skip = subtree_end[index]
            if next_start < starts and start_nodes[next_start] < skip:
                target = start_nodes[next_start]
                for d in range(depth + 1, node_depth[target]):
                    sizes[d] = 0
                index = target
            else:
                index = skip
    return found
