"""The concatenation of byte DFAs, determinised on demand (a :class:`ByteAutomaton`).

A schema's key terminal is ``"`` + one small alternation per character (the character or its
``\\u`` escapes) + ``"`` + whitespace + ``:`` + whitespace. Compiled whole, each key costs a
subset construction and a minimisation over a few hundred states; as a concatenation, its
parts are tiny DFAs shared by every key (memoised by the caller), and a state here is a set of
``(part, part state)`` pairs whose row is computed when a lexer first asks for it — usually for
the few states the tokens of a vocabulary can reach.

Each part is a trimmed DFA of a non-empty language, so every pair can still complete: the
liveness invariant of :class:`ByteAutomaton` holds for every state numbered here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from structgen.kernels.trie_walk import column_classes
from structgen.regex.dfa import DEAD, ByteAutomaton, ByteDFA, StateMap
from structgen.regex.lazy_dfa import LazySubsetDFA

__all__ = ["ConcatAutomaton"]

Members = tuple[tuple[int, int], ...]


class ConcatAutomaton:
    """``parts[0] · parts[1] · …`` over bytes; states numbered as they are discovered."""

    def __init__(self, parts: list[ByteAutomaton]) -> None:
        if not parts:
            raise ValueError("a concatenation needs at least one part")
        self.parts = parts
        self._last = len(parts) - 1
        self._ids: dict[Members, int] = {}
        self.members: list[Members] = []
        self._accepting: list[bool] = []
        self._rows: list[np.ndarray | None] = []
        # _singles[i]: part i's states t as the states closure({(i, t)}), for one-member rows.
        self._singles: dict[int, StateMap] = {}
        self._intern(self._closure([(0, 0)]))

    @property
    def num_states(self) -> int:
        """States numbered so far."""
        return len(self.members)

    def accepts(self, state: int) -> bool:
        return self._accepting[state]

    def future(self, state: int) -> tuple[tuple[ByteAutomaton, ...], Members]:
        """What decides every continuation ``state`` accepts: the parts from its first
        member's on, and its members numbered from that part. States with equal futures (of
        this concatenation or another one built from the same part objects: keys that end
        alike, the whitespace after every key's colon) accept the same continuations."""
        members = self.members[state]
        first = members[0][0]  # (members are sorted)
        return tuple(self.parts[first:]), tuple((i - first, q) for i, q in members)

    def row(self, state: int) -> np.ndarray:
        found = self._rows[state]
        if found is None:
            found = self._rows[state] = self._compute_row(self.members[state])
        return found

    # -- payload (see structgen.engines.cfg.persist) ------------------------------------------
    def payload(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        lazy: dict[str, dict[str, Any]] = {}
        for index, part in enumerate(self.parts):
            if isinstance(part, ByteDFA):
                arrays[f"part{index}.transitions"] = part.transitions
                arrays[f"part{index}.accepting"] = part.accepting
            else:  # a lazy part (LazySubsetDFA): its own payload
                inner_meta, inner_arrays = part.payload()  # type: ignore[attr-defined]
                lazy[str(index)] = {"meta": inner_meta, "arrays": sorted(inner_arrays)}
                for key, value in inner_arrays.items():
                    arrays[f"part{index}.{key}"] = value
        arrays["member_counts"] = np.array([len(m) for m in self.members], dtype=np.int64)
        arrays["members"] = np.array(
            [pair for members in self.members for pair in members], dtype=np.int64
        ).reshape(-1, 2)
        return {"parts": len(self.parts), "lazy_parts": lazy}, arrays

    @classmethod
    def from_payload(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> ConcatAutomaton:
        lazy = meta.get("lazy_parts", {})
        parts: list[ByteAutomaton] = []
        for i in range(int(meta["parts"])):
            entry = lazy.get(str(i))
            if entry is not None:
                inner = {key: arrays[f"part{i}.{key}"] for key in entry["arrays"]}
                parts.append(LazySubsetDFA.from_payload(entry["meta"], inner))
            else:
                parts.append(
                    ByteDFA(
                        transitions=arrays[f"part{i}.transitions"].astype(np.int32, copy=False),
                        accepting=arrays[f"part{i}.accepting"].astype(bool, copy=False),
                    )
                )
        automaton = cls(parts)
        pairs = arrays["members"].tolist()
        position = 0
        for expected, size in enumerate(arrays["member_counts"].tolist()):
            members = tuple(tuple(pair) for pair in pairs[position : position + size])
            position += size
            if automaton._intern(members) != expected:
                raise ValueError("the saved states of a concatenation are out of order")
        return automaton

    # -- construction --------------------------------------------------------------------------
    def _closure(self, pairs: list[tuple[int, int]]) -> Members:
        """``pairs`` plus the start of every following part an accepting pair may enter."""
        seen = set(pairs)
        pending = list(pairs)
        parts, last = self.parts, self._last
        while pending:
            index, state = pending.pop()
            if index < last and parts[index].accepts(state):
                following = (index + 1, 0)
                if following not in seen:
                    seen.add(following)
                    pending.append(following)
        return tuple(sorted(seen))

    def _intern(self, members: Members) -> int:
        found = self._ids.get(members)
        if found is not None:
            return found
        found = self._ids[members] = len(self.members)
        self.members.append(members)
        last, parts = self._last, self.parts
        self._accepting.append(any(i == last and parts[i].accepts(s) for i, s in members))
        self._rows.append(None)
        return found

    def _compute_row(self, members: Members) -> np.ndarray:
        parts = self.parts
        if len(members) == 1:
            index, state = members[0]
            singles = self._singles.get(index)
            if singles is None:
                singles = self._singles[index] = StateMap(
                    lambda target, i=index: self._intern(self._closure([(i, target)]))
                )
            return singles.translate(parts[index].row(state))
        rows = np.stack([parts[i].row(s) for i, s in members])  # [k, 256]
        firsts, inverse = column_classes(rows)
        owners = [i for i, _ in members]
        ids = np.empty(len(firsts) + 1, dtype=np.int32)
        ids[0] = DEAD  # (the class of a dead column is -1)
        for position, column in enumerate(rows[:, firsts].T.tolist(), 1):
            pairs = [(i, q) for i, q in zip(owners, column) if q >= 0]
            ids[position] = self._intern(self._closure(pairs))
        return ids[inverse + 1]
