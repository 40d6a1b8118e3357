"""Regex AST → byte-level NFA (Thompson construction) within a state limit.

Counted repetitions past :data:`UNROLL_LIMIT` copies are not unrolled: ``repeat_dfa`` (given by
the caller, which owns determinisation) builds their DFA at once and it is embedded here as a
block of deterministic states, so neither the NFA nor the subsets of its determinisation grow
with the bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from structgen.errors import LimitExceededError
from structgen.regex.ast import Alt, CharSet, Concat, Empty, Node, Repeat
from structgen.regex.utf8 import utf8_sequences

UNROLL_LIMIT = 16
"""Repetitions with more copies than this (``{m,n}`` with ``n`` or ``m`` above it) go by DFA."""

RepeatDFA = Callable[[Repeat], tuple[np.ndarray, np.ndarray]]
"""Builds the trimmed byte DFA (``transitions [states, 256]``, ``accepting``) of a repetition."""


def needs_dfa(node: Repeat) -> bool:
    """Whether ``node`` has too many copies to unroll."""
    return max(node.low, node.high or 0) > UNROLL_LIMIT


@dataclass
class ByteNFA:
    """States are ints; ``edges[s]`` holds ``(lo, hi, target)`` byte-range edges."""

    max_states: int
    edges: list[list[tuple[int, int, int]]] = field(default_factory=list)
    epsilons: list[list[int]] = field(default_factory=list)
    start: int = 0
    final: int = 0

    def new_state(self) -> int:
        if len(self.edges) >= self.max_states:
            raise LimitExceededError(
                "the regex's NFA state count",
                self.max_states,
                hint="simplify the pattern or raise max_nfa_states",
            )
        self.edges.append([])
        self.epsilons.append([])
        return len(self.edges) - 1

    def embed(self, transitions: np.ndarray, accepting: np.ndarray, start: int, end: int) -> None:
        """Add a byte DFA's states, entered from ``start`` and leaving to ``end`` on acceptance."""
        base = len(self.edges)
        for _ in range(transitions.shape[0]):
            self.new_state()
        self.epsilons[start].append(base)
        for state in np.flatnonzero(accepting).tolist():
            self.epsilons[base + state].append(end)
        # One edge per run of equal targets along a row.
        first = np.ones(transitions.shape, dtype=bool)
        first[:, 1:] = transitions[:, 1:] != transitions[:, :-1]
        rows, cols = np.nonzero(first)
        following = np.append(cols[1:], 256)
        following[:-1][rows[1:] != rows[:-1]] = 256
        targets = transitions[rows, cols]
        live = targets >= 0
        for row, lo, hi, target in zip(
            rows[live].tolist(),
            cols[live].tolist(),
            (following[live] - 1).tolist(),
            targets[live].tolist(),
        ):
            self.edges[base + row].append((lo, hi, base + target))

    @property
    def num_states(self) -> int:
        return len(self.edges)


# The UTF-8 byte-range sequences of a character set, shared by every NFA built in the process
# (a JSON string's escaped-character alternation recurs in every pattern of a schema).
_SEQUENCES: dict[CharSet, list[tuple[tuple[int, int], ...]]] = {}
_SEQUENCES_KEPT = 4096


def build_nfa(node: Node, *, max_states: int, repeat_dfa: RepeatDFA | None = None) -> ByteNFA:
    """The NFA of ``node``; long repetitions through ``repeat_dfa`` when given."""
    nfa = ByteNFA(max_states=max_states)
    nfa.start = nfa.new_state()
    nfa.final = nfa.new_state()
    _Builder(nfa, repeat_dfa).build(node, nfa.start, nfa.final)
    return nfa


class _Builder:
    def __init__(self, nfa: ByteNFA, repeat_dfa: RepeatDFA | None) -> None:
        self.nfa = nfa
        self.repeat_dfa = repeat_dfa

    def build(self, node: Node, start: int, end: int) -> None:
        nfa = self.nfa
        if isinstance(node, CharSet):
            self._charset(node, start, end)
        elif isinstance(node, Empty):
            nfa.epsilons[start].append(end)
        elif isinstance(node, Concat):
            current = start
            for index, part in enumerate(node.parts):
                following = end if index == len(node.parts) - 1 else nfa.new_state()
                self.build(part, current, following)
                current = following
        elif isinstance(node, Alt):
            for option in node.options:
                self.build(option, start, end)
        elif isinstance(node, Repeat):
            self._repeat(node, start, end)
        else:  # pragma: no cover - the AST is closed
            raise TypeError(f"unknown regex node {node!r}")

    def _charset(self, charset: CharSet, start: int, end: int) -> None:
        sequences = _SEQUENCES.get(charset)
        if sequences is None:
            sequences = [seq for low, high in charset.ranges for seq in utf8_sequences(low, high)]
            if len(_SEQUENCES) >= _SEQUENCES_KEPT:
                _SEQUENCES.pop(next(iter(_SEQUENCES)))
            _SEQUENCES[charset] = sequences
        # Share the states of common leading byte ranges (a small trie per character set).
        shared: dict[tuple[int, tuple[int, int]], int] = {}
        for sequence in sequences:
            state = start
            for index, (lo, hi) in enumerate(sequence):
                if index == len(sequence) - 1:
                    self.nfa.edges[state].append((lo, hi, end))
                    break
                key = (state, (lo, hi))
                following = shared.get(key)
                if following is None:
                    following = shared[key] = self.nfa.new_state()
                    self.nfa.edges[state].append((lo, hi, following))
                state = following

    def _repeat(self, node: Repeat, start: int, end: int) -> None:
        nfa = self.nfa
        if self.repeat_dfa is not None and needs_dfa(node):
            nfa.embed(*self.repeat_dfa(node), start, end)
            return
        current = start
        for _ in range(node.low):
            following = nfa.new_state()
            self.build(node.node, current, following)
            current = following
        if node.high is None:
            loop = nfa.new_state()
            nfa.epsilons[current].append(loop)
            body_end = nfa.new_state()
            self.build(node.node, loop, body_end)
            nfa.epsilons[body_end].append(loop)
            nfa.epsilons[loop].append(end)
            return
        for _ in range(node.high - node.low):
            following = nfa.new_state()
            nfa.epsilons[current].append(end)
            self.build(node.node, current, following)
            current = following
        nfa.epsilons[current].append(end)
