"""A byte NFA determinised on demand: the subset construction, one row when asked.

For a large regex (a schema's "any other key" — the complement of its key set — or a long
alternation) the eager pipeline determinises thousands of subsets and then trims and
minimises them, while a decoder reaches a handful. Here a state is a subset of the NFA's
*important* states (those with byte edges, and the final one), numbered when first reached;
its row is computed when a lexer first asks for it. NFA states that cannot reach the final
state are dropped from every subset, so every subset numbered here can still complete: the
liveness invariant of :class:`~structgen.regex.dfa.ByteAutomaton` holds without a trim.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from structgen.errors import RegexError
from structgen.regex.dfa import DEAD
from structgen.regex.nfa import ByteNFA

__all__ = ["LazySubsetDFA"]


class LazySubsetDFA:
    """The DFA of ``nfa`` (a :class:`ByteAutomaton`), states discovered as rows are asked."""

    def __init__(self, nfa: ByteNFA) -> None:
        self.nfa = nfa
        count = nfa.num_states
        reverse: list[list[int]] = [[] for _ in range(count)]
        for source, edges in enumerate(nfa.edges):
            for _, _, target in edges:
                reverse[target].append(source)
        for source, targets in enumerate(nfa.epsilons):
            for target in targets:
                reverse[target].append(source)
        live = [False] * count
        live[nfa.final] = True
        pending = [nfa.final]
        while pending:
            for source in reverse[pending.pop()]:
                if not live[source]:
                    live[source] = True
                    pending.append(source)
        self._live = live
        cuts = sorted(
            {0, 256} | {b for edges in nfa.edges for lo, hi, _ in edges for b in (lo, hi + 1)}
        )
        self._classes = np.zeros(256, dtype=np.int64)
        for class_id, (low, high) in enumerate(zip(cuts, cuts[1:])):
            self._classes[low:high] = class_id
        self._num_classes = len(cuts) - 1
        classes = self._classes.tolist()  # (a list: indexed per edge, ~10^4 edges)
        spans: dict[tuple[int, int], tuple[int, ...]] = {}  # (lo, hi) -> its classes
        self._moves = [
            [
                (
                    spans.get((lo, hi))
                    or spans.setdefault((lo, hi), tuple(range(classes[lo], classes[hi] + 1))),
                    target,
                )
                for lo, hi, target in edges
                if live[target]
            ]
            for edges in nfa.edges
        ]
        self._ids: dict[frozenset[int], int] = {}
        self.subsets: list[frozenset[int]] = []
        self._accepting: list[bool] = []
        self._rows: list[np.ndarray | None] = []
        start = self._close({nfa.start})
        if not start:
            raise RegexError("the regex matches no string at all", pattern="")
        self._intern(start)

    @property
    def num_states(self) -> int:
        """States numbered so far."""
        return len(self.subsets)

    def accepts(self, state: int) -> bool:
        return self._accepting[state]

    def row(self, state: int) -> np.ndarray:
        found = self._rows[state]
        if found is None:
            found = self._rows[state] = self._compute_row(self.subsets[state])
        return found

    # -- payload (see structgen.engines.cfg.persist) ------------------------------------------
    def payload(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        nfa = self.nfa
        edges = [(s, lo, hi, t) for s, out in enumerate(nfa.edges) for lo, hi, t in out]
        epsilons = [(s, t) for s, out in enumerate(nfa.epsilons) for t in out]
        members = [sorted(subset) for subset in self.subsets]
        arrays = {
            "edges": np.array(edges, dtype=np.int64).reshape(-1, 4),
            "epsilons": np.array(epsilons, dtype=np.int64).reshape(-1, 2),
            "subset_sizes": np.array([len(m) for m in members], dtype=np.int64),
            "subsets": np.array([s for m in members for s in m], dtype=np.int64),
        }
        meta = {"states": nfa.num_states, "start": nfa.start, "final": nfa.final}
        return meta, arrays

    @classmethod
    def from_payload(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> LazySubsetDFA:
        count = int(meta["states"])
        nfa = ByteNFA(max_states=count)
        for _ in range(count):
            nfa.new_state()
        nfa.start, nfa.final = int(meta["start"]), int(meta["final"])
        for source, low, high, target in arrays["edges"].tolist():
            nfa.edges[source].append((low, high, target))
        for source, target in arrays["epsilons"].tolist():
            nfa.epsilons[source].append(target)
        automaton = cls(nfa)
        flat = arrays["subsets"].tolist()
        position = 0
        for expected, size in enumerate(arrays["subset_sizes"].tolist()):
            subset = frozenset(flat[position : position + size])
            position += size
            if automaton._intern(subset) != expected:
                raise ValueError("the saved subsets of a lazy DFA are out of order")
        return automaton

    # -- construction --------------------------------------------------------------------------
    def _close(self, states: set[int]) -> frozenset[int]:
        """The ε-closure of ``states``, kept to its live important states (the subset's key)."""
        nfa, live = self.nfa, self._live
        seen = set(states)
        pending = list(states)
        while pending:
            for following in nfa.epsilons[pending.pop()]:
                if following not in seen:
                    seen.add(following)
                    pending.append(following)
        final = nfa.final
        return frozenset(s for s in seen if live[s] and (self._moves[s] or s == final))

    def _intern(self, subset: frozenset[int]) -> int:
        found = self._ids.get(subset)
        if found is None:
            found = self._ids[subset] = len(self.subsets)
            self.subsets.append(subset)
            self._accepting.append(self.nfa.final in subset)
            self._rows.append(None)
        return found

    def _compute_row(self, subset: frozenset[int]) -> np.ndarray:
        targets: list[set[int]] = [set() for _ in range(self._num_classes)]
        moves = self._moves
        for state in subset:
            for classes, target in moves[state]:
                for class_id in classes:
                    targets[class_id].add(target)
        by_class = np.full(self._num_classes, DEAD, dtype=np.int32)
        for class_id, target_set in enumerate(targets):
            if target_set:
                closed = self._close(target_set)
                if closed:
                    by_class[class_id] = self._intern(closed)
        return by_class[self._classes]
