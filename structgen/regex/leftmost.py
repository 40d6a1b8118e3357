"""The lexemes of a lark terminal: the strings a regex matches *leftmost-first*, as a DFA.

lark's Earley parser with ``lexer="dynamic_complete"`` calls ``re.match`` (a backtracking,
priority-ordered matcher) at each position and then tries the prefixes of that match. So a
terminal ``T`` does not produce every full match of ``T``; it produces exactly

    L'(T) = { s : re.match(T, s) matches s whole },

independent of the text that follows. Why: if ``re.match(T, s)`` is ``s`` by path ``P`` and
``s`` is followed by ``t``, ``P`` still succeeds on ``s + t``; a path of higher priority that
ended within ``s`` would have succeeded on ``s`` alone (it reads the same characters), so the
match on ``s + t`` is ``s`` or longer, and lark's retry of its prefixes reaches ``s`` and gets
``s`` back. Conversely the match on ``s + t`` and the matches on its prefixes match themselves
whole (a higher path that failed on the longer text fails on the shorter one too). The
argument needs every assertion to look inside the lexeme: a lookbehind that can run at the
lexeme's first character sees the text before it, and a lookahead from which the match can end
without reading a character sees the text after it; both are refused by name.

``L'`` is regular. :func:`leftmost_codepoint_dfa` builds it by a subset construction over
*ordered* sets of threads — a Pike VM run on every string at once (Pike 1987; Cox, "Regular
Expression Matching: the Virtual Machine Approach", 2009): alternation tries left before
right, a greedy repeat loops before it exits, a lazy one exits first; a DFA state is the
de-duplicated tuple of threads in priority order; when a thread reaches the match, the state
accepts and every thread of lower priority is cut. Python's zero-width loop guard (an
iteration that matched nothing ends the loop) is followed exactly. A one-character lookbehind
is decided on the character just read; a one-character lookahead stays pending as a set of
allowed next characters (end of text counts as a character: ``(?!c)`` allows it). The states
are bounded by ``max_states`` (:class:`~structgen.errors.LimitExceededError`).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from structgen.errors import RegexError
from structgen.regex import automaton
from structgen.regex.ast import MAX_CODE_POINT, Alt, CharSet, Concat, Empty, Look, Node, Repeat
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import DEFAULT_MAX_STATES, ByteDFA, minimize, trim
from structgen.regex.parser import parse_regex
from structgen.regex.utf8 import utf8_sequences

__all__ = [
    "check_context_free",
    "leftmost_byte_dfa",
    "leftmost_codepoint_dfa",
    "leftmost_regex_dfa",
]

_CHAR, _SPLIT, _LOOK, _UNTIL, _MATCH = range(5)
_LIMIT_HINT = "simplify the terminal's regex or raise max_states"


def leftmost_regex_dfa(pattern: str, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
    """:func:`leftmost_byte_dfa` of ``pattern`` parsed with one-character lookarounds."""
    node = parse_regex(pattern, lookaround=True)
    try:
        return leftmost_byte_dfa(node, max_states=max_states, pattern=pattern)
    except RegexError as error:
        raise RegexError(error.reason, pattern=pattern) from None


def check_context_free(node: Node, *, pattern: str = "") -> None:
    """Refuse (:class:`RegexError`) lookarounds that see outside the lexeme.

    Cheap (no automaton is built): a lookbehind reachable before any character is read, or a
    lookahead after which the match can end without reading one.
    """
    _LeftmostBuilder(node, max_states=DEFAULT_MAX_STATES, pattern=pattern)


def leftmost_byte_dfa(
    node: Node, *, max_states: int = DEFAULT_MAX_STATES, pattern: str = ""
) -> ByteDFA:
    """The minimal, trimmed byte DFA of the UTF-8 encodings of ``L'(node)``.

    ``pattern`` (the regex text, when there is one) is shown in errors.
    """
    table = _LeftmostBuilder(node, max_states=max_states, pattern=pattern)
    transitions, accepting = table.build()
    transitions, accepting = automaton.minimize(*automaton.trim(transitions, accepting))
    return _to_bytes(table.class_ranges(), transitions, accepting, max_states=max_states)


def leftmost_codepoint_dfa(node: Node, *, max_states: int = DEFAULT_MAX_STATES) -> CodePointDFA:
    """``L'(node)`` as a minimal :class:`~structgen.regex.codepoint_dfa.CodePointDFA`."""
    table = _LeftmostBuilder(node, max_states=max_states)
    transitions, accepting = table.build()
    dfa = CodePointDFA(table.cuts, table.interval_class, transitions, accepting)
    return dfa.minimized()


@dataclass
class _Program:
    """The priority NFA: ``ops[i]`` is a tuple whose first item is the opcode.

    ``(_CHAR, charset_id, next)``; ``(_SPLIT, first, second)``; ``(_LOOK, look_index, next)``;
    ``(_UNTIL, loop, body, exit, greedy)`` — the check between two iterations of a repeat,
    ``body`` None once the maximum is reached; ``(_MATCH,)``.
    """

    ops: list[tuple]
    charsets: list[CharSet]
    looks: list[Look]
    max_ops: int

    def add(self, op: tuple) -> int:
        if len(self.ops) >= self.max_ops:
            raise automaton.StateLimit(
                self.max_ops, "the terminal's priority NFA (states)", _LIMIT_HINT
            ).exceeded()
        self.ops.append(op)
        return len(self.ops) - 1


def _compile(node: Node, following: int, program: _Program, loops: list[int]) -> int:
    """The entry of ``node`` followed by op ``following`` (built back to front)."""
    if isinstance(node, CharSet):
        program.charsets.append(node)
        return program.add((_CHAR, len(program.charsets) - 1, following))
    if isinstance(node, Empty):
        return following
    if isinstance(node, Concat):
        for part in reversed(node.parts):
            following = _compile(part, following, program, loops)
        return following
    if isinstance(node, Alt):
        entries = [_compile(option, following, program, loops) for option in node.options]
        entry = entries[-1]
        for earlier in reversed(entries[:-1]):
            entry = program.add((_SPLIT, earlier, entry))
        return entry
    if isinstance(node, Look):
        program.looks.append(node)
        return program.add((_LOOK, len(program.looks) - 1, following))
    if isinstance(node, Repeat):
        loop = loops[0]
        loops[0] += 1
        if node.high is None:
            until = program.add((_MATCH,))  # placeholder, patched below
            body = _compile(node.node, until, program, loops)
            program.ops[until] = (_UNTIL, loop, body, following, node.greedy)
            entry = until
        else:
            entry = program.add((_UNTIL, loop, None, following, node.greedy))
            for _ in range(max(node.high - node.low, 0)):
                body = _compile(node.node, entry, program, loops)
                entry = program.add((_UNTIL, loop, body, following, node.greedy))
        for _ in range(node.low):
            entry = _compile(node.node, entry, program, loops)
        return entry
    raise TypeError(f"not a regex node: {node!r}")


class _LeftmostBuilder:
    """Subset construction over ordered thread tuples, on code-point classes."""

    def __init__(self, node: Node, *, max_states: int, pattern: str = "") -> None:
        self.max_states = max_states
        self.pattern = pattern
        program = _Program([], [], [], max_ops=max_states * 8)
        match = program.add((_MATCH,))
        loops = [0]
        self.start_op = _compile(node, match, program, loops)
        self.program = program
        self._check_context_free()
        self._classes()

    # -- the alphabet ------------------------------------------------------------------------
    def _classes(self) -> None:
        sets = list(self.program.charsets) + [look.chars for look in self.program.looks]
        points = {0}
        for charset in sets:
            for low, high in charset.ranges:
                points.add(low)
                if high < MAX_CODE_POINT:
                    points.add(high + 1)
        cuts = sorted(points)
        signatures = [0] * len(cuts)
        for index, charset in enumerate(sets):
            for low, high in charset.ranges:
                first = bisect_right(cuts, low) - 1
                last = bisect_right(cuts, high) - 1
                for interval in range(first, last + 1):
                    signatures[interval] |= 1 << index
        ids: dict[int, int] = {}
        interval_class = [ids.setdefault(signature, len(ids)) for signature in signatures]
        self.cuts = np.array(cuts, dtype=np.int64)
        self.interval_class = np.array(interval_class, dtype=np.int32)
        self.num_classes = len(ids)
        self.eoi = 1 << self.num_classes  # the end of the text, as one more "character"
        self.full = (self.eoi << 1) - 1

        def mask_of(set_index: int) -> int:
            mask = 0
            for signature, class_id in ids.items():
                if signature >> set_index & 1:
                    mask |= 1 << class_id
            return mask

        count = len(self.program.charsets)
        self.char_masks = [mask_of(i) for i in range(count)]
        self.look_masks = [mask_of(count + i) for i in range(len(self.program.looks))]

    def class_ranges(self) -> list[list[tuple[int, int]]]:
        """The code-point ranges of each class."""
        ranges: list[list[tuple[int, int]]] = [[] for _ in range(self.num_classes)]
        ends = list(self.cuts[1:] - 1) + [MAX_CODE_POINT]
        for low, high, class_id in zip(self.cuts.tolist(), ends, self.interval_class.tolist()):
            ranges[class_id].append((low, int(high)))
        return ranges

    # -- refusals ----------------------------------------------------------------------------
    def _epsilon_reach(self, starts: list[int]) -> set[int]:
        seen, stack = set(starts), list(starts)
        while stack:
            op = self.program.ops[stack.pop()]
            if op[0] == _SPLIT:
                targets = [op[1], op[2]]
            elif op[0] == _LOOK:
                targets = [op[2]]
            elif op[0] == _UNTIL:
                targets = [op[3]] if op[2] is None else [op[2], op[3]]
            else:
                targets = []
            for target in targets:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def _check_context_free(self) -> None:
        ops = self.program.ops
        for index in self._epsilon_reach([self.start_op]):
            op = ops[index]
            if op[0] == _LOOK and not self.program.looks[op[1]].ahead:
                raise RegexError(
                    "a lookbehind at the start of a terminal looks at the text before the "
                    "lexeme, which a terminal cannot see; move it inside the terminal",
                    pattern=self.pattern,
                )
        for index, op in enumerate(ops):
            if op[0] == _LOOK and self.program.looks[op[1]].ahead:
                reach = self._epsilon_reach([op[2]])
                if any(ops[i][0] == _MATCH for i in reach):
                    raise RegexError(
                        "a lookahead at the end of a terminal looks at the text after the "
                        "lexeme, which a terminal cannot see; end the terminal with a "
                        "character instead",
                        pattern=self.pattern,
                    )

    # -- the Pike VM over all strings ----------------------------------------------------------
    def _closure(self, threads: list[int], previous: int | None) -> tuple[tuple, bool]:
        """Ordered ``(char op, allowed next classes)`` threads and whether a match is here.

        ``previous`` is the class just read (None at the start), for lookbehinds.
        """
        ops, full, eoi = self.program.ops, self.full, self.eoi
        covered: dict[tuple[int, frozenset[int]], int] = {}
        consumed: dict[int, int] = {}
        out: list[tuple[int, int]] = []
        cut = 0  # next characters for which a match of higher priority already ended here
        accepting = False
        stack: list[tuple[int, frozenset[int], int]] = [
            (op, frozenset(), full) for op in reversed(threads)
        ]
        while stack:
            index, flags, allowed = stack.pop()
            allowed &= ~cut
            key = (index, flags)
            allowed &= ~covered.get(key, 0)
            if not allowed:
                continue
            covered[key] = covered.get(key, 0) | allowed
            op = ops[index]
            kind = op[0]
            if kind == _CHAR:  # what follows a character does not depend on the flags
                allowed &= ~eoi & ~consumed.get(index, 0)
                if allowed:
                    consumed[index] = consumed.get(index, 0) | allowed
                    out.append((index, allowed))
            elif kind == _MATCH:
                accepting |= bool(allowed & eoi)
                cut |= allowed
                if cut == full:
                    break
            elif kind == _SPLIT:
                stack.append((op[2], flags, allowed))
                stack.append((op[1], flags, allowed))
            elif kind == _LOOK:
                look, mask = self.program.looks[op[1]], self.look_masks[op[1]]
                if look.ahead:
                    allowed &= ~mask if look.negate else mask
                    stack.append((op[2], flags, allowed))
                else:
                    inside = previous is not None and bool(mask >> previous & 1)
                    if inside != look.negate:
                        stack.append((op[2], flags, allowed))
            else:  # _UNTIL
                _, loop, body, exit_, greedy = op
                leave = (exit_, flags - {loop}, allowed)
                if body is None or loop in flags:  # the maximum, or an empty iteration
                    stack.append(leave)
                    continue
                iterate = (body, flags | {loop}, allowed)
                stack.extend([leave, iterate] if greedy else [iterate, leave])
        return tuple(out), accepting

    def build(self) -> automaton.Table:
        ops, char_masks = self.program.ops, self.char_masks
        start = self._closure([self.start_op], None)
        index = {start: 0}
        order = [start]
        rows: list[list[int]] = []
        position = 0
        while position < len(order):
            threads, _ = order[position]
            position += 1
            row = []
            for class_id in range(self.num_classes):
                bit = 1 << class_id
                moved = [
                    ops[op][2]
                    for op, allowed in threads
                    if allowed & bit and char_masks[ops[op][1]] & bit
                ]
                if not moved:
                    row.append(automaton.DEAD)
                    continue
                state = self._closure(moved, class_id)
                if not state[0] and not state[1]:
                    row.append(automaton.DEAD)
                    continue
                found = index.get(state)
                if found is None:
                    if len(order) >= self.max_states:
                        raise automaton.StateLimit(
                            self.max_states, "the terminal's leftmost-match DFA (states)",
                            _LIMIT_HINT,
                        ).exceeded()  # fmt: skip
                    found = index[state] = len(order)
                    order.append(state)
                row.append(found)
            rows.append(row)
        transitions = np.array(rows, dtype=np.int32).reshape(len(order), self.num_classes)
        accepting = np.array([state[1] for state in order], dtype=bool)
        return transitions, accepting


def _to_bytes(
    class_ranges: list[list[tuple[int, int]]],
    transitions: np.ndarray,
    accepting: np.ndarray,
    *,
    max_states: int,
) -> ByteDFA:
    """A code-point DFA → the byte DFA of the UTF-8 encodings of its language."""
    sequences = [
        [seq for low, high in ranges for seq in utf8_sequences(low, high)]
        for ranges in class_ranges
    ]
    num_states = transitions.shape[0]
    edges: list[list[tuple[int, int, int]]] = [[] for _ in range(num_states)]
    shared: dict[tuple, int] = {}
    for state in range(num_states):
        for class_id, target in enumerate(transitions[state].tolist()):
            if target < 0:
                continue
            for sequence in sequences[class_id]:
                current = state
                for depth, (lo, hi) in enumerate(sequence):
                    if depth == len(sequence) - 1:
                        edges[current].append((lo, hi, target))
                        break
                    key = (state, target, sequence[: depth + 1])
                    following = shared.get(key)
                    if following is None:
                        following = shared[key] = len(edges)
                        edges.append([])
                        edges[current].append((lo, hi, following))
                    current = following
    boundaries = {0, 256}
    for state_edges in edges:
        for lo, hi, _ in state_edges:
            boundaries.update((lo, hi + 1))
    cuts = sorted(boundaries)
    byte_class = np.zeros(256, dtype=np.int32)
    for class_id, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
        byte_class[lo:hi] = class_id
    moves = [
        [(range(int(byte_class[lo]), int(byte_class[hi]) + 1), target) for lo, hi, target in e]
        for e in edges
    ]
    table, final = automaton.determinize(
        moves,
        [[] for _ in edges],
        frozenset({0}),
        len(cuts) - 1,
        lambda subset, _at_start: any(s < num_states and accepting[s] for s in subset),
        limit=automaton.StateLimit(max_states, "the terminal's byte DFA (states)", _LIMIT_HINT),
    )
    table = np.ascontiguousarray(table[:, byte_class])
    table, final = trim(table, final)
    table, final = minimize(table, final)
    return ByteDFA(transitions=table, accepting=final)
