"""Regex AST → byte-level NFA (Thompson construction) within a state limit."""

from __future__ import annotations

from dataclasses import dataclass, field

from structgen.errors import LimitExceededError
from structgen.regex.ast import Alt, CharSet, Concat, Empty, Node, Repeat
from structgen.regex.utf8 import utf8_sequences


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
                hint="simplify the pattern (large bounded repeats multiply states) or raise max_states",
            )
        self.edges.append([])
        self.epsilons.append([])
        return len(self.edges) - 1

    @property
    def num_states(self) -> int:
        return len(self.edges)


def build_nfa(node: Node, *, max_states: int) -> ByteNFA:
    nfa = ByteNFA(max_states=max_states)
    nfa.start = nfa.new_state()
    nfa.final = nfa.new_state()
    _Builder(nfa).build(node, nfa.start, nfa.final)
    return nfa


class _Builder:
    def __init__(self, nfa: ByteNFA) -> None:
        self.nfa = nfa
        self._charset_cache: dict[CharSet, list[tuple[tuple[int, int], ...]]] = {}

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
        sequences = self._charset_cache.get(charset)
        if sequences is None:
            sequences = [seq for low, high in charset.ranges for seq in utf8_sequences(low, high)]
            self._charset_cache[charset] = sequences
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
