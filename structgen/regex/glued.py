"""Concatenations of byte DFAs that need no subset construction, glued into one table.

``X · Y`` is deterministic without determinising whenever no accepting state of ``X`` reads a
byte that ``Y``'s start reads: at such a state the lexeme either goes on in ``X`` or starts
``Y``, never both. Then the concatenation's table is ``X``'s and ``Y``'s side by side, each
accepting row of ``X`` filled in with ``Y``'s start row where it is dead. A schema's terminals
are made of such parts — a key is ``"``, one small alternation per character, ``"``,
whitespace, ``:`` and whitespace; a string is a quote, a body that never reads a bare quote and
a quote — so most of them become one plain table (a :class:`GluedDFA`) in microseconds: every
row is there at once, and the product lexer takes them all in one step instead of building
rows in Python one at a time. Parts that conflict (``a* · a``) or are lazy stay separate and are
left to :class:`~structgen.regex.concat_automaton.ConcatAutomaton`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from structgen.kernels.trie_walk import glue_tables
from structgen.regex.dfa import ByteAutomaton, ByteDFA

__all__ = ["MAX_GLUED_STATES", "GluedDFA", "glue_parts"]

MAX_GLUED_STATES = 4096
"""The largest table glued (states; 4 MB of rows): past it, parts stay a lazy concatenation."""


@dataclass(frozen=True, eq=False)
class GluedDFA(ByteDFA):
    """``parts[0] · parts[1] · …`` as one table: part ``i``'s states are numbered from
    ``offsets[i]`` and accept (with the rest read) what ``parts[i:]`` accept from them."""

    parts: tuple[ByteDFA, ...] = field(default=(), repr=False)
    offsets: tuple[int, ...] = ()

    def future(self, state: int) -> tuple[tuple[ByteAutomaton, ...], tuple[tuple[int, int], ...]]:
        """What decides every continuation ``state`` accepts, in the terms of
        :meth:`ConcatAutomaton.future <structgen.regex.concat_automaton.ConcatAutomaton.future>`
        (the parts from the state's own on, and its members numbered from there): keys that end
        alike share the walks from their common tail, glued or not."""
        index = int(np.searchsorted(self.offsets, state, side="right")) - 1
        inner = state - self.offsets[index]
        parts = self.parts[index:]
        members = [(0, inner)]
        position, accepting = 0, parts[0].accepts(inner)
        while accepting and position + 1 < len(parts):  # (the ε-closure into following parts)
            position += 1
            members.append((position, 0))
            accepting = parts[position].accepts(0)
        return parts, tuple(members)


def glue_parts(parts: list[ByteAutomaton]) -> list[ByteAutomaton]:
    """``parts`` with every run of adjacent DFAs that concatenate deterministically glued into
    one :class:`GluedDFA` (runs stop at a conflict, at a part that is not a plain DFA, and at
    :data:`MAX_GLUED_STATES`). The result concatenates to the same language."""
    out: list[ByteAutomaton] = []
    run: list[ByteDFA] = []  # the parts of the run being grown, last part first
    states = 0  # in the run
    entry = 0  # the bytes the run may start with, as bits
    for part in reversed(parts):
        if not isinstance(part, ByteDFA):
            out.extend(_close(run))
            run, states, entry = [], 0, 0
            out.append(part)
            continue
        size, ending, starting, empty = _edges(part)
        if run and (states + size > MAX_GLUED_STATES or ending & entry):
            # (too big, or an accepting state of ``part`` reads a byte the run may start with)
            out.extend(_close(run))
            run, states, entry = [], 0, 0
        run.append(part)
        states += size
        entry = starting | entry if empty else starting
    out.extend(_close(run))
    out.reverse()
    return out


_edge_memo: dict[int, tuple[ByteDFA, tuple[int, int, int, bool]]] = {}
_EDGE_MEMO_SIZE = 4096


def _edges(part: ByteDFA) -> tuple[int, int, int, bool]:
    """(states, bytes some accepting state reads, bytes the start reads, whether the start
    accepts) of a part, the byte sets as 256-bit integers; memoised by identity (parts are
    shared by every terminal that has them)."""
    found = _edge_memo.get(id(part))
    if found is not None and found[0] is part:
        return found[1]
    transitions, accepting = part.transitions, part.accepting
    ending = (transitions[accepting] >= 0).any(axis=0)
    edges = (
        part.num_states,
        _bits(ending),
        _bits(transitions[0] >= 0),
        bool(accepting[0]),
    )
    _edge_memo[id(part)] = (part, edges)
    if len(_edge_memo) > _EDGE_MEMO_SIZE:
        _edge_memo.pop(next(iter(_edge_memo)))
    return edges


def _bits(flags: np.ndarray) -> int:
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def _close(run: list[ByteDFA]) -> list[ByteAutomaton]:
    """The run (last part first) as one automaton: itself when it is one part."""
    if len(run) < 2:
        return list(run)
    return [_glue(tuple(reversed(run)))]


_memo: dict[tuple[int, ...], tuple[tuple[ByteDFA, ...], GluedDFA]] = {}
_MEMO_SIZE = 64  # (tables of whole keys are memoised by the terminal memo, by regex text)


def _glue(parts: tuple[ByteDFA, ...]) -> GluedDFA:
    """The glued table of ``parts`` (checked to concatenate deterministically), memoised by the
    parts' identities: every key of every schema ends in the same parts, and a terminal memo
    keeps the parts alive."""
    key = tuple(map(id, parts))
    found = _memo.get(key)
    if found is not None and all(a is b for a, b in zip(found[0], parts)):
        return found[1]
    sizes = [part.num_states for part in parts]
    offsets = np.zeros(len(parts) + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    transitions = np.concatenate([part.transitions for part in parts])
    accepting = np.empty(len(transitions), dtype=np.bool_)
    glue_tables(transitions, offsets, np.concatenate([part.accepting for part in parts]), accepting)
    glued = GluedDFA(
        transitions=transitions,
        accepting=accepting,
        parts=parts,
        offsets=tuple(offsets[:-1].tolist()),
    )
    _memo[key] = (parts, glued)
    if len(_memo) > _MEMO_SIZE:
        _memo.pop(next(iter(_memo)))
    return glued
