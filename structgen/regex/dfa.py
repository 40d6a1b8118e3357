"""Byte NFA → minimal, trimmed byte DFA.

Subset construction runs over byte equivalence classes (bytes no edge tells apart), stops with
:class:`~structgen.errors.LimitExceededError` past ``max_states``, then drops every state from
which no accepting state can be reached (so "not dead" means "can still complete"), and merges
equivalent states (Moore's partition refinement, vectorised with numpy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from structgen.errors import LimitExceededError, RegexError
from structgen.regex.ast import Node
from structgen.regex.nfa import ByteNFA, build_nfa
from structgen.regex.parser import parse_regex

DEAD = -1
DEFAULT_MAX_STATES = 100_000


@dataclass(frozen=True)
class ByteDFA:
    """A DFA over bytes: ``transitions[state, byte]`` is the next state or ``DEAD``.

    State 0 is the start. Every live state can reach an accepting state.
    """

    transitions: np.ndarray  # int32 [num_states, 256]
    accepting: np.ndarray  # bool [num_states]

    @property
    def num_states(self) -> int:
        return int(self.transitions.shape[0])

    def walk(self, state: int, data: bytes) -> int:
        """The state after reading ``data`` from ``state`` (``DEAD`` once it dies)."""
        transitions = self.transitions
        for byte in data:
            state = int(transitions[state, byte])
            if state < 0:
                return DEAD
        return state

    def fullmatch(self, data: bytes) -> bool:
        state = self.walk(0, data)
        return state >= 0 and bool(self.accepting[state])


def regex_to_dfa(pattern: str, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
    """Parse ``pattern`` and compile it to a minimal byte DFA."""
    node = parse_regex(pattern)
    try:
        return compile_byte_dfa(node, max_states=max_states)
    except RegexError as error:
        raise RegexError(error.reason, pattern=pattern) from None


def compile_byte_dfa(node: Node, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
    nfa = build_nfa(node, max_states=max_states * 4)
    transitions, accepting = _determinize(nfa, max_states=max_states)
    transitions, accepting = _trim(transitions, accepting)
    transitions, accepting = _minimize(transitions, accepting)
    return ByteDFA(transitions=transitions, accepting=accepting)


def _byte_classes(nfa: ByteNFA) -> tuple[np.ndarray, list[int]]:
    """Map each byte to a class id; bytes in one class behave identically on every edge."""
    boundaries = {0, 256}
    for edges in nfa.edges:
        for lo, hi, _ in edges:
            boundaries.add(lo)
            boundaries.add(hi + 1)
    cuts = sorted(boundaries)
    classes = np.zeros(256, dtype=np.int32)
    representatives = []
    for class_id, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
        classes[lo:hi] = class_id
        representatives.append(lo)
    return classes, representatives


def _closure(nfa: ByteNFA, states: set[int]) -> frozenset[int]:
    stack = list(states)
    seen = set(states)
    while stack:
        state = stack.pop()
        for following in nfa.epsilons[state]:
            if following not in seen:
                seen.add(following)
                stack.append(following)
    return frozenset(seen)


def _determinize(nfa: ByteNFA, *, max_states: int) -> tuple[np.ndarray, np.ndarray]:
    classes, _ = _byte_classes(nfa)
    num_classes = int(classes.max()) + 1
    # Each NFA edge as a class range (classes are contiguous in byte order).
    class_edges = [
        [(int(classes[lo]), int(classes[hi]), target) for lo, hi, target in edges] for edges in nfa.edges
    ]
    start = _closure(nfa, {nfa.start})
    index = {start: 0}
    order = [start]
    rows: list[list[int]] = []
    closure_cache: dict[frozenset[int], frozenset[int]] = {}
    position = 0
    while position < len(order):
        current = order[position]
        position += 1
        targets: list[set[int]] = [set() for _ in range(num_classes)]
        for state in current:
            for lo, hi, target in class_edges[state]:
                for class_id in range(lo, hi + 1):
                    targets[class_id].add(target)
        row = []
        for target_set in targets:
            if not target_set:
                row.append(DEAD)
                continue
            key = frozenset(target_set)
            closed = closure_cache.get(key)
            if closed is None:
                closed = closure_cache[key] = _closure(nfa, target_set)
            state_id = index.get(closed)
            if state_id is None:
                if len(order) >= max_states:
                    raise LimitExceededError(
                        "the regex's DFA state count",
                        max_states,
                        hint="the pattern is too ambiguous to determinise (e.g. (a|b)*a(a|b){20}); "
                        "simplify it or raise max_states",
                    )
                state_id = index[closed] = len(order)
                order.append(closed)
            row.append(state_id)
        rows.append(row)
    class_table = np.array(rows, dtype=np.int32).reshape(len(order), num_classes)
    transitions = class_table[:, classes]
    accepting = np.array([nfa.final in subset for subset in order], dtype=bool)
    return np.ascontiguousarray(transitions), accepting


def _trim(transitions: np.ndarray, accepting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove states that cannot reach acceptance; renumber the rest breadth-first from 0."""
    num_states = transitions.shape[0]
    live = accepting.copy()
    # Reverse reachability: iterate to a fixpoint (vectorised over all states per round).
    while True:
        safe = np.where(transitions >= 0, transitions, 0)
        reaches = ((transitions >= 0) & live[safe]).any(axis=1) | live
        if (reaches == live).all():
            break
        live = reaches
    if not live[0]:
        raise RegexError("the regex matches no string at all", pattern="")
    transitions = np.where((transitions >= 0) & live[np.where(transitions >= 0, transitions, 0)], transitions, DEAD)
    return _renumber(transitions.astype(np.int32), accepting, num_states)


def _renumber(
    transitions: np.ndarray, accepting: np.ndarray, num_states: int
) -> tuple[np.ndarray, np.ndarray]:
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
    remapped = transitions[old]
    remapped = np.where(remapped >= 0, new_id[np.where(remapped >= 0, remapped, 0)], DEAD)
    return np.ascontiguousarray(remapped.astype(np.int32)), accepting[old].copy()


def _group_rows(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Ids of the distinct rows of ``rows`` (equal rows, equal ids; ids ordered by first sight
    is not required). Rows are hashed to one uint64 (a random linear form mod 2^64) and grouped
    by hash — a 1-D sort instead of ``np.unique(axis=0)``'s row sort — then checked: should two
    different rows ever share a hash, the exact row sort is used instead."""
    hashed = (rows.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    _, first, ids = np.unique(hashed, return_index=True, return_inverse=True)
    ids = ids.reshape(-1)
    if (rows == rows[first[ids]]).all():
        return ids
    _, ids = np.unique(rows, axis=0, return_inverse=True)
    return ids.reshape(-1)


def _minimize(transitions: np.ndarray, accepting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moore partition refinement; returns the quotient DFA renumbered from the start."""
    num_states = transitions.shape[0]
    _, columns = np.unique(transitions, axis=1, return_index=True)
    compact = transitions[:, np.sort(columns)]  # one column per distinct byte behaviour
    block = accepting.astype(np.int64)
    count = len(np.unique(block))
    weights = np.random.default_rng(0x5EED).integers(1, 2**63, size=compact.shape[1] + 1, dtype=np.uint64) | np.uint64(1)
    while True:
        target_blocks = np.where(compact >= 0, block[np.where(compact >= 0, compact, 0)], -1)
        signature = np.concatenate([block[:, None], target_blocks], axis=1)
        new_block = _group_rows(signature, weights)
        new_count = int(new_block.max()) + 1
        block = new_block
        if new_count == count:
            break
        count = new_count
    if count == num_states:
        return transitions, accepting
    representative = np.zeros(count, dtype=np.int64)
    representative[block[::-1]] = np.arange(num_states)[::-1]  # the first state of each block
    quotient = transitions[representative]
    quotient = np.where(quotient >= 0, block[np.where(quotient >= 0, quotient, 0)], DEAD).astype(np.int32)
    start_block = int(block[0])
    # Put the start block first, then renumber breadth-first.
    permutation = np.arange(count)
    permutation[[0, start_block]] = permutation[[start_block, 0]]
    inverse = np.argsort(permutation)
    quotient = np.where(quotient >= 0, inverse[np.where(quotient >= 0, quotient, 0)], DEAD)[permutation]
    return _renumber(quotient.astype(np.int32), accepting[representative][permutation], count)
