"""A JSON string terminal as a lazy product: code-point DFA × length count × JSON decoding.

:class:`JsonStringAutomaton` is a :class:`~structgen.regex.dfa.ByteAutomaton` over the bytes
``"`` + the JSON encoding of a decoded string + a closing text (``"``, or ``"`` and ``:`` with
whitespace for a key). The decoded strings are those a :class:`CodePointDFA` accepts whose
length (in code points) lies in ``[low, high]``. Its states are tuples — the DFA state, the
characters counted so far, and where the decoder is inside one encoded character (a UTF-8
sequence, ``\\``, ``\\uXX…``, a surrogate pair) — numbered as rows ask for them, so the product
of a 100-state pattern and ``maxLength: 5000`` costs only the states decoding visits.

Every character is written as :mod:`structgen.schema.json_strings` writes it: literally (not
``"``, ``\\`` or a control below U+0020; UTF-8, no surrogates), a short escape, ``\\uXXXX`` in
either hex case, or a surrogate pair beyond U+FFFF; ``canonical`` forbids ``\\u`` for printable
ASCII (what ``json.dumps`` never writes).

Soundness rests on the invariant of the protocol: a row names only states that can still reach
acceptance. A state inside a character stands for a set of code points (an interval of UTF-8
or hex prefixes); it is kept iff one of them moves the DFA to a state that can still finish
within the length bounds (:class:`~structgen.regex.lengths.LengthWindow`), which is exact.
"""

from __future__ import annotations

import hashlib
import os
import weakref
from typing import Any, NamedTuple

import numpy as np

from structgen.errors import ConfigurationError
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import DEAD, ByteDFA
from structgen.regex.lengths import DEFAULT_MAX_CELLS, LengthWindow

__all__ = ["DEFAULT_MAX_CELLS", "JsonStringAutomaton", "TwinFollower"]

_START, _BODY, _CLOSE = 0, 1, 2
# Where the decoder is inside one encoded character (the ``kind`` of a body state).
_BOUNDARY, _ESCAPE, _UTF8, _HEX, _PAIR_BACKSLASH, _PAIR_U, _LOW_HEX = range(7)
# Tails: the rest of a character whose every completion leads to one boundary state, kept as
# (that state's DFA state and count, what is left to read) so prefixes that behave alike merge.
_UTF8_TAIL, _HEX_TAIL, _PAIR_TAIL = 7, 8, 9
# A UTF-8 tail whose first continuation byte is restricted to ``b..c`` (leads E0, ED, F0, F4,
# whose valid code points are one class): ``a`` continuation bytes left.
_UTF8_FIRST = 10
_WIDTH = 7  # a state: (phase, q, n, kind, a, b, c)

_SHORT_ESCAPES = {
    ord('"'): 0x22,
    ord("\\"): 0x5C,
    ord("/"): 0x2F,
    ord("b"): 0x08,
    ord("f"): 0x0C,
    ord("n"): 0x0A,
    ord("r"): 0x0D,
    ord("t"): 0x09,
}
_HEX_DIGITS = {**{0x30 + d: d for d in range(10)}, **{0x61 + d: 10 + d for d in range(6)}}
_HEX_DIGITS.update({0x41 + d: 10 + d for d in range(6)})
# Each hex digit's value and the bytes that spell it (both cases alike: one target for both).
_HEX_SPELLINGS = tuple(
    (digit, [byte for byte, value in _HEX_DIGITS.items() if value == digit]) for digit in range(16)
)
_UTF8_VALID = {2: (0x80, 0x7FF), 3: (0x800, 0xFFFF), 4: (0x10000, 0x10FFFF)}
_SURROGATES = (0xD800, 0xDFFF)
# Printable ASCII that json.dumps writes as itself (never \u-escaped in canonical mode).
_PRINTABLE = ((0x20, 0x21), (0x23, 0x5B), (0x5D, 0x7E))
_LITERAL_ASCII = np.array(
    [0x20 <= b <= 0x7F and b not in (0x22, 0x5C) for b in range(256)], dtype=bool
)

Ranges = list[tuple[int, int]]

_NEXT_KEPT = 4096
"""``_next_states`` results kept per automaton (then forgotten all at once)."""
_BOUNDARY_IDS_KEPT = 1 << 21
"""Boundary and UTF-8 tail state ids kept per automaton (4 per DFA state and count, see
``_boundary_row``: 8 MB; past it the counts kept so far are forgotten at once)."""

BLOCK_AFTER_ROWS = 16
"""Once this many rows of character-boundary states at one count are made one by one, the rows
of every live boundary state at that count are made at once (:meth:`_boundary_block`): a walk
through a key region or a pattern's string reads most of them (o77304's "other key" string:
169 rows of ~70 µs each inside one mask), and the block is numpy over all DFA states."""
MAX_BLOCK_STATES = 4096
"""Code-point DFAs up to this many states take boundary rows in blocks."""

_twins: weakref.WeakValueDictionary[str, JsonStringAutomaton] = weakref.WeakValueDictionary()
"""Unbounded twins by their language: bounded strings of one pattern (``maxLength`` 50, 100,
255, …) share one twin, so its rows and walks are made once per process."""


def _minus(ranges: Ranges, cut: tuple[int, int]) -> Ranges:
    out: Ranges = []
    for low, high in ranges:
        if cut[1] < low or cut[0] > high:
            out.append((low, high))
            continue
        if low < cut[0]:
            out.append((low, cut[0] - 1))
        if high > cut[1]:
            out.append((cut[1] + 1, high))
    return out


def _astral(first: int, last: int) -> Ranges:
    """The code points whose high surrogate lies in ``first..last`` (clipped to D800–DBFF)."""
    first, last = max(first, 0xD800), min(last, 0xDBFF)
    if first > last:
        return []
    return [(0x10000 + ((first - 0xD800) << 10), 0x10000 + ((last - 0xD800) << 10) + 0x3FF)]


def _utf8_lead(lead: int) -> tuple[int, int]:
    """(sequence length, payload bits) of a UTF-8 lead byte 0xC2–0xF4."""
    length = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return length, lead & (0x1F if length == 2 else 0x0F if length == 3 else 0x07)


class _BoundaryShape(NamedTuple):
    """What a row at a character boundary reads that depends on the DFA alone: the literal
    ASCII bytes and their classes; the UTF-8 lead bytes whose code points are one class, that
    class and how many continuation bytes follow; the classes of the code points an escape
    can write; the other leads (as :meth:`JsonStringAutomaton._lead_classes` lists them)."""

    literal_bytes: np.ndarray
    literal_class: np.ndarray
    lead_bytes: np.ndarray
    lead_class: np.ndarray
    lead_remaining: np.ndarray
    escape_classes: np.ndarray
    other_leads: list[tuple[int, int, int, int]]


class JsonStringAutomaton:
    """``"`` + JSON encodings of ``dfa``'s strings of length ``low..high`` + ``close``, lazily.

    ``dfa`` is over code points (its state 0 the start); ``close`` a byte DFA that starts with
    ``"`` (the closing quote and what follows it). States are numbered as :meth:`row` finds
    them; :meth:`payload`/:meth:`from_payload` carry the components and that numbering.
    """

    def __init__(
        self,
        dfa: CodePointDFA,
        low: int,
        high: int | None,
        close: ByteDFA,
        *,
        canonical: bool = False,
        max_cells: int = DEFAULT_MAX_CELLS,
        states: np.ndarray | None = None,
        window: LengthWindow | None = None,
    ) -> None:
        first = np.flatnonzero(close.transitions[0] >= 0).tolist()
        if first != [0x22] or close.accepting[0]:
            raise ConfigurationError("the closing text of a JSON string must start with '\"'")
        self.dfa = dfa
        self.low = low
        self.high = high
        self.close = close
        self.canonical = canonical
        self.max_cells = max_cells
        if window is None or (window.low, window.high) != (low, high):
            window = LengthWindow(dfa.transitions, dfa.accepting, low, high, max_cells=max_cells)
        self.window = window
        self._ids: dict[tuple[int, ...], int] = {}
        self._keys: list[tuple[int, ...]] = []
        self._rows: dict[int, np.ndarray] = {}
        self._range_classes: dict[tuple[tuple[int, int], ...], np.ndarray] = {}
        self._uniform_class: dict[tuple[int, int], int] = {}  # -1: the range spans classes
        self._point_class: dict[int, int] = {}
        # (digits read, their value) → (first, last, whole, unit ranges): see _hex_target.
        self._hex_spans: dict[tuple[int, int], tuple[int, int, bool, Ranges]] = {}
        self._escapable_points: dict[int, bool] = {}  # may this code point be written as \u
        self._next: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, int]] = {}
        # Row templates of body states, by (q, kind, a, b, c, closes, good): see _compute_row.
        self._templates: dict[tuple, tuple[list, np.ndarray] | None] = {}
        self._twins: dict[int, JsonStringAutomaton] = {}  # by the lower bound they keep
        self._shape: _BoundaryShape | None = None
        # Per count: boundary and UTF-8 tail state ids by 4 q + bytes left (-1: not numbered).
        self._boundary_ids: dict[int, np.ndarray] = {}
        # Boundary rows made one by one per count (-1: that count's block is made).
        self._boundary_made: dict[int, int] = {}
        self._finish: int | None = None
        self._escapable: Ranges = [(0, 0x10FFFF)]
        if canonical:
            for span in _PRINTABLE:
                self._escapable = _minus(self._escapable, span)
        if states is None:
            self._number((_START, 0, 0, 0, 0, 0, 0))
        else:
            for key in states.tolist():
                self._number(tuple(int(v) for v in key))

    # -- the ByteAutomaton protocol ---------------------------------------------------------------
    @property
    def num_states(self) -> int:
        """States numbered so far."""
        return len(self._keys)

    def is_empty(self) -> bool:
        """Whether no string at all is accepted (then state 0 has no move)."""
        return not self.window.live(0, 0)

    def accepts(self, state: int) -> bool:
        phase, s = self._keys[state][:2]
        return phase == _CLOSE and bool(self.close.accepting[s])

    def row(self, state: int) -> np.ndarray:
        found = self._rows.get(state)
        if found is None:
            key = self._keys[state]
            if key[0] == _BODY and key[3] == _BOUNDARY and self._block_due(key[2]):
                self._boundary_block(key[2])
                found = self._rows.get(state)
            if found is None:
                found = self._rows[state] = self._compute_row(key)
                found.flags.writeable = False
        return found

    # -- walks without the count ------------------------------------------------------------------
    def free_twin(self, state: int) -> tuple[JsonStringAutomaton, int, int] | None:
        """``(twin, twin state, slack)``: the same string's automaton without an upper length
        bound, its state standing for ``state``, and how many characters from ``state`` the
        two cannot tell apart; None for a state the twin does not stand for.

        A body state whose count ``n`` is past ``low`` has ``slack = high − n − D``, where ``D``
        is the longest shortest way to acceptance over the DFA's live states: every state at
        most ``slack`` characters on can then still finish within bounds exactly when it can
        finish at all, and may close exactly when the unbounded one may. So a trie walk from
        ``state`` whose allowed tokens and lexeme ends all lie within ``slack`` bytes of the
        root (bytes bound characters) is the twin's walk — shared by every count of that
        stretch (the twin has no bounds at all). Below ``low`` the twin keeps the lower bound
        (``low..∞``, counting up to ``low``): a shortest way to acceptance of at least ``r``
        more characters is shorter than ``r + S`` (``S`` the DFA's states: a longer one
        repeats a state it can skip), so when ``high ≥ low + S − 1`` a state under ``low`` can
        finish within bounds exactly when it can finish at all, and the same slack holds."""
        if self.high is None:
            return None  # counts past ``low`` are clamped to one state already
        key = self._keys[state]
        if key[0] != _BODY:
            return None
        count = key[2]
        floor = 0 if count >= self.low else self.low
        if floor and self.high < self.low + self.dfa.num_states - 1:
            return None
        slack = self.high - count - self._finish_distance()
        if slack <= 0:
            return None
        twin = self._twins.get(floor)
        if twin is None:
            twin = JsonStringAutomaton(
                self.dfa, floor, None, self.close, canonical=self.canonical,
                max_cells=self.max_cells,
            )  # fmt: skip
            twin = _twins.setdefault(f"{twin.fingerprint()}:{self.max_cells}", twin)
            self._twins[floor] = twin
        return twin, twin._number((key[0], key[1], twin.window.clamp(count), *key[3:])), slack

    def twin_follower(self, state: int) -> TwinFollower | None:
        """A :class:`TwinFollower` reading bytes from ``state`` (a state :meth:`free_twin`
        stands for), or None."""
        twin = self.free_twin(state)
        if twin is None:
            return None
        return TwinFollower(self, state, twin[0], twin[1])

    def _finish_distance(self) -> int:
        """The most characters any live DFA state needs to reach acceptance (its shortest way)."""
        if self._finish is None:
            transitions, accepting = self.dfa.transitions, self.dfa.accepting
            distance = np.where(accepting, 0, -1).astype(np.int64)
            frontier = accepting.copy()
            steps = 0
            while frontier.any():
                steps += 1
                reaches = (transitions >= 0) & frontier[np.maximum(transitions, 0)]
                fresh = reaches.any(axis=1) & (distance < 0)
                distance[fresh] = steps
                frontier = fresh
            self._finish = int(distance.max(initial=0))
        return self._finish

    # -- serialisation -----------------------------------------------------------------------------
    def payload(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able settings and plain arrays (components, states numbered so far)."""
        meta = {
            "kind": "json_string_automaton",
            "version": 1,
            "low": self.low,
            "high": self.high,
            "canonical": self.canonical,
            "max_cells": self.max_cells,
        }
        arrays = {
            "cuts": self.dfa.cuts,
            "interval_class": self.dfa.interval_class,
            "transitions": self.dfa.transitions,
            "accepting": self.dfa.accepting,
            "close_transitions": self.close.transitions,
            "close_accepting": self.close.accepting,
            "states": np.array(self._keys, dtype=np.int64).reshape(-1, _WIDTH),
        }
        return meta, arrays

    @classmethod
    def from_payload(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> JsonStringAutomaton:
        """The automaton :meth:`payload` describes, with the same state numbers."""
        if meta.get("kind") != "json_string_automaton" or meta.get("version") != 1:
            raise ConfigurationError(f"not a JSON string automaton payload: {meta!r}")
        dfa = CodePointDFA(
            np.asarray(arrays["cuts"], dtype=np.int64),
            np.asarray(arrays["interval_class"], dtype=np.int32),
            np.asarray(arrays["transitions"], dtype=np.int32),
            np.asarray(arrays["accepting"], dtype=bool),
        )
        close = ByteDFA(
            np.asarray(arrays["close_transitions"], dtype=np.int32),
            np.asarray(arrays["close_accepting"], dtype=bool),
        )
        return cls(
            dfa,
            int(meta["low"]),
            None if meta["high"] is None else int(meta["high"]),
            close,
            canonical=bool(meta["canonical"]),
            max_cells=int(meta["max_cells"]),
            states=np.asarray(arrays["states"], dtype=np.int64),
        )

    def fingerprint(self) -> str:
        """A digest of the language (not of the numbering), for cache keys and descriptions."""
        digest = hashlib.sha256()
        digest.update(repr((self.low, self.high, self.canonical)).encode())
        dfa, close = self.dfa, self.close
        parts = (dfa.cuts, dfa.interval_class, dfa.transitions, dfa.accepting)
        for array in parts + (close.transitions, close.accepting):
            digest.update(np.ascontiguousarray(array).tobytes())
            digest.update(repr(array.shape).encode())
        return digest.hexdigest()

    # -- rows --------------------------------------------------------------------------------------
    def _number(self, key: tuple[int, ...]) -> int:
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self._keys)
            self._keys.append(key)
        return found

    def _body(self, q: int, n: int, kind: int = _BOUNDARY, a: int = 0, b: int = 0, c: int = 0):
        return self._number((_BODY, q, n, kind, a, b, c))

    def _next_states(self, q: int, n: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Per class: the next DFA state and whether it is live after one more character
        (kept: every escape state of one ``(q, n)`` asks for the same)."""
        found = self._next.get((q, n))
        if found is None:
            if len(self._next) >= _NEXT_KEPT:  # (counts of a long bounded string: many)
                self._next.clear()
            following = self.dfa.transitions[q]
            count = self.window.clamp(n + 1)
            found = self._next[(q, n)] = (
                following, self.window.live_many(following, count), count
            )  # fmt: skip
        return found

    def _any_good(self, good: np.ndarray, ranges: Ranges) -> bool:
        """Whether some code point of ``ranges`` (minus surrogates) lies in a ``good`` class."""
        return bool(good[self._classes_in(tuple(ranges))].any())

    def _classes_in(self, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
        """The classes of the code points of ``ranges`` minus surrogates (memoised: it does not
        depend on the state)."""
        found = self._range_classes.get(ranges)
        if found is None:
            cuts, parts = self.dfa.cuts, []
            for low, high in ranges:
                for a, b in _minus([(low, high)], _SURROGATES):
                    first = int(np.searchsorted(cuts, a, side="right")) - 1
                    last = int(np.searchsorted(cuts, b, side="right")) - 1
                    parts.append(self.dfa.interval_class[first : last + 1])
            found = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int32)
            self._range_classes[ranges] = found
        return found

    def _char(self, following, good, count, code_point: int) -> int:
        """The boundary state after ``code_point`` (``DEAD`` if it does not keep the state live)."""
        if _SURROGATES[0] <= code_point <= _SURROGATES[1]:
            return DEAD
        klass = self._point_class.get(code_point)
        if klass is None:
            klass = self._point_class[code_point] = self.dfa.class_of(code_point)
        if not good[klass]:
            return DEAD
        return self._body(int(following[klass]), count)

    def _unit_ranges(self, first: int, last: int) -> Ranges:
        """The code points a ``\\u`` unit in ``first..last`` can begin (BMP or a pair)."""
        bmp = [(first, last)]
        escapable_bmp: Ranges = []
        for low, high in bmp:
            for e_low, e_high in self._escapable:
                if e_low <= high and low <= e_high:
                    escapable_bmp.append((max(low, e_low), min(high, e_high)))
        return escapable_bmp + _astral(first, last)

    def _compute_row(self, key: tuple[int, ...]) -> np.ndarray:
        row = np.full(256, DEAD, dtype=np.int32)
        phase, q, n, kind, a, b, c = key
        if phase == _START:
            if self.window.live(0, 0):
                row[0x22] = self._body(0, 0)
            return row
        if phase == _CLOSE:
            for byte, target in enumerate(self.close.transitions[q].tolist()):
                if target >= 0:
                    row[byte] = self._number((_CLOSE, target, 0, 0, 0, 0, 0))
            return row
        if kind >= _UTF8_TAIL:
            self._tail_row(row, q, n, kind, a, b, c)
            return row
        following, good, count = self._next_states(q, n)
        # The row depends on the count only through ``good``, whether the string may close
        # here, and the counts its targets carry (``n`` for a character still being read,
        # ``count`` after it): rows that agree on the rest share one template.
        closes = (
            kind == _BOUNDARY and bool(self.dfa.accepting[q]) and self.window.clamp(n) >= self.low
        )
        template_key = (q, kind, a, b, c, closes, good.tobytes()) if count != n else None
        if template_key is not None:
            template = self._templates.get(template_key)
            if template is not None:
                return self._instantiate(template, n, count)
        self._fill_body_row(row, key, following, good, count)
        if template_key is not None:
            self._templates[template_key] = self._template(row, n, count)
        return row

    def _template(self, row: np.ndarray, n: int, count: int) -> tuple[list, np.ndarray] | None:
        """``row`` with each target's count written as a slot (0: ``n``, 1: ``count``); None
        when some target carries another count (then the row is not shared)."""
        targets, inverse = np.unique(row, return_inverse=True)
        patterns: list[tuple[int, ...] | None] = []
        for target in targets.tolist():
            if target < 0:
                patterns.append(None)
                continue
            key = self._keys[target]
            if key[0] != _BODY:
                patterns.append((-1, *key))
            elif key[2] == n:
                patterns.append((0, *key))
            elif key[2] == count:
                patterns.append((1, *key))
            else:
                return None
        return patterns, inverse.reshape(-1).astype(np.intp)

    def _instantiate(self, template: tuple[list, np.ndarray], n: int, count: int) -> np.ndarray:
        patterns, inverse = template
        ids = np.empty(len(patterns), dtype=np.int32)
        for index, pattern in enumerate(patterns):
            if pattern is None:
                ids[index] = DEAD
            elif pattern[0] < 0:
                ids[index] = self._number(pattern[1:])
            else:
                key = list(pattern[1:])
                key[2] = n if pattern[0] == 0 else count
                ids[index] = self._number(tuple(key))
        return ids[inverse]

    def _fill_body_row(self, row, key: tuple[int, ...], following, good, count) -> None:
        """The row of a body state at a character boundary or inside one (not a tail)."""
        _, q, n, kind, a, b, c = key
        if kind == _BOUNDARY:
            self._boundary_row(row, q, n, following, good, count)
        elif kind == _ESCAPE:
            for byte, code_point in _SHORT_ESCAPES.items():
                row[byte] = self._char(following, good, count, code_point)
            if self._any_good(good, self._unit_ranges(0, 0xFFFF)):
                row[ord("u")] = self._body(q, n, _HEX, 0, 0)
        elif kind == _HEX:
            self._hex_row(row, q, n, following, good, count, digits=a, value=b)
        elif kind == _PAIR_BACKSLASH:
            row[ord("\\")] = self._body(q, n, _PAIR_U, a)
        elif kind == _PAIR_U:
            row[ord("u")] = self._body(q, n, _LOW_HEX, a, 0, 0)
        elif kind == _LOW_HEX:
            self._low_hex_row(row, q, n, following, good, count, high_unit=a, digits=b, value=c)
        elif kind == _UTF8:
            self._utf8_row(row, q, n, following, good, count, remaining=a, prefix=b, length=c)

    def _tail_row(self, row, q: int, n: int, kind: int, left: int, low: int, high: int) -> None:
        """``left`` more bytes (continuations, hex digits, or the stages of ``\\uDC``), then
        the boundary state ``(q, n)``; for ``_UTF8_FIRST`` the next byte in ``low..high``."""
        if kind == _UTF8_FIRST:
            rest = (
                self._body(q, n)
                if left == 1
                else self._number((_BODY, q, n, _UTF8_TAIL, left - 1, 0, 0))
            )
            row[low : high + 1] = rest
            return
        if kind == _PAIR_TAIL:  # ``\\``, ``u``, ``D`` and one of ``C``–``F`` of the low unit
            allowed = {6: b"\\", 5: b"u", 4: b"dD", 3: b"cdefCDEF"}[left]
            following = (_BODY, q, n, _PAIR_TAIL, left - 1, 0, 0) if left > 3 else None
            target = self._number(following or (_BODY, q, n, _HEX_TAIL, 2, 0, 0))
            for byte in allowed:
                row[byte] = target
            return
        following = (
            self._body(q, n) if left == 1 else self._number((_BODY, q, n, kind, left - 1, 0, 0))
        )
        if kind == _UTF8_TAIL:
            row[0x80:0xC0] = following
        else:
            for byte in _HEX_DIGITS:
                row[byte] = following

    def _uniform(self, following, good, count, low: int, high: int, kind: int, left: int):
        """The tail state if every code point of ``low..high`` is in one class (live or not:
        ``DEAD``), else ``None``; the caller has checked that all of them can be written."""
        klass = self._uniform_class.get((low, high), -2)
        if klass == -2:
            klass = self._uniform_class[(low, high)] = self._class_of_range(low, high)
        if klass < 0:
            return None
        if not good[klass]:
            return DEAD
        return self._number((_BODY, int(following[klass]), count, kind, left, 0, 0))

    def _block_due(self, n: int) -> bool:
        """Whether the boundary rows at count ``n`` are now to be made as a block (counts the
        rows made one by one until then)."""
        made = self._boundary_made.get(n, 0)
        if made < 0 or self.dfa.num_states > MAX_BLOCK_STATES:
            return False
        if made + 1 < BLOCK_AFTER_ROWS:
            self._boundary_made[n] = made + 1
            return False
        self._boundary_made[n] = -1
        return True

    def _boundary_block(self, n: int) -> None:
        """The row of every live character-boundary state at count ``n`` not made yet, at once:
        what :meth:`_boundary_row` writes for each, with numpy over the DFA's states (only
        escapes, the quote and leads whose code points span classes are per state)."""
        dfa, window = self.dfa, self.window
        states = np.flatnonzero(window.live_many(np.arange(dfa.num_states), n))
        own = [self._body(q, n) for q in states.tolist()]
        pending = np.array([state not in self._rows for state in own], dtype=bool)
        states, own = states[pending], [state for state, new in zip(own, pending) if new]
        if not own:
            return
        count = window.clamp(n + 1)
        following = dfa.transitions[states]  # [states, classes]
        good = window.live_many(following, count)
        rows = np.full((len(own), 256), DEAD, dtype=np.int32)
        shape, ids = self._boundary_shape(), self._boundary_ids_at(count)
        for where, classes, extra in (
            (shape.literal_bytes, shape.literal_class, 0),
            (shape.lead_bytes, shape.lead_class, shape.lead_remaining),
        ):
            live = good[:, classes]
            keys = np.where(live, following[:, classes] * 4 + extra, 0)
            self._number_boundary(ids, np.unique(keys[live]), count)
            rows[:, where] = np.where(live, ids[keys], DEAD)
        escapes = good[:, shape.escape_classes].any(axis=1)
        for index in np.flatnonzero(escapes).tolist():
            rows[index, 0x5C] = self._body(int(states[index]), n, _ESCAPE)
        for lead, klass, low, high in shape.other_leads:
            length, prefix = _utf8_lead(lead)
            if klass >= 0:
                for index in np.flatnonzero(good[:, klass]).tolist():
                    key = (_BODY, int(following[index, klass]), count, _UTF8_FIRST, length - 1)
                    rows[index, lead] = self._number((*key, low, high))
                continue
            for index, q in enumerate(states.tolist()):
                rows[index, lead] = self._utf8_state(
                    q, n, following[index], good[index], count, length - 1, prefix, length
                )
        if window.clamp(n) >= self.low:
            closing = (_CLOSE, int(self.close.transitions[0, 0x22]), 0, 0, 0, 0, 0)
            rows[dfa.accepting[states], 0x22] = self._number(closing)
        rows.flags.writeable = False
        self._rows.update(zip(own, rows))

    def _boundary_ids_at(self, count: int) -> np.ndarray:
        """The boundary and UTF-8 tail state ids at ``count`` (see :meth:`_boundary_row`)."""
        ids = self._boundary_ids.get(count)
        if ids is None:
            size = 4 * self.dfa.num_states
            if (len(self._boundary_ids) + 1) * size > _BOUNDARY_IDS_KEPT:  # (many counts)
                self._boundary_ids.clear()
            ids = self._boundary_ids[count] = np.full(size, -1, np.int32)
        return ids

    def _number_boundary(self, ids: np.ndarray, keys: np.ndarray, count: int) -> None:
        """Number the states ``keys`` name in ``ids`` (``4 q + r``: see :meth:`_fill_from`)
        where it has none yet."""
        for key in keys[ids[keys] < 0].tolist():
            q, left = divmod(key, 4)
            kind = _BOUNDARY if left == 0 else _UTF8_TAIL
            ids[key] = self._number((_BODY, q, count, kind, left, 0, 0))

    def _boundary_row(self, row, q, n, following, good, count) -> None:
        shape = self._boundary_shape()
        ids = self._boundary_ids_at(count)
        # A literal byte goes to the boundary state of its class's next DFA state, a lead byte
        # whose code points are one class to the UTF-8 tail of that state: both numbered per
        # (next state, count) once, in ``ids`` (at 4 q, and 4 q + continuation bytes left).
        live = good[shape.literal_class]
        if live.any():
            self._fill_from(
                row, shape.literal_bytes[live], ids, following[shape.literal_class[live]] * 4, count
            )
        live = good[shape.lead_class]
        if live.any():
            keys = following[shape.lead_class[live]] * 4 + shape.lead_remaining[live]
            self._fill_from(row, shape.lead_bytes[live], ids, keys, count)
        if good[shape.escape_classes].any():
            row[0x5C] = self._body(q, n, _ESCAPE)
        for lead, klass, low, high in shape.other_leads:
            length, prefix = _utf8_lead(lead)
            if klass < 0:
                row[lead] = self._utf8_state(
                    q, n, following, good, count, length - 1, prefix, length
                )
            elif good[klass]:  # E0, ED, F0, F4: valid code points in one class
                key = (_BODY, int(following[klass]), count, _UTF8_FIRST, length - 1, low, high)
                row[lead] = self._number(key)
        if self.dfa.accepting[q] and self.window.clamp(n) >= self.low:
            row[0x22] = self._number((_CLOSE, int(self.close.transitions[0, 0x22]), 0, 0, 0, 0, 0))

    def _fill_from(self, row, where: np.ndarray, ids: np.ndarray, keys: np.ndarray, count: int):
        """``row[where]`` = the states ``keys`` name in ``ids`` (``4 q`` the boundary state of
        DFA state ``q``, ``4 q + r`` its UTF-8 tail with ``r`` bytes left), numbered now where
        ``ids`` has none yet."""
        found = ids[keys]
        if (found < 0).any():
            self._number_boundary(ids, np.unique(keys[found < 0]), count)
            found = ids[keys]
        row[where] = found

    def _boundary_shape(self) -> _BoundaryShape:
        """What a boundary row reads that depends on the DFA alone (see :class:`_BoundaryShape`)."""
        if self._shape is None:
            dfa, literal = self.dfa, np.flatnonzero(_LITERAL_ASCII)
            lead_class, uniform_leads, other_leads = self._lead_classes()
            escapes = [(cp, cp) for cp in _SHORT_ESCAPES.values()] + self._unit_ranges(0, 0xFFFF)
            self._shape = _BoundaryShape(
                literal_bytes=literal,
                literal_class=dfa.interval_class[np.searchsorted(dfa.cuts, literal, "right") - 1],
                lead_bytes=uniform_leads,
                lead_class=lead_class[uniform_leads - 0xC2],
                lead_remaining=np.where(
                    uniform_leads < 0xE0, 1, np.where(uniform_leads < 0xF0, 2, 3)
                ),
                escape_classes=self._classes_in(tuple(escapes)),
                other_leads=other_leads,
            )
        return self._shape

    def _lead_classes(self) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
        """For the UTF-8 lead bytes 0xC2–0xF4: the class of the code points each begins (-1
        where they span classes, include surrogates or invalid forms), the leads with one
        class, and the others as ``(lead, class, low, high)``: for E0, ED, F0 and F4 (whose
        valid code points are those with the first continuation byte in ``low..high``) the
        class of those code points if it is one, else -1 (read as :meth:`_utf8_state` does).
        It depends on the DFA only."""
        classes = np.full(0xF5 - 0xC2, -1, dtype=np.int64)
        others: list[tuple[int, int, int, int]] = []
        for lead in range(0xC2, 0xF5):
            length, prefix = _utf8_lead(lead)
            remaining = length - 1
            low, high = prefix << (6 * remaining), ((prefix + 1) << (6 * remaining)) - 1
            valid_low, valid_high = _UTF8_VALID[length]
            if valid_low <= low and high <= valid_high and (high < 0xD800 or low > 0xDFFF):
                classes[lead - 0xC2] = self._class_of_range(low, high)
                if classes[lead - 0xC2] < 0:
                    others.append((lead, -1, 0, 0))
                continue
            low, high = max(low, valid_low), min(high, valid_high)
            if low <= 0xDFFF and high >= 0xD800:  # (only ED: its upper half is surrogates)
                high = 0xD7FF
            shift = 6 * (remaining - 1)
            first, last = 0x80 | ((low >> shift) & 0x3F), 0x80 | ((high >> shift) & 0x3F)
            klass = self._class_of_range(low, high) if low <= high else -1
            others.append((lead, klass, first, last))
        leads = np.arange(0xC2, 0xF5)
        return classes, leads[classes >= 0], others

    def _class_of_range(self, low: int, high: int) -> int:
        """The class of every code point of ``low..high``, or -1 if they span classes."""
        cuts = self.dfa.cuts
        first = int(np.searchsorted(cuts, low, side="right")) - 1
        if first + 1 >= len(cuts) or cuts[first + 1] > high:
            return int(self.dfa.interval_class[first])
        return -1

    @staticmethod
    def _utf8_ranges(remaining: int, prefix: int, length: int) -> Ranges:
        low, high = prefix << (6 * remaining), ((prefix + 1) << (6 * remaining)) - 1
        valid_low, valid_high = _UTF8_VALID[length]
        low, high = max(low, valid_low), min(high, valid_high)
        return [(low, high)] if low <= high else []

    def _utf8_state(self, q, n, following, good, count, remaining, prefix, length) -> int:
        """The state after a UTF-8 prefix with ``remaining`` continuation bytes to read."""
        low, high = prefix << (6 * remaining), ((prefix + 1) << (6 * remaining)) - 1
        valid_low, valid_high = _UTF8_VALID[length]
        if valid_low <= low and high <= valid_high and (high < 0xD800 or low > 0xDFFF):
            tail = self._uniform(following, good, count, low, high, _UTF8_TAIL, remaining)
            if tail is not None:
                return tail
        if self._any_good(good, self._utf8_ranges(remaining, prefix, length)):
            return self._body(q, n, _UTF8, remaining, prefix, length)
        return DEAD

    def _utf8_row(self, row, q, n, following, good, count, *, remaining, prefix, length) -> None:
        for byte in range(0x80, 0xC0):
            extended = (prefix << 6) | (byte & 0x3F)
            if remaining == 1:
                valid_low, valid_high = _UTF8_VALID[length]
                if valid_low <= extended <= valid_high:
                    row[byte] = self._char(following, good, count, extended)
            else:
                row[byte] = self._utf8_state(
                    q, n, following, good, count, remaining - 1, extended, length
                )

    def _hex_row(self, row, q, n, following, good, count, *, digits, value) -> None:
        _fill_hex_digits(
            row, lambda extended: self._hex_target(q, n, following, good, count, digits, extended),
            value,
        )  # fmt: skip

    def _hex_target(self, q, n, following, good, count, digits: int, extended: int) -> int:
        """The state after a ``\\u`` escape's digit ``digits + 1`` making ``extended``."""
        if digits + 1 < 4:
            span = self._hex_spans.get((digits, extended))
            if span is None:  # (what the digits allow depends on them alone: kept)
                shift = 4 * (3 - digits)
                first, last = extended << shift, ((extended + 1) << shift) - 1
                ranges = self._unit_ranges(first, last)
                whole = (last < 0xD800 or first > 0xDFFF) and ranges == [(first, last)]
                span = self._hex_spans[(digits, extended)] = (first, last, whole, ranges)
            first, last, whole, ranges = span
            if whole:
                tail = self._uniform(following, good, count, first, last, _HEX_TAIL, 3 - digits)
                if tail is not None:
                    return tail
            if self._any_good(good, ranges):
                return self._body(q, n, _HEX, digits + 1, extended)
            return DEAD
        if 0xD800 <= extended <= 0xDBFF:
            astral = _astral(extended, extended)
            (low, high), *_ = astral
            tail = self._uniform(following, good, count, low, high, _PAIR_TAIL, 6)
            if tail is not None:
                return tail
            if self._any_good(good, astral):
                return self._body(q, n, _PAIR_BACKSLASH, extended)
            return DEAD
        if extended < 0xD800 or extended > 0xDFFF:
            escapable = self._escapable_points.get(extended)
            if escapable is None:
                escapable = self._escapable_points[extended] = bool(
                    self._unit_ranges(extended, extended)
                )
            if escapable:
                return self._char(following, good, count, extended)
        return DEAD

    def _low_hex_row(self, row, q, n, following, good, count, *, high_unit, digits, value):
        _fill_hex_digits(
            row,
            lambda extended: self._low_hex_target(
                q, n, following, good, count, high_unit, digits, extended
            ),
            value,
        )

    def _low_hex_target(self, q, n, following, good, count, high_unit, digits, extended) -> int:
        """The state after a low surrogate's digit ``digits + 1`` making ``extended``."""
        shift = 4 * (3 - digits)
        first = max(extended << shift, 0xDC00)
        last = min(((extended + 1) << shift) - 1, 0xDFFF)
        if first > last:
            return DEAD
        base = 0x10000 + ((high_unit - 0xD800) << 10)
        code_points = (base + first - 0xDC00, base + last - 0xDC00)
        if digits + 1 < 4:
            if (first, last) == (extended << shift, ((extended + 1) << shift) - 1):
                tail = self._uniform(following, good, count, *code_points, _HEX_TAIL, 3 - digits)
                if tail is not None:
                    return tail
            if self._any_good(good, [code_points]):
                return self._body(q, n, _LOW_HEX, high_unit, digits + 1, extended)
            return DEAD
        return self._char(following, good, count, code_points[0])


def _fill_hex_digits(row: np.ndarray, target_of, value: int) -> None:
    """``row`` at every byte spelling a hex digit: ``target_of(value * 16 + digit)`` (asked
    once per digit: both cases of a letter lead alike), left dead where that is dead."""
    for digit, spellings in _HEX_SPELLINGS:
        target = target_of(value * 16 + digit)
        if target != DEAD:
            for byte in spellings:
                row[byte] = target


Position = tuple[bool, int, int]
"""Where a :class:`TwinFollower` is: (in the twin, state, characters counted since the start)."""


class TwinFollower:
    """Reads bytes from a bounded string's state exactly, in its unbounded twin for as long as
    the count stays far from the bound (the twin's rows are made once per process and shared
    by every count), in the bounded automaton itself only near the bound.

    While a body state's count ``m`` satisfies ``m + 1 + D <= high`` (``D`` as in
    :meth:`JsonStringAutomaton.free_twin`), its row is the twin's row with the count carried
    along: every next state that can finish at all can finish within bounds (under ``low``,
    with the twin that keeps ``low``, too: see :meth:`JsonStringAutomaton.free_twin`). The
    count goes up when a character is complete (a boundary state or a tail, whose count is the
    one after its character, is entered from a state that is neither). Past that, the follower
    continues from the bounded state with the same key and the count filled in.
    """

    def __init__(
        self, bounded: JsonStringAutomaton, state: int, twin: JsonStringAutomaton, twin_state: int
    ) -> None:
        assert bounded.high is not None
        self.bounded = bounded
        self.twin = twin
        self.count = bounded._keys[state][2]
        self.limit = bounded.high - bounded._finish_distance() - 1
        self.start: Position = (True, twin_state, 0)

    def step(self, position: Position, byte: int) -> Position | None:
        """The position after ``byte``, None where the bounded automaton dies."""
        in_twin, state, read = position
        if not in_twin:
            target = int(self.bounded.row(state)[byte])
            return None if target < 0 else (False, target, 0)
        twin = self.twin
        target = int(twin.row(state)[byte])
        if target < 0:
            return None
        key = twin._keys[target]
        if key[0] != _BODY:  # the closing text reads alike in both
            return (False, self.bounded._number(key), 0)
        if twin._keys[state][3] < _UTF8_TAIL and (key[3] == _BOUNDARY or key[3] >= _UTF8_TAIL):
            read += 1
        count = self.count + read
        if count > self.limit:  # the next row may differ from the twin's
            return (False, self.bounded._number((_BODY, key[1], count, *key[3:])), 0)
        return (True, target, read)

    def accepts(self, position: Position) -> bool:
        in_twin, state, _ = position
        return (self.twin if in_twin else self.bounded).accepts(state)

    def follow(self, paths: list[bytes]) -> list[Position | None]:
        """The position after each of ``paths`` (None where it dies), sharing the steps of
        common prefixes."""
        results: list[Position | None] = [None] * len(paths)
        previous = b""
        trail: list[Position | None] = [self.start]  # trail[d]: after d bytes of ``previous``
        for index in sorted(range(len(paths)), key=paths.__getitem__):
            path = paths[index]
            common = len(os.path.commonprefix([previous, path]))
            del trail[common + 1 :]
            position = trail[-1]
            for byte in path[common:]:
                position = None if position is None else self.step(position, byte)
                trail.append(position)
            results[index] = trail[len(path)]
            previous = path
        return results
