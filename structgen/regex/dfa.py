"""Byte NFA → minimal, trimmed byte DFA.

Subset construction runs over byte equivalence classes (bytes no edge tells apart), stops with
:class:`~structgen.errors.LimitExceededError` past ``max_states``, then drops every state from
which no accepting state can be reached (so "not dead" means "can still complete"), and merges
equivalent states (Moore's partition refinement). The three steps are the shared core of
:mod:`structgen.regex.automaton`; :func:`trim` and :func:`minimize` are its byte-level faces.

Long counted repetitions are built from the minimal DFA of their body
(:func:`structgen.regex.automaton.repeat`) rather than unrolled. Three limits bound a
compilation, each raising a :class:`~structgen.errors.LimitExceededError` that names it:
``max_states`` (DFA states), ``max_nfa_states`` and ``max_work`` (subset elements and moves
explored, summed over the whole compilation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from structgen.errors import RegexError
from structgen.kernels.trie_walk import future_table_kernel
from structgen.regex import automaton
from structgen.regex.ast import Alt, CharSet, Concat, Node, Repeat
from structgen.regex.nfa import ByteNFA, build_nfa, needs_dfa
from structgen.regex.parser import parse_regex

__all__ = [
    "DEAD",
    "DEFAULT_MAX_NFA_STATES",
    "DEFAULT_MAX_STATES",
    "DEFAULT_MAX_WORK",
    "ByteAutomaton",
    "ByteDFA",
    "StateMap",
    "byte_nfa",
    "compile_byte_dfa",
    "minimize",
    "regex_to_dfa",
    "shortest_common_string",
    "trim",
]

DEAD = automaton.DEAD
DEFAULT_MAX_STATES = 100_000
DEFAULT_MAX_NFA_STATES = 400_000
DEFAULT_MAX_WORK = 5_000_000


@runtime_checkable
class ByteAutomaton(Protocol):
    """A deterministic automaton over bytes whose states may be discovered lazily.

    State 0 is the start. ``row(state)`` is the int32 ``[256]`` array of next states
    (``DEAD`` where the byte is not allowed); asking for a row may number new states. Every
    state a row names can still reach an accepting state (so "not dead" means "can still
    complete"), which is what lets a lexer built on it never allow a dead end. Eager tables
    (:class:`ByteDFA`) and lazy products both implement it.
    """

    def row(self, state: int) -> np.ndarray: ...

    def accepts(self, state: int) -> bool: ...


class StateMap:
    """Ids for one automaton's states in a bigger one, numbered on first sight: ``translate``
    maps a row of that automaton's next states to ids, calling ``number(state)`` once per new
    state (the lexer and lazy concatenations renumber one-member rows this way). A row whose
    states all have ids already (the common case) costs one gather."""

    _UNSEEN = -2  # no id yet (DEAD rows map to DEAD through slot 0)

    def __init__(self, number: Callable[[int], int]) -> None:
        self._number = number
        # _ids[state + 1]: the id of ``state``; _ids[0] = DEAD, so DEAD maps to itself.
        self._ids = np.full(17, self._UNSEEN, dtype=np.int32)
        self._ids[0] = DEAD

    def translate(self, targets: np.ndarray) -> np.ndarray:
        slots = targets.astype(np.int64) + 1
        top = int(slots.max())
        if len(self._ids) <= top:
            grown = np.full(2 * top + 2, self._UNSEEN, dtype=np.int32)
            grown[: len(self._ids)] = self._ids
            self._ids = grown
        mapped = self._ids[slots]
        unseen = mapped == self._UNSEEN
        if unseen.any():
            ids = self._ids
            for state in sorted(set(targets[unseen].tolist())):  # (np.unique costs more here)
                ids[state + 1] = self._number(state)
            mapped = ids[slots]
        return mapped


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

    def row(self, state: int) -> np.ndarray:
        """The next state for every byte (the :class:`ByteAutomaton` view of the table)."""
        return self.transitions[state]

    def accepts(self, state: int) -> bool:
        return bool(self.accepting[state])

    def future_digest(self, state: int, *, max_states: int = 128) -> bytes | None:
        """A digest of the automaton as read from ``state`` on: its reachable states numbered
        in breadth-first order (targets in byte order), their transitions and acceptance. States
        of this DFA or another with equal digests accept exactly the same continuations (the
        tail ``"``, whitespace, ``:`` of every schema's "any other key" terminal, say). None
        when more than ``max_states`` (at most 32,767) states are reachable (not worth
        hashing). In numba once loaded (the Python pass cost ~0.4 ms a state, on the way to
        the first mask of each new terminal state)."""
        found = _future_table(self.transitions, state, max_states)
        if found is None:
            return None
        states, table = found
        digest = hashlib.blake2b(table.tobytes(), digest_size=16)
        digest.update(np.packbits(self.accepting[states]).tobytes())
        return digest.digest()

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


def _future_table(
    transitions: np.ndarray, state: int, max_states: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """(states reachable from ``state`` in breadth-first order, targets in byte order; their
    rows renumbered in that order as int16), or None past ``max_states`` states."""
    kernel = future_table_kernel()
    if kernel is not None:
        order = np.empty(max_states, dtype=np.int32)
        out = np.empty((max_states, transitions.shape[1]), dtype=np.int16)
        number = np.full(transitions.shape[0], DEAD, dtype=np.int32)
        count = kernel(transitions, state, max_states, number, order, out)
        return None if count < 0 else (order[:count], out[:count])
    order_list = [state]
    number = {state: 0}
    position = 0
    while position < len(order_list):
        row = transitions[order_list[position]]
        position += 1
        for target in dict.fromkeys(row[row >= 0].tolist()):
            if target not in number:
                if len(order_list) == max_states:
                    return None
                number[target] = len(order_list)
                order_list.append(target)
    states = np.array(order_list, dtype=np.int64)
    renumber = np.full(transitions.shape[0] + 1, DEAD, dtype=np.int16)  # [-1] stays DEAD
    renumber[states] = np.arange(len(order_list), dtype=np.int16)
    return states, renumber[transitions[states]]


def regex_to_dfa(
    pattern: str,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    max_nfa_states: int = DEFAULT_MAX_NFA_STATES,
    max_work: int = DEFAULT_MAX_WORK,
    budget: automaton.WorkBudget | None = None,
) -> ByteDFA:
    """Parse ``pattern`` and compile it to a minimal byte DFA (limits: :func:`compile_byte_dfa`)."""
    node = parse_regex(pattern)
    try:
        return compile_byte_dfa(
            node,
            max_states=max_states,
            max_nfa_states=max_nfa_states,
            max_work=max_work,
            budget=budget,
        )
    except RegexError as error:
        raise RegexError(error.reason, pattern=pattern) from None


def compile_byte_dfa(
    node: Node,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    max_nfa_states: int = DEFAULT_MAX_NFA_STATES,
    max_work: int = DEFAULT_MAX_WORK,
    budget: automaton.WorkBudget | None = None,
) -> ByteDFA:
    """The minimal, trimmed byte DFA of ``node``; :class:`RegexError` if it matches nothing.

    ``max_states`` bounds every DFA built on the way, ``max_nfa_states`` every NFA, and
    ``max_work`` their determinisation's total work; pass a ``budget`` (which then supplies
    the work limit) to read the work spent afterwards.
    """
    chain = _byte_chain(node, max_states)
    if chain is not None:
        return chain
    if budget is None:
        budget = automaton.WorkBudget(max_work)
    limits = _Limits(max_states, max_nfa_states, budget)
    if isinstance(node, Repeat) and needs_dfa(node):  # minimal already (not embedded in an NFA)
        transitions, accepting = trim(*_repeat_table(node, limits))
        return ByteDFA(transitions=transitions, accepting=accepting)
    transitions, accepting = _compile_table(node, limits)
    transitions, accepting = trim(transitions, accepting)
    transitions, accepting = minimize(transitions, accepting)
    return ByteDFA(transitions=transitions, accepting=accepting)


Positions = list[tuple[tuple[int, int], ...]]
"""A fixed sequence of byte sets: the inclusive byte ranges read at each position."""


def _byte_chain(node: Node, max_states: int) -> ByteDFA | None:
    """The DFA of a fixed sequence of byte sets — a literal, a quote, ``[0-9]``: one state
    per byte read, which is minimal and trimmed as it stands — or of an alternation of such
    sequences whose first bytes differ (an escaped key character: ``(?:e|\\u0065)``); None when
    ``node`` is neither (then the NFA route builds it). Each part is an ASCII set (one byte)
    or one code point (its UTF-8 bytes); a tiny terminal costs microseconds, not the
    determinisation's fixed ~0.4 ms (a key's parts are built in masks)."""
    if isinstance(node, Alt):
        return _chain_alternation(node, max_states)
    positions = _chain_positions(node)
    if positions is None or len(positions) + 1 > max_states:
        return None
    return chain_dfa(positions)


def _chain_positions(node: Node) -> Positions | None:
    """The byte ranges read at each position of a fixed sequence of byte sets, or None."""
    parts = node.parts if isinstance(node, Concat) else (node,)
    positions: Positions = []
    for part in parts:
        if not isinstance(part, CharSet) or not part.ranges:
            return None
        (low, high), last = part.ranges[0], part.ranges[-1][1]
        if last < 0x80:
            positions.append(part.ranges)
        elif low == high == last and not 0xD800 <= low <= 0xDFFF:
            positions.extend(((byte, byte),) for byte in chr(low).encode())
        else:
            return None
    return positions


def _chain_alternation(node: Alt, max_states: int) -> ByteDFA | None:
    """The minimal DFA of an alternation of byte-set sequences whose first byte sets are
    disjoint, or None. A state is the suffix still to read (the start excepted): suffixes are
    sequences of non-empty byte sets, so distinct ones have distinct languages, and each
    differs from the start's (shorter than every branch it is a suffix of) — one state per
    distinct suffix is minimal. Numbered breadth-first in byte order (``renumber``'s canonical
    numbering)."""
    branches = [_chain_positions(option) for option in node.options]
    if len(branches) < 2 or any(not branch for branch in branches):
        return None
    first = np.zeros(256, dtype=np.int32)
    for branch in branches:
        for low, high in branch[0]:  # type: ignore[index]
            first[low : high + 1] += 1
    if first.max() > 1:
        return None  # (branches share a first byte: the NFA route determinises them)
    ids: dict[tuple, int] = {}
    # per state: its moves as (byte ranges, the suffix they lead to); state 0 is the start
    rows: list[list[tuple[tuple[tuple[int, int], ...], tuple]]] = [[]]
    for branch in branches:
        rows[0].append((branch[0], tuple(branch[1:])))  # type: ignore[index]
    pending = [suffix for _, suffix in rows[0]]
    while pending:
        suffix = pending.pop()
        if suffix in ids:
            continue
        ids[suffix] = len(rows)
        rows.append([(suffix[0], suffix[1:])] if suffix else [])
        if suffix:
            pending.append(suffix[1:])
        if len(rows) > max_states:
            return None
    transitions = np.full((len(rows), 256), DEAD, dtype=np.int32)
    accepting = np.zeros(len(rows), dtype=np.bool_)
    accepting[ids[()]] = True
    for state, moves in enumerate(rows):
        for ranges, suffix in moves:
            for low, high in ranges:
                transitions[state, low : high + 1] = ids[suffix]
    transitions, accepting = automaton.renumber(transitions, accepting, by_class=True)
    return ByteDFA(transitions=transitions, accepting=accepting)


def chain_dfa(positions: Positions) -> ByteDFA:
    """The DFA reading one byte of each of ``positions`` (inclusive byte ranges) in order:
    state ``i`` has read ``i`` bytes, the last state accepts."""
    transitions = np.full((len(positions) + 1, 256), DEAD, dtype=np.int32)
    for index, ranges in enumerate(positions):
        for low, high in ranges:
            transitions[index, low : high + 1] = index + 1
    accepting = np.zeros(len(positions) + 1, dtype=np.bool_)
    accepting[-1] = True
    return ByteDFA(transitions=transitions, accepting=accepting)


def byte_nfa(
    node: Node,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    max_nfa_states: int = DEFAULT_MAX_NFA_STATES,
    max_work: int = DEFAULT_MAX_WORK,
) -> ByteNFA:
    """The byte NFA of ``node``, long counted repetitions embedded as their (memoised) DFAs —
    what :func:`compile_byte_dfa` determinises, for a caller that determinises lazily."""
    limits = _Limits(max_states, max_nfa_states, automaton.WorkBudget(max_work))
    return build_nfa(
        node, max_states=max_nfa_states, repeat_dfa=lambda repeat: _repeat_table(repeat, limits)
    )


@dataclass(frozen=True)
class _Limits:
    max_states: int
    max_nfa_states: int
    budget: automaton.WorkBudget

    def states(self) -> automaton.StateLimit:
        return automaton.StateLimit(self.max_states, _DFA_LIMIT_WHAT, _DFA_LIMIT_HINT)


def _compile_table(node: Node, limits: _Limits) -> tuple[np.ndarray, np.ndarray]:
    """The (unminimised) byte DFA of ``node``, long repetitions built by :func:`_repeat_table`."""
    nfa = build_nfa(
        node,
        max_states=limits.max_nfa_states,
        repeat_dfa=lambda repeat: _repeat_table(repeat, limits),
    )
    return _determinize(nfa, limits)


_REPEAT_MEMO_SIZE = 1024
_repeat_memo: dict[tuple[Repeat, int], tuple[np.ndarray, np.ndarray]] = {}
_body_memo: dict[tuple[Node, int], tuple[np.ndarray, np.ndarray]] = {}  # a repetition's body


def _repeat_table(node: Repeat, limits: _Limits) -> tuple[np.ndarray, np.ndarray]:
    """The minimal byte DFA of ``node``: its body's minimal DFA, repeated by counters.

    Memoised per process (bounded): the same repetitions (a JSON whitespace run, a digit run)
    recur in every key and number terminal of a schema."""
    key = (node, limits.max_states)
    found = _repeat_memo.get(key)
    if found is None:
        found = _repeat_table_uncached(node, limits)
        if len(_repeat_memo) >= _REPEAT_MEMO_SIZE:
            _repeat_memo.pop(next(iter(_repeat_memo)))
        _repeat_memo[key] = found
    return found


def _repeat_table_uncached(node: Repeat, limits: _Limits) -> tuple[np.ndarray, np.ndarray]:
    body = _body_memo.get((node.node, limits.max_states))
    if body is None:
        body = automaton.minimize(*automaton.trim(*_compile_table(node.node, limits)))
        if len(_body_memo) >= _REPEAT_MEMO_SIZE:
            _body_memo.pop(next(iter(_body_memo)))
        _body_memo[(node.node, limits.max_states)] = body
    chained = automaton.chained_repeat(*body, node.low, node.high, limits.states(), limits.budget)
    if chained is not None:  # minimal already
        return chained
    table = automaton.repeat(
        *body, node.low, node.high, limit=limits.states(), budget=limits.budget
    )
    return automaton.minimize(*automaton.trim(*table))


def trim(transitions: np.ndarray, accepting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The core's trim; :class:`RegexError` when nothing is left (an empty language)."""
    transitions, accepting = automaton.trim(transitions, accepting)
    if not accepting.any():
        raise RegexError("the regex matches no string at all", pattern="")
    return transitions, accepting


def minimize(transitions: np.ndarray, accepting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The minimal DFA of a trimmed one (:func:`structgen.regex.automaton.minimize`)."""
    return automaton.minimize(transitions, accepting)


def shortest_common_string(
    left: ByteDFA, right: ByteDFA, *, max_states: int = DEFAULT_MAX_STATES
) -> bytes | None:
    """A shortest byte string both DFAs accept (their product's shortest word), or None."""
    table = automaton.product(
        (left.transitions, left.accepting),
        (right.transitions, right.accepting),
        lambda a, b: a and b,
        limit=automaton.StateLimit(
            max_states,
            "the product of two regex DFAs (states)",
            "simplify the regexes or raise max_states",
        ),
    )
    word = automaton.shortest_accepted(*table)
    return None if word is None else bytes(word)


def _byte_classes(nfa: ByteNFA) -> np.ndarray:
    """Map each byte to a class id; bytes in one class behave identically on every edge."""
    boundaries = {0, 256}
    for edges in nfa.edges:
        for lo, hi, _ in edges:
            boundaries.add(lo)
            boundaries.add(hi + 1)
    cuts = sorted(boundaries)
    classes = np.zeros(256, dtype=np.int32)
    for class_id, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
        classes[lo:hi] = class_id
    return classes


_DFA_LIMIT_WHAT = "the regex's DFA state count"
_DFA_LIMIT_HINT = (
    "the pattern is too ambiguous to determinise (e.g. (a|b)*a(a|b){20}); "
    "simplify it or raise max_states"
)


def _determinize(nfa: ByteNFA, limits: _Limits) -> tuple[np.ndarray, np.ndarray]:
    """Subset construction over byte classes (the shared core), expanded back to 256 columns."""
    classes = _byte_classes(nfa)
    num_classes = int(classes.max()) + 1
    ranges: dict[tuple[int, int], tuple[int, ...]] = {}
    moves = []
    for edges in nfa.edges:
        state_moves = []
        for lo, hi, target in edges:
            span = ranges.get((lo, hi))
            if span is None:
                span = ranges[(lo, hi)] = tuple(range(int(classes[lo]), int(classes[hi]) + 1))
            state_moves.append((span, target))
        moves.append(state_moves)
    start = _closure(nfa, {nfa.start})
    final = nfa.final
    class_table, accepting = automaton.determinize(
        moves,
        nfa.epsilons,
        start,
        num_classes,
        lambda subset, _at_start: final in subset,
        limit=limits.states(),
        budget=limits.budget,
    )
    return np.ascontiguousarray(class_table[:, classes]), accepting


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
