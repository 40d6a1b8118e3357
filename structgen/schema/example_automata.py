"""Shortest and random texts of byte automata: the terminals of :mod:`structgen.schema.example`
that carry a :class:`~structgen.regex.dfa.ByteAutomaton` instead of a regex AST.

Such a terminal (a lazy JSON-string product, a number DFA) reads its raw UTF-8 bytes from the
automaton, and its ``pattern`` only describes it. Its shortest text comes from a 0-1
breadth-first search over the states from the start (a byte that opens a code point costs 1, a
UTF-8 continuation byte 0, so "shortest" counts code points like the regex path does), trying
bytes in a friendly order (:data:`PREFERRED` first); a random text from a walk that prefers
printable ASCII and finishes along a shortest completion once it is long enough. Only rows of
states the search or walk reached are asked for: lazy automata number states on demand.
"""

from __future__ import annotations

import math
import random
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from structgen.errors import ConfigurationError, LimitExceededError

if TYPE_CHECKING:
    from structgen.regex.dfa import ByteAutomaton

__all__ = ["ASCII_WEIGHTS", "DEFAULT_MAX_STATES", "PREFERRED", "AutomatonTexts"]

# Characters the minimal instance prefers, best first; then friendly non-ASCII ones.
PREFERRED = (
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "-_.@:/+!#$%&'()*,;<=>?[]^`{|}~ \"\\éü日😀"
)
# Random choices among printable ASCII (PREFERRED[:95] is all of it): alphanumerics likelier.
ASCII_WEIGHTS = {c: (4.0 if c.isalnum() else 0.5 if c in ' \\"' else 1.0) for c in PREFERRED[:95]}
DEFAULT_MAX_STATES = 100_000  # states a search may expand before LimitExceededError

_FRIENDLY = [c.encode("utf-8") for c in PREFERRED[95:]]  # non-ASCII, as byte strings
# A backslash opens an escape in a JSON string (\n, \u00e9): rare, as in the regex path.
_BYTE_WEIGHTS = {ord(c): w * (0.02 if c == "\\" else 1.0) for c, w in ASCII_WEIGHTS.items()}


def _byte_order() -> np.ndarray:
    """All 256 bytes, friendliest first: the bytes of PREFERRED's characters in order, then
    UTF-8 continuation bytes (0xA0 up first: after 0xC2 they are printable, not C1 controls),
    lead bytes, ASCII whitespace, the other controls, and bytes UTF-8 never uses."""
    order: dict[int, None] = {}
    for char in PREFERRED:
        order.update(dict.fromkeys(char.encode("utf-8")))
    rest = [
        range(0xA0, 0xC0),
        range(0x80, 0xA0),
        range(0xC2, 0xF5),
        (0x09, 0x0A, 0x0D),
        range(0x00, 0x20),
        (0x7F,),
        range(0x100),
    ]
    for span in rest:
        order.update(dict.fromkeys(span))
    return np.array(list(order), dtype=np.int64)


_ORDER = _byte_order()
_IS_CONTINUATION = (_ORDER >= 0x80) & (_ORDER < 0xC0)


def _continuations(lead: int) -> int:
    """How many continuation bytes follow the UTF-8 lead byte ``lead`` (0 for ASCII)."""
    return 1 if 0xC0 <= lead < 0xE0 else 2 if 0xE0 <= lead < 0xF0 else 3 if lead >= 0xF0 else 0


def _code_points(data: bytes | bytearray) -> int:
    """Code points in UTF-8 ``data``: the bytes that are not continuation bytes."""
    return sum(1 for byte in data if not 0x80 <= byte < 0xC0)


class AutomatonTexts:
    """Shortest and random texts of byte automata, memoised per automaton (by identity).

    ``budget``: code points a random text may take before it finishes along a shortest
    completion; ``max_states``: states one search may expand before
    :class:`~structgen.errors.LimitExceededError` (it names the ``label`` passed).
    """

    def __init__(self, *, budget: int = 24, max_states: int = DEFAULT_MAX_STATES) -> None:
        for name, value in (("budget", budget), ("max_states", max_states)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a positive int, got {value!r}")
        self.budget = budget
        self.max_states = max_states
        # id(automaton) -> (automaton, {state: a shortest accepted continuation, None if none});
        # the automaton is held so its id is not reused.
        self._memo: dict[int, tuple[ByteAutomaton, dict[int, bytes | None]]] = {}

    def min_length(self, automaton: ByteAutomaton, *, label: str = "the automaton") -> float:
        """Code points of the shortest text ``automaton`` accepts (``inf`` when none)."""
        found = self._completion(automaton, 0, label)
        return math.inf if found is None else float(_code_points(found))

    def shortest(self, automaton: ByteAutomaton, *, label: str = "the automaton") -> str:
        """A shortest accepted text, preferring letters, then digits, then other ASCII (bytes
        that are not UTF-8, which the automata of JSON terminals never accept, become U+FFFD)."""
        found = self._completion(automaton, 0, label)
        if found is None:
            raise ConfigurationError(f"{label} accepts no text")
        return found.decode("utf-8", errors="replace")

    def sample(
        self, automaton: ByteAutomaton, rng: random.Random, *, label: str = "the automaton"
    ) -> str:
        """A random accepted text: printable ASCII most of the time; at an accepting state the
        walk stops, and elsewhere it finishes along a shortest completion, with a probability
        that grows with its length (always past ``budget`` code points). A walk stuck where no
        byte is allowed, or whose bytes are not UTF-8, gives the shortest text instead."""
        state = 0
        out = bytearray()
        points = 0
        pending = 0  # continuation bytes the current code point still needs
        while True:
            accepting = automaton.accepts(state)
            if pending == 0:
                share = points / self.budget
                if accepting and rng.random() < 0.2 + 0.8 * share:
                    break
                if (
                    share >= 1
                    or len(out) >= 4 * self.budget
                    or (not accepting and rng.random() < 0.5 * share)
                ):
                    tail = self._completion(automaton, state, label)
                    if tail is None:  # a state that cannot complete (an untrimmed automaton)
                        return self.shortest(automaton, label=label)
                    out += tail
                    break
            row = automaton.row(state)
            live = np.flatnonzero(row >= 0)
            if len(live) == 0:
                if accepting and pending == 0:
                    break
                return self.shortest(automaton, label=label)
            if pending:
                byte = self._pick_continuation(live, out, rng)
                pending -= 1
            else:
                byte = self._pick_lead(automaton, state, live, rng)
                pending = _continuations(byte)
                points += 1
            out.append(byte)
            state = int(row[byte])
        try:
            return out.decode("utf-8")
        except UnicodeDecodeError:
            return self.shortest(automaton, label=label)

    # -- the walk's choices --------------------------------------------------------------------
    def _pick_lead(
        self, automaton: ByteAutomaton, state: int, live: np.ndarray, rng: random.Random
    ) -> int:
        """The first byte of the next code point: printable ASCII 95% of the time (when any is
        allowed), else often a friendly character (é, ü, 日, 😀), else any allowed lead byte."""
        ascii_bytes = [b for b in live.tolist() if b in _BYTE_WEIGHTS]
        if ascii_bytes and rng.random() < 0.95:
            return rng.choices(ascii_bytes, [_BYTE_WEIGHTS[b] for b in ascii_bytes])[0]
        friendly = [c[0] for c in _FRIENDLY if self._allows(automaton, state, c)]
        if friendly and rng.random() < 0.6:
            return rng.choice(friendly)
        leads = [b for b in live.tolist() if b >= 0xC2]
        if leads:
            return rng.choice(leads)
        return rng.choice(ascii_bytes or live.tolist())  # controls, stray bytes: what is left

    @staticmethod
    def _pick_continuation(live: np.ndarray, out: bytearray, rng: random.Random) -> int:
        """A continuation byte: the next one of a friendly character when the walk began one,
        else a random allowed one (after 0xC2, not a C1 control when avoidable)."""
        lead = len(out) - 1
        while lead > 0 and 0x80 <= out[lead] < 0xC0:
            lead -= 1
        begun = bytes(out[lead:])
        for char in _FRIENDLY:
            if len(char) > len(begun) and char.startswith(begun) and char[len(begun)] in live:
                return char[len(begun)]
        choices = live.tolist()
        if begun == b"\xc2":
            choices = [b for b in choices if b >= 0xA0] or choices
        return rng.choice(choices)

    @staticmethod
    def _allows(automaton: ByteAutomaton, state: int, data: bytes) -> bool:
        """Whether ``data`` can be read from ``state`` (rows asked only for reached states)."""
        for byte in data:
            state = int(automaton.row(state)[byte])
            if state < 0:
                return False
        return True

    # -- shortest completions ------------------------------------------------------------------
    def _completion(self, automaton: ByteAutomaton, state: int, label: str) -> bytes | None:
        """A shortest (in code points) byte string that ``automaton`` accepts from ``state``."""
        key = id(automaton)
        entry = self._memo.get(key)
        if entry is None or entry[0] is not automaton:
            entry = self._memo[key] = (automaton, {})
        found = entry[1]
        if state not in found:
            found[state] = self._search(automaton, state, label)
        return found[state]

    def _search(self, automaton: ByteAutomaton, start: int, label: str) -> bytes | None:
        """0-1 breadth-first search from ``start`` to the nearest accepting state: a byte that
        opens a code point costs 1, a continuation byte 0; among a state's moves to one target
        the friendliest byte (:data:`_ORDER`) is kept, and targets are queued in that order."""
        distance = {start: 0}
        parent: dict[int, tuple[int, int]] = {}
        queue = deque([start])
        expanded: set[int] = set()
        while queue:
            state = queue.popleft()
            if state in expanded:
                continue
            if automaton.accepts(state):
                return _path(parent, start, state)
            if len(expanded) >= self.max_states:
                raise LimitExceededError(
                    f"the states searched for a shortest text of {label}",
                    self.max_states,
                    hint="its automaton has no short accepted text (string constraints that "
                    "are hard to meet together?)",
                )
            expanded.add(state)
            targets = automaton.row(state)[_ORDER]
            here = distance[state]
            free: list[int] = []
            for cost in (0, 1):
                mask = (targets >= 0) & (_IS_CONTINUATION if cost == 0 else ~_IS_CONTINUATION)
                if not mask.any():
                    continue
                bytes_, moved = _ORDER[mask], targets[mask]
                _, first = np.unique(moved, return_index=True)
                first.sort()  # the friendliest byte per target, targets in byte order
                for byte, target in zip(bytes_[first].tolist(), moved[first].tolist()):
                    if here + cost < distance.get(target, math.inf):
                        distance[target] = here + cost
                        parent[target] = (state, byte)
                        if cost:
                            queue.append(target)
                        else:
                            free.append(target)
            queue.extendleft(reversed(free))  # same distance: next, in byte order
        return None


def _path(parent: dict[int, tuple[int, int]], start: int, state: int) -> bytes:
    """The bytes read from ``start`` to ``state`` along ``parent`` links."""
    out = bytearray()
    while state != start:
        state, byte = parent[state]
        out.append(byte)
    out.reverse()
    return bytes(out)
