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
def take_words(words: np.ndarray, index: np.ndarray, bits: np.ndarray) -> int:
    """Move the nonzero words of ``words`` into ``index`` (their positions) and ``bits`` (their
    values), in order, zeroing them; returns how many (``index`` and ``bits`` hold as many
    entries as ``words``). A child walk's tokens, taken sparse from scratch words."""
    count = 0
    for position in range(words.shape[0]):
        word = words[position]
        if word != 0:
            index[count] = position
            bits[count] = word
            words[position] = 0
            count += 1
    return count


@_jit(nogil=True)
def or_words(words: np.ndarray, index: np.ndarray, bits: np.ndarray) -> None:
    """``words[index] |= bits``: a sparse (child) walk's tokens into a mask (numpy's fancy
    indexing costs ~6 µs a call here; a mask ORs in a dozen such walks)."""
    for position in range(index.shape[0]):
        words[index[position]] |= bits[position]


@_jit(nogil=True)
def column_classes(rows: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Classes of equal columns of an int32 ``[k, n]`` array of states (negative: dead): the
    results of :func:`structgen.kernels.numpy_ref.column_classes`, by one pass with a hash
    table of the columns seen (a lexer row's 256 columns in about a microsecond)."""
    count, width = rows.shape
    size = 16
    while size < 2 * width:
        size *= 2
    table = np.full(size, -1, dtype=np.int32)
    firsts = np.empty(width, dtype=np.int32)
    classes = 0
    for column in range(width):
        digest = np.uint64(14695981039346656037)
        live = False
        for row in range(count):
            value = rows[row, column]
            if value >= 0:
                live = True
            digest = (digest ^ np.uint64(value + 2)) * np.uint64(1099511628211)
        if not live:
            inverse[column] = -1
            continue
        slot = np.int64(digest >> np.uint64(33)) & (size - 1)
        while True:
            found = table[slot]
            if found < 0:
                table[slot] = classes
                firsts[classes] = column
                inverse[column] = classes
                classes += 1
                break
            first = firsts[found]
            same = True
            for row in range(count):
                if rows[row, first] != rows[row, column]:
                    same = False
                    break
            if same:
                inverse[column] = found
                break
            slot = (slot + 1) & (size - 1)
    return firsts[:classes].copy()


@_jit(nogil=True)
def product_row(
    rows: np.ndarray,
    offsets: np.ndarray,
    single_ids: np.ndarray,
    inverse: np.ndarray,
    targets: np.ndarray,
    pending: np.ndarray,
    transitions: np.ndarray,
    current: int,
) -> int:
    """One row of the product lexer from its members' rows (``rows``, int32 ``[k, 256]``
    inner states, negative: dead). Equal columns are one class (``inverse``, as
    :func:`column_classes`); a class where one member lives goes to that member's one-member
    lexer state, ``single_ids[offsets[m] + inner]`` (an offset or id of -1: not numbered
    yet). ``targets[c]`` receives each class's lexer state, -1 where the caller must number
    it: those classes are listed in ``pending`` as (class, first column) pairs and their
    count returned. With none pending the row is written into ``transitions[current]``; else
    the caller numbers them and calls :func:`write_product_row`."""
    firsts = column_classes(rows, inverse)
    count = rows.shape[0]
    waiting = 0
    for index in range(firsts.shape[0]):
        column = firsts[index]
        alone = -1
        for member in range(count):
            if rows[member, column] >= 0:
                if alone != -1:
                    alone = -2
                    break
                alone = member
        target = -1
        if alone >= 0 and offsets[alone] >= 0:
            target = single_ids[offsets[alone] + rows[alone, column]]
        targets[index] = target
        if target < 0:
            pending[2 * waiting] = index
            pending[2 * waiting + 1] = column
            waiting += 1
    if waiting == 0:
        write_product_row(inverse, targets, transitions, current)
    return waiting


@_jit(nogil=True)
def majority_state(row: np.ndarray, least: int) -> int:
    """The live state (>= 0) that most entries of ``row`` hold, if at least ``least`` do (the
    first such in sorted order on a tie); -1 otherwise."""
    ordered = np.sort(row)
    best, best_count = -1, 0
    start = 0
    for index in range(1, ordered.shape[0] + 1):
        if index == ordered.shape[0] or ordered[index] != ordered[start]:
            if ordered[start] >= 0 and index - start > best_count:
                best, best_count = ordered[start], index - start
            start = index
    return best if best_count >= least else -1


@_jit(nogil=True)
def future_table(
    transitions: np.ndarray,
    state: int,
    max_states: int,
    number: np.ndarray,
    order: np.ndarray,
    out: np.ndarray,
) -> int:
    """The DFA as read from ``state``: its reachable states in breadth-first order (targets
    in byte order) into ``order``, their rows renumbered in that order into ``out`` (dead
    stays -1); their count, or -1 when more than ``max_states`` are reachable. ``number`` is
    scratch of -1s, one per state, left as it was found."""
    number[state] = 0
    order[0] = state
    count, position, over = 1, 0, False
    while position < count and not over:
        current = order[position]
        position += 1
        for byte in range(transitions.shape[1]):
            target = transitions[current, byte]
            if target >= 0 and number[target] < 0:
                if count == max_states:
                    over = True
                    break
                number[target] = count
                order[count] = target
                count += 1
    if not over:
        for index in range(count):
            for byte in range(transitions.shape[1]):
                target = transitions[order[index], byte]
                out[index, byte] = -1 if target < 0 else number[target]
    for index in range(count):
        number[order[index]] = -1
    return -1 if over else count


@_jit(nogil=True)
def write_product_row(
    inverse: np.ndarray, targets: np.ndarray, transitions: np.ndarray, current: int
) -> None:
    """``transitions[current, b] = targets[inverse[b]]`` (dead where ``inverse[b]`` is -1)."""
    for byte in range(inverse.shape[0]):
        cls = inverse[byte]
        transitions[current, byte] = targets[cls] if cls >= 0 else -1


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
    events, or ``-1`` when the event arrays are too small. Every row the walk reads must be
    filled (:func:`walk_trie_events_lazy` is the walk for a lexer whose rows are not).
    """
    none = np.zeros(0, dtype=np.int32)
    return walk_trie_events_lazy(
        transitions, has_accepting, start_state, start_nodes, node_byte, node_depth,
        subtree_end, token_ptr, token_ids, out, event_node, event_state, 0,
        _NEVER_UNEXPLORED, none, none, np.zeros(1, dtype=np.int64),
        int(node_depth.max()) + 2 if node_depth.shape[0] else 2,
    )  # fmt: skip


_NEVER_UNEXPLORED = -(1 << 30)  # a row marker no lexer uses: every row counts as filled


@_jit(nogil=True)
def _walk_trie_events_sets(
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
    first_event: int,
    unexplored: int,
    frontier_node: np.ndarray,
    frontier_state: np.ndarray,
    frontier_count: np.ndarray,
    max_depth: int,
) -> int:
    """:func:`walk_trie_events_lazy` for any start nodes: each node carries the set of lexer
    states alive there (lexemes that started at nested start nodes are tracked together).

    :func:`walk_trie_events` over a lexer whose rows may not be filled yet
    (``transitions[state, 0] == unexplored``), resumable where it stopped.

    Events are written from index ``first_event`` on (so the walks of one round add to the
    same arrays). A state the walk would step from (at a node with children) whose row is
    missing is not followed: the pair ``(node, state)`` is written to the *frontier* arrays and
    counted in ``frontier_count[0]`` (the count may exceed their length). A missing row is
    never an event here (its acceptance is known, but the caller records it with the walk that
    resumes there). Once the caller fills those rows and walks below each frontier node from
    its state, the union of the walks is exactly the walk over a filled lexer. ``max_depth``
    is the trie's depth plus 2 (at least; computed once by the caller, not per walk). Returns
    the index one past the last event, or ``-1`` when the event arrays are too small."""
    capacity = event_node.shape[0]
    frontier_capacity = frontier_node.shape[0]
    found = 0
    events = first_event
    starts = start_nodes.shape[0]
    # sets[d, :sizes[d]]: the distinct lexer states alive at the current node of depth d.
    sets = np.empty((max_depth, max_depth), dtype=np.int32)
    sizes = np.zeros(max_depth, dtype=np.int32)
    start_missing = transitions[start_state, 0] == unexplored
    next_start = 0
    while next_start < starts:
        root = start_nodes[next_start]
        next_start += 1
        root_depth = node_depth[root]
        if start_missing:
            if subtree_end[root] > root + 1:
                if found < frontier_capacity:
                    frontier_node[found] = root
                    frontier_state[found] = start_state
                found += 1
            sizes[root_depth] = 0
        else:
            sets[root_depth, 0] = start_state
            sizes[root_depth] = 1
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
                if inner:
                    kept = 0
                    for m in range(size):
                        state = sets[depth, m]
                        if transitions[state, 0] == unexplored:
                            if found < frontier_capacity:
                                frontier_node[found] = index
                                frontier_state[found] = state
                            found += 1
                            continue
                        sets[depth, kept] = state
                        kept += 1
                        if has_accepting[state]:
                            if events >= capacity:
                                return -1
                            event_node[events] = index
                            event_state[events] = state
                            events += 1
                    size = kept
            if next_start < starts and start_nodes[next_start] == index:
                next_start += 1
                if not start_missing:
                    fresh = True
                    for m in range(size):
                        if sets[depth, m] == start_state:
                            fresh = False
                            break
                    if fresh:
                        sets[depth, size] = start_state
                        size += 1
                elif inner:
                    if found < frontier_capacity:
                        frontier_node[found] = index
                        frontier_state[found] = start_state
                    found += 1
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
    frontier_count[0] = found
    return events


@_jit(nogil=True)
def walk_trie_events_lazy(
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
    first_event: int,
    unexplored: int,
    frontier_node: np.ndarray,
    frontier_state: np.ndarray,
    frontier_count: np.ndarray,
    max_depth: int,
) -> int:
    """:func:`walk_trie_events` over a lexer whose rows may not be filled yet
    (``transitions[state, 0] == unexplored``), resumable where it stopped; see
    :func:`_walk_trie_events_sets` for the arguments and writes. Where no start node lies below
    another (a root walk, a state's frontier) the walk is :func:`walk_trie_events_one`."""
    for position in range(start_nodes.shape[0] - 1):
        if subtree_end[start_nodes[position]] > start_nodes[position + 1]:
            return _walk_trie_events_sets(
                transitions, has_accepting, start_state, start_nodes, node_byte, node_depth,
                subtree_end, token_ptr, token_ids, out, event_node, event_state, first_event,
                unexplored, frontier_node, frontier_state, frontier_count, max_depth,
            )  # fmt: skip
    return walk_trie_events_one(
        transitions, has_accepting, start_state, start_nodes, node_byte, node_depth, subtree_end,
        token_ptr, token_ids, out, event_node, event_state, first_event, unexplored,
        frontier_node, frontier_state, frontier_count, max_depth,
    )  # fmt: skip


@_jit(nogil=True)
def walk_trie_events_one(
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
    first_event: int,
    unexplored: int,
    frontier_node: np.ndarray,
    frontier_state: np.ndarray,
    frontier_count: np.ndarray,
    max_depth: int,
) -> int:
    """:func:`_walk_trie_events_sets` where no start node lies below another (a root walk, or
    the frontier of one state): the lexer is a DFA, so each node then carries at most one
    state — one lookup a node, no set to merge (~1.4x faster over a whole trie). Same
    arguments, writes and result."""
    capacity = event_node.shape[0]
    frontier_capacity = frontier_node.shape[0]
    found = 0
    events = first_event
    states = np.empty(max_depth, dtype=np.int32)
    start_missing = transitions[start_state, 0] == unexplored
    for position in range(start_nodes.shape[0]):
        root = start_nodes[position]
        end = subtree_end[root]
        if start_missing:
            if end > root + 1:
                if found < frontier_capacity:
                    frontier_node[found] = root
                    frontier_state[found] = start_state
                found += 1
            continue
        states[node_depth[root]] = start_state
        index = root + 1
        while index < end:
            depth = node_depth[index]
            state = transitions[states[depth - 1], node_byte[index]]
            if state < 0:
                index = subtree_end[index]
                continue
            for slot in range(token_ptr[index], token_ptr[index + 1]):
                token = token_ids[slot]
                out[token >> 5] |= np.int32(1) << np.int32(token & 31)
            below = subtree_end[index]
            if below > index + 1:
                if transitions[state, 0] == unexplored:
                    if found < frontier_capacity:
                        frontier_node[found] = index
                        frontier_state[found] = state
                    found += 1
                    index = below
                    continue
                if has_accepting[state]:
                    if events >= capacity:
                        return -1
                    event_node[events] = index
                    event_state[events] = state
                    events += 1
                states[depth] = state
            index += 1
    frontier_count[0] = found
    return events


@_jit(nogil=True)
def _stop_at_missing_rows(
    transitions: np.ndarray,
    unexplored: int,
    node: int,
    state: int,
    reference: int,
    seen: np.ndarray,
    missing: np.ndarray,
    found: int,
    frontier: np.ndarray,
    waiting: int,
) -> tuple[bool, int, int]:
    """For :func:`walk_trie_difference`: whether the walk must stop at ``node`` because the
    row of ``state`` or ``reference`` is missing; if so, those states are listed in
    ``missing`` (once, marked in ``seen``) and ``(node, state, reference)`` becomes a frontier
    entry. Returns (stopped, listed states so far, frontier entries so far): the counts go on
    past the arrays' capacity."""
    stop = False
    for candidate in (state, reference):
        if candidate >= 0 and transitions[candidate, 0] == unexplored:
            stop = True
            if not seen[candidate]:
                seen[candidate] = True
                if found < missing.shape[0]:
                    missing[found] = candidate
                found += 1
    if stop:
        if waiting < frontier.shape[0] // 3:
            frontier[3 * waiting] = node
            frontier[3 * waiting + 1] = state
            frontier[3 * waiting + 2] = reference
        waiting += 1
    return stop, found, waiting


@_jit(nogil=True)
def walk_trie_difference(
    transitions: np.ndarray,
    has_accepting: np.ndarray,
    entry_node: np.ndarray,
    entry_state: np.ndarray,
    entry_reference: np.ndarray,
    node_byte: np.ndarray,
    node_depth: np.ndarray,
    subtree_end: np.ndarray,
    token_ptr: np.ndarray,
    token_ids: np.ndarray,
    out: np.ndarray,
    event_node: np.ndarray,
    event_state: np.ndarray,
    first_event: int,
    same_roots: np.ndarray,
    unexplored: int,
    seen: np.ndarray,
    missing: np.ndarray,
    frontier: np.ndarray,
    counts: np.ndarray,
    max_depth: int,
) -> int:
    """A root walk as a difference from a known root walk (the *reference*'s), over a lexer
    whose rows may be missing, resumable where it stopped. Both walks are stepped together
    down the trie; below a node where they reach the same lexer state the subtree is the
    reference's, so it is skipped.

    The walk starts at *entries*: ``(entry_node[i], entry_state[i], entry_reference[i])``,
    where node 0 with (the walk's state, the reference's) begins a walk, and any other entry is
    a frontier entry of an earlier round (a node whose tokens were written but whose subtree
    was not walked). On the first round ``out`` holds the reference walk's tokens; after the
    last, this walk's. Events are written from index ``first_event`` on, and the roots of the
    skipped subtrees from ``same_roots[counts[1]]`` on (each round in preorder: the caller
    sorts the whole). A state the walk would step from whose row is missing is not followed:
    it is listed once in ``missing`` (``seen`` marks listed states; ``counts[0]`` counts them
    and may exceed ``missing``'s length) and its node becomes a frontier entry, written to
    ``frontier`` as (node, state, reference) triples, ``counts[2]`` of them (may exceed its
    capacity: then nothing is resumable and the round must be walked again with a larger one).
    ``max_depth`` is the trie's depth plus 2 (at least). Returns the index one past the last
    event, or ``-1`` when ``event_node`` is too small. Where the walks meet soon — a string's
    state before and after a character usually do — this visits a few nodes instead of the
    whole trie."""
    capacity = event_node.shape[0]
    found = 0
    events = first_event
    same = counts[1]
    waiting = 0
    count = node_byte.shape[0]
    mine = np.empty(max_depth, dtype=np.int32)
    theirs = np.empty(max_depth, dtype=np.int32)
    for entry in range(entry_node.shape[0]):
        node = entry_node[entry]
        state = entry_state[entry]
        reference = entry_reference[entry]
        stop, found, waiting = _stop_at_missing_rows(
            transitions, unexplored, node, state, reference, seen, missing, found, frontier,
            waiting,
        )  # fmt: skip
        if stop:
            continue
        depth = node_depth[node]
        if node > 0 and has_accepting[state]:
            if events >= capacity:
                return -1
            event_node[events] = node
            event_state[events] = state
            events += 1
        mine[depth] = state
        theirs[depth] = reference
        index = node + 1
        end = subtree_end[node] if node > 0 else count
        while index < end:
            depth = node_depth[index]
            byte = node_byte[index]
            below = subtree_end[index]
            parent = mine[depth - 1]
            state = transitions[parent, byte] if parent >= 0 else -1
            other = theirs[depth - 1]
            reference = transitions[other, byte] if other >= 0 else -1
            if state == reference:
                if state >= 0:
                    same_roots[same] = index
                    same += 1
                index = below
                continue
            if state < 0:
                # Dead here, alive in the reference: none of the subtree's tokens is allowed.
                for inner in range(index, below):
                    for position in range(token_ptr[inner], token_ptr[inner + 1]):
                        token = token_ids[position]
                        out[token >> 5] &= ~(np.int32(1) << np.int32(token & 31))
                index = below
                continue
            for position in range(token_ptr[index], token_ptr[index + 1]):
                token = token_ids[position]
                out[token >> 5] |= np.int32(1) << np.int32(token & 31)
            if below > index + 1:
                stop, found, waiting = _stop_at_missing_rows(
                    transitions, unexplored, index, state, reference, seen, missing, found,
                    frontier, waiting,
                )  # fmt: skip
                if stop:
                    index = below
                    continue
                if has_accepting[state]:
                    if events >= capacity:
                        return -1
                    event_node[events] = index
                    event_state[events] = state
                    events += 1
                mine[depth] = state
                theirs[depth] = reference
            index += 1
    counts[0] = found
    counts[1] = same
    counts[2] = waiting
    return events


@_jit(nogil=True)
def prune_rules(
    lhs: np.ndarray,
    offsets: np.ndarray,
    rhs: np.ndarray,
    num_symbols: int,
    num_terminals: int,
    start: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The productive rules reachable from ``start`` of a grammar held as ints (symbols
    ``0..num_terminals-1`` are terminals; rule ``i`` is ``lhs[i] → rhs[offsets[i]:offsets[i+1]]``):
    ``(keep per rule, productive per symbol, used per symbol)`` — ``used``: the terminals the
    kept rules read. A rule is productive when every symbol of it is (terminals are); a worklist
    linear in the grammar, then a depth-first search from ``start`` over the productive rules."""
    count = lhs.shape[0]
    waiting = np.zeros(count, dtype=np.int32)
    starts = np.zeros(num_symbols + 1, dtype=np.int64)  # the rules each symbol occurs in (CSR)
    for rule in range(count):
        for at in range(offsets[rule], offsets[rule + 1]):
            symbol = rhs[at]
            if symbol >= num_terminals:
                waiting[rule] += 1
                starts[symbol + 1] += 1
    for symbol in range(num_symbols):
        starts[symbol + 1] += starts[symbol]
    users = np.empty(starts[num_symbols], dtype=np.int32)
    filled = starts[:num_symbols].copy()
    for rule in range(count):
        for at in range(offsets[rule], offsets[rule + 1]):
            symbol = rhs[at]
            if symbol >= num_terminals:
                users[filled[symbol]] = rule
                filled[symbol] += 1
    productive = np.zeros(num_symbols, dtype=np.bool_)
    productive[:num_terminals] = True
    stack = np.empty(num_symbols + 1, dtype=np.int32)
    top = 0
    for rule in range(count):
        if waiting[rule] == 0 and not productive[lhs[rule]]:
            productive[lhs[rule]] = True
            stack[top] = lhs[rule]
            top += 1
    while top > 0:
        top -= 1
        symbol = stack[top]
        for at in range(starts[symbol], starts[symbol + 1]):
            rule = users[at]
            waiting[rule] -= 1
            if waiting[rule] == 0 and not productive[lhs[rule]]:
                productive[lhs[rule]] = True
                stack[top] = lhs[rule]
                top += 1
    # the productive rules by left-hand side (CSR), then what start reaches through them
    heads = np.zeros(num_symbols + 1, dtype=np.int64)
    for rule in range(count):
        if waiting[rule] == 0:
            heads[lhs[rule] + 1] += 1
    for symbol in range(num_symbols):
        heads[symbol + 1] += heads[symbol]
    by_head = np.empty(heads[num_symbols], dtype=np.int32)
    filled = heads[:num_symbols].copy()
    for rule in range(count):
        if waiting[rule] == 0:
            by_head[filled[lhs[rule]]] = rule
            filled[lhs[rule]] += 1
    reached = np.zeros(num_symbols, dtype=np.bool_)
    used = np.zeros(num_symbols, dtype=np.bool_)
    reached[start] = True
    stack[0] = start
    top = 1
    while top > 0:
        top -= 1
        symbol = stack[top]
        for at in range(heads[symbol], heads[symbol + 1]):
            rule = by_head[at]
            for position in range(offsets[rule], offsets[rule + 1]):
                other = rhs[position]
                if other < num_terminals:
                    used[other] = True
                elif not reached[other]:
                    reached[other] = True
                    stack[top] = other
                    top += 1
    keep = np.zeros(count, dtype=np.bool_)
    for rule in range(count):
        keep[rule] = waiting[rule] == 0 and reached[lhs[rule]]
    return keep, productive, used


@_jit(nogil=True)
def hopcroft_blocks(compact: np.ndarray, accepting: np.ndarray) -> np.ndarray:
    """Block ids of the coarsest partition of a DFA's states respecting acceptance and moves
    (Hopcroft 1971, the smaller half queued): ``compact`` int32 ``[n, k]`` (negative: dead,
    read as a move to an explicit rejecting sink), ``accepting`` bool ``[n]``. Ids are
    arbitrary (the caller renumbers); the partition is the one
    :func:`structgen.regex.automaton._hopcroft_blocks` finds."""
    n, k = compact.shape
    total = n + 1
    sink = n
    # predecessors of each state on each class (CSR per class)
    pred_start = np.zeros((k, total + 1), dtype=np.int64)
    for c in range(k):
        pred_start[c, sink + 1] += 1  # the sink's own move
        for s in range(n):
            t = compact[s, c]
            pred_start[c, (sink if t < 0 else t) + 1] += 1
        for t in range(total):
            pred_start[c, t + 1] += pred_start[c, t]
    preds = np.empty((k, total), dtype=np.int32)
    fill = pred_start[:, :total].copy()
    for c in range(k):
        for s in range(total):
            t = sink if s == sink else compact[s, c]
            if t < 0:
                t = sink
            preds[c, fill[c, t]] = s
            fill[c, t] += 1
    # the partition: each block a range of ``elements``; its marked states come first
    elements = np.empty(total, dtype=np.int32)
    location = np.empty(total, dtype=np.int64)
    block_of = np.empty(total, dtype=np.int32)
    first = np.empty(total, dtype=np.int64)
    end = np.empty(total, dtype=np.int64)
    marked = np.zeros(total, dtype=np.int64)
    position = 0
    for s in range(n):
        if accepting[s]:
            elements[position] = s
            position += 1
    accepting_end = position
    for s in range(n):
        if not accepting[s]:
            elements[position] = s
            position += 1
    elements[position] = sink
    blocks = 0
    if accepting_end > 0:
        first[0], end[0] = 0, accepting_end
        blocks = 1
    first[blocks], end[blocks] = accepting_end, total
    blocks += 1
    for i in range(total):
        location[elements[i]] = i
        block_of[elements[i]] = 0 if i < accepting_end else blocks - 1
    queued = np.zeros(total * k, dtype=np.bool_)
    work = np.empty(total * k, dtype=np.int64)
    top = 0
    for b in range(blocks):
        for c in range(k):
            work[top] = b * k + c
            queued[b * k + c] = True
            top += 1
    touched = np.empty(total, dtype=np.int32)
    splitter = np.empty(total, dtype=np.int32)
    while top > 0:
        top -= 1
        item = work[top]
        queued[item] = False
        chosen, c = item // k, item % k
        size = end[chosen] - first[chosen]
        for i in range(size):  # (marking moves states inside blocks: copy the splitter first)
            splitter[i] = elements[first[chosen] + i]
        count = 0
        for i in range(size):
            t = splitter[i]
            for j in range(pred_start[c, t], pred_start[c, t + 1]):
                s = preds[c, j]
                block = block_of[s]
                here = location[s]
                slot = first[block] + marked[block]
                if here < slot:
                    continue  # marked already
                if marked[block] == 0:
                    touched[count] = block
                    count += 1
                other = elements[slot]
                elements[slot], location[s] = s, slot
                elements[here], location[other] = other, here
                marked[block] += 1
        for i in range(count):
            block = touched[i]
            inside = marked[block]
            marked[block] = 0
            whole = end[block] - first[block]
            if inside == whole:
                continue
            new = blocks
            blocks += 1
            first[new], end[new] = first[block], first[block] + inside
            first[block] += inside
            for p in range(first[new], end[new]):
                block_of[elements[p]] = new
            smaller = new if inside <= whole - inside else block
            for a in range(k):
                if queued[block * k + a]:
                    item = new * k + a
                else:
                    item = smaller * k + a
                work[top] = item
                queued[item] = True
                top += 1
    return block_of[:n].copy()


@_jit(nogil=True)
def renumber_rows(table: np.ndarray, ids: np.ndarray, transitions: np.ndarray) -> None:
    """Row ``ids[s]`` of ``transitions`` becomes row ``s`` of the int32 ``table`` with every
    state ``t`` renumbered ``ids[t]``; dead entries stay dead. One pass: a terminal's whole
    table taken into the product lexer at once."""
    for state in range(table.shape[0]):
        into = ids[state]
        for byte in range(table.shape[1]):
            value = table[state, byte]
            if value >= 0:
                value = ids[value]
            transitions[into, byte] = value


@_jit(nogil=True)
def glue_tables(
    table: np.ndarray, offsets: np.ndarray, part_accepting: np.ndarray, accepting: np.ndarray
) -> None:
    """Glue stacked part tables into one concatenation, in place (see
    :func:`structgen.regex.glued.glue_parts`): ``table`` holds part ``i``'s rows from
    ``offsets[i]`` on, numbered within the part (``offsets`` ends with the row count), and
    ``part_accepting`` their acceptance within the part. States are shifted to the stacked
    numbering; right to left, each accepting row of a part takes the next part's start row
    where it is dead, and accepts when that start does. ``accepting`` receives the result."""
    parts = offsets.shape[0] - 1
    for part in range(parts):
        shift = offsets[part]
        for state in range(offsets[part], offsets[part + 1]):
            for byte in range(table.shape[1]):
                if table[state, byte] >= 0:
                    table[state, byte] += shift
    for state in range(offsets[parts - 1], offsets[parts]):
        accepting[state] = part_accepting[state]
    for part in range(parts - 2, -1, -1):
        entry = offsets[part + 1]
        for state in range(offsets[part], offsets[part + 1]):
            if part_accepting[state]:
                for byte in range(table.shape[1]):
                    if table[state, byte] < 0:
                        table[state, byte] = table[entry, byte]
                accepting[state] = accepting[entry]
            else:
                accepting[state] = False


@_jit(nogil=True)
def coreachable_states(transitions: np.ndarray, accepting: np.ndarray) -> np.ndarray:
    """The states of a DFA table (``[states, columns]`` int32, -1 for no move) from which an
    accepting state can be reached: a backward search over its edges.
    :func:`structgen.regex.automaton.trim`'s first half."""
    num_states, width = transitions.shape
    starts = np.zeros(num_states + 1, dtype=np.int64)
    for state in range(num_states):
        for column in range(width):
            target = transitions[state, column]
            if target >= 0:
                starts[target + 1] += 1
    for state in range(num_states):
        starts[state + 1] += starts[state]
    sources = np.empty(starts[num_states], dtype=np.int32)
    fill = starts[:num_states].copy()
    for state in range(num_states):
        for column in range(width):
            target = transitions[state, column]
            if target >= 0:
                sources[fill[target]] = state
                fill[target] += 1
    live = accepting.copy()
    pending = np.empty(num_states, dtype=np.int64)
    top = 0
    for state in range(num_states):
        if live[state]:
            pending[top] = state
            top += 1
    while top:
        top -= 1
        target = pending[top]
        for index in range(starts[target], starts[target + 1]):
            source = sources[index]
            if not live[source]:
                live[source] = True
                pending[top] = source
                top += 1
    return live


@_jit(nogil=True)
def renumber_table(
    transitions: np.ndarray, accepting: np.ndarray, keep: np.ndarray, by_class: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The states of a DFA table reachable from state 0 through states in ``keep``, numbered
    breadth-first — each state's new targets in increasing order, or with ``by_class`` in
    column order — and the table and acceptance in that numbering (moves into states not
    kept become -1). :func:`structgen.regex.automaton.renumber`'s numbering."""
    num_states, width = transitions.shape
    new_id = np.full(num_states, -1, dtype=np.int32)
    order = np.empty(num_states, dtype=np.int64)
    order[0] = 0
    new_id[0] = 0
    count = 1
    position = 0
    found = np.empty(width, dtype=np.int32)
    while position < count:
        state = order[position]
        position += 1
        fresh = 0
        for column in range(width):
            target = transitions[state, column]
            if target >= 0 and keep[target] and new_id[target] == -1:
                new_id[target] = -2  # seen in this row
                found[fresh] = target
                fresh += 1
        if not by_class:
            found[:fresh] = np.sort(found[:fresh])
        for index in range(fresh):
            target = found[index]
            new_id[target] = count
            order[count] = target
            count += 1
    table = np.empty((count, width), dtype=np.int32)
    final = np.empty(count, dtype=np.bool_)
    for index in range(count):
        state = order[index]
        final[index] = accepting[state]
        for column in range(width):
            target = transitions[state, column]
            table[index, column] = new_id[target] if target >= 0 and keep[target] else -1
    return table, final


@_jit(nogil=True)
def product_table(
    left_rows: np.ndarray,
    right_rows: np.ndarray,
    keep_dead_left: bool,
    keep_dead_right: bool,
    max_states: int,
    pair_id: np.ndarray,
) -> tuple[int, np.ndarray, np.ndarray]:
    """The reachable pair automaton of two DFA tables over one alphabet, each given with a
    sink row appended and its dead moves sent there (``int64 [states + 1, classes]``): pairs
    are numbered breadth-first, each state's new pairs in increasing pair order (pair ``a *
    (right sink + 1) + b``). A side at its sink dies with the pair unless kept (never when
    both are). ``pair_id`` (int32, one per pair, all -1) is scratch. Returns (count, pairs,
    table) — the first ``count`` entries hold — or count -1 past ``max_states`` pairs.
    :func:`structgen.regex.automaton.product`'s numbering."""
    sink_left = left_rows.shape[0] - 1
    sink_right = right_rows.shape[0] - 1
    stride = sink_right + 1
    width = left_rows.shape[1]
    capacity = 64
    order = np.empty(capacity, dtype=np.int64)
    table = np.empty((capacity, width), dtype=np.int32)
    found = np.empty(width, dtype=np.int64)
    order[0] = 0
    pair_id[0] = 0
    count = 1
    position = 0
    while position < count:
        left_state = order[position] // stride
        right_state = order[position] % stride
        fresh = 0
        for column in range(width):
            a = left_rows[left_state, column]
            b = right_rows[right_state, column]
            left_dead = a == sink_left
            right_dead = b == sink_right
            both = left_dead and right_dead
            if (left_dead and (both or not keep_dead_left)) or (
                right_dead and (both or not keep_dead_right)
            ):
                table[position, column] = -1
                continue
            key = a * stride + b
            if pair_id[key] == -1:
                pair_id[key] = -2  # (seen in this row)
                found[fresh] = key
                fresh += 1
            table[position, column] = 0  # (alive: its pair's id is written below)
        if fresh:
            if count + fresh > max_states:
                return -1, order, table
            found[:fresh] = np.sort(found[:fresh])
            if count + fresh > capacity:
                capacity = max(2 * capacity, count + fresh)
                grown_order = np.empty(capacity, dtype=np.int64)
                grown_order[:count] = order[:count]
                order = grown_order
                grown_table = np.empty((capacity, width), dtype=np.int32)
                grown_table[: position + 1] = table[: position + 1]
                table = grown_table
            for index in range(fresh):
                pair_id[found[index]] = count
                order[count] = found[index]
                count += 1
        for column in range(width):
            if table[position, column] != -1:
                a = left_rows[left_state, column]
                b = right_rows[right_state, column]
                table[position, column] = pair_id[a * stride + b]
        position += 1
    return count, order, table
