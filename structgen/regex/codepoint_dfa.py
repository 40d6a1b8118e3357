"""Deterministic automata over code points, for what one regex cannot say directly.

JSON Schema needs intersections (``pattern`` ∧ ``maxLength``, two patterns, a format and a
pattern), complements (property names *not* matched by any ``patternProperties``) and search
semantics with anchors anywhere (``^a|b$``). :class:`CodePointDFA` does these on the decoded
string, then :meth:`CodePointDFA.to_node` turns the result back into a regex AST (state
elimination), which the JSON encoding and the engine's byte DFAs take from there.

The alphabet is partitioned into *classes* (sets of code points no transition tells apart), so
Unicode-wide sets cost no more than ASCII ones. Sizes are bounded: ``max_states`` for the DFA,
``max_size`` for the regex a DFA turns into, ``max_work`` for determinisation's work (subset
elements and moves explored); past them :class:`~structgen.errors.LimitExceededError`. Long
counted repetitions are built from their body's minimal DFA (:func:`automaton.repeat`), not
unrolled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from structgen.errors import LimitExceededError
from structgen.regex import automaton
from structgen.regex.ast import MAX_CODE_POINT, Alt, CharSet, Concat, Empty, Node, Repeat
from structgen.regex.ecma import (
    Anchor,
    AnchoredAlt,
    AnchoredConcat,
    AnchoredRepeat,
    PatternNode,
    has_anchor,
)
from structgen.regex.nodes import ANY_CHAR, EMPTY, NOTHING, alt, concat, star, tree_size

__all__ = ["DEFAULT_MAX_SIZE", "DEFAULT_MAX_STATES", "CodePointDFA", "search_language"]

DEFAULT_MAX_STATES = 20_000
DEFAULT_MAX_SIZE = 200_000
DEFAULT_MAX_WORK = 5_000_000
UNROLL_LIMIT = 16
"""Repetitions with more copies than this are built by :func:`automaton.repeat`."""
DEAD = automaton.DEAD


class _NFA:
    """Thompson NFA over character sets, with ``^``/``$`` as special ε-edges."""

    def __init__(self, max_states: int, budget: automaton.WorkBudget, max_dfa_states: int) -> None:
        self.max_states = max_states
        self.budget = budget
        self.max_dfa_states = max_dfa_states
        self.edges: list[list[tuple[int, int]]] = []  # (charset id, target)
        self.eps: list[list[int]] = []
        self.start_eps: list[list[int]] = []
        self.end_eps: list[list[int]] = []
        self.charsets: list[CharSet] = []
        self._charset_ids: dict[CharSet, int] = {}

    def state(self) -> int:
        if len(self.edges) >= self.max_states:
            raise LimitExceededError(
                "the automaton of a pattern (NFA states)", self.max_states,
                hint="simplify the pattern or raise max_regex_states",
            )  # fmt: skip
        for table in (self.edges, self.eps, self.start_eps, self.end_eps):
            table.append([])
        return len(self.edges) - 1

    def charset_id(self, charset: CharSet) -> int:
        found = self._charset_ids.get(charset)
        if found is None:
            found = self._charset_ids[charset] = len(self.charsets)
            self.charsets.append(charset)
        return found

    def build(self, node: PatternNode, start: int, end: int) -> None:
        if isinstance(node, CharSet):
            if node.ranges:
                self.edges[start].append((self.charset_id(node), end))
        elif isinstance(node, Empty):
            self.eps[start].append(end)
        elif isinstance(node, Anchor):
            (self.start_eps if node.kind == "start" else self.end_eps)[start].append(end)
        elif isinstance(node, (Concat, AnchoredConcat)):
            current = start
            for index, part in enumerate(node.parts):
                following = end if index == len(node.parts) - 1 else self.state()
                self.build(part, current, following)
                current = following
        elif isinstance(node, (Alt, AnchoredAlt)):
            for option in node.options:
                self.build(option, start, end)
        elif isinstance(node, Repeat) and max(node.low, node.high or 0) > UNROLL_LIMIT:
            self.embed(_repeat_dfa(node, self.budget, self.max_dfa_states), start, end)
        elif isinstance(node, (Repeat, AnchoredRepeat)):
            current = start
            for _ in range(node.low):
                following = self.state()
                self.build(node.node, current, following)
                current = following
            if node.high is None:
                loop = self.state()
                self.eps[current].append(loop)
                body_end = self.state()
                self.build(node.node, loop, body_end)
                self.eps[body_end].append(loop)
                self.eps[loop].append(end)
            else:
                for _ in range(node.high - node.low):
                    following = self.state()
                    self.eps[current].append(end)
                    self.build(node.node, current, following)
                    current = following
                self.eps[current].append(end)
        else:
            raise TypeError(f"not a pattern node: {node!r}")

    def embed(self, dfa: CodePointDFA, start: int, end: int) -> None:
        """Add ``dfa``'s states, entered from ``start`` and leaving to ``end`` on acceptance."""
        charsets = dfa.class_charsets()
        base = len(self.edges)
        for _ in range(dfa.num_states):
            self.state()
        self.eps[start].append(base)
        unions: dict[tuple[int, ...], int] = {}
        for state, row in enumerate(dfa.transitions.tolist()):
            if dfa.accepting[state]:
                self.eps[base + state].append(end)
            by_target: dict[int, list[int]] = {}
            for klass, target in enumerate(row):
                if target >= 0:
                    by_target.setdefault(target, []).append(klass)
            for target, classes in by_target.items():
                key = tuple(classes)
                charset_id = unions.get(key)
                if charset_id is None:
                    label = CharSet.union_all([charsets[klass] for klass in classes])
                    charset_id = unions[key] = self.charset_id(label)
                self.edges[base + state].append((charset_id, base + target))


def _cuts_of(charsets: list[CharSet]) -> np.ndarray:
    points = {0}
    for charset in charsets:
        for low, high in charset.ranges:
            points.add(low)
            if high < MAX_CODE_POINT:
                points.add(high + 1)
    return np.array(sorted(points), dtype=np.int64)


def _interval_indices(cuts: np.ndarray, charset: CharSet) -> list[tuple[int, int]]:
    out = []
    for low, high in charset.ranges:
        first = int(np.searchsorted(cuts, low, side="right")) - 1
        last = int(np.searchsorted(cuts, high, side="right")) - 1
        out.append((first, last))
    return out


class CodePointDFA:
    """A DFA over code points: ``transitions[state, class]`` (``-1``: dead), state 0 the start.

    ``cuts`` are the first code points of the alphabet's intervals, ``interval_class`` maps
    each interval to its class.
    """

    # Set on what :meth:`minimized` returns: minimising it again gives the same tables (trim's
    # and minimisation's numbering is breadth-first, a fixed point), so it is returned as is.
    _minimal = False

    def __init__(
        self,
        cuts: np.ndarray,
        interval_class: np.ndarray,
        transitions: np.ndarray,
        accepting: np.ndarray,
    ):
        self.cuts = cuts
        self.interval_class = interval_class
        self.transitions = transitions
        self.accepting = accepting

    @property
    def num_states(self) -> int:
        return int(self.transitions.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.transitions.shape[1])

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_node(
        cls,
        node: PatternNode,
        *,
        search: bool = False,
        max_states: int = DEFAULT_MAX_STATES,
        max_work: int = DEFAULT_MAX_WORK,
        budget: automaton.WorkBudget | None = None,
    ) -> CodePointDFA:
        """The DFA of ``node`` (full match), or with ``search`` of the strings containing a match.

        ``max_states`` bounds the DFA (and ``8 · max_states`` the NFA), ``max_work`` (or the
        given ``budget``, which then reports the work spent) the determinisation's work.
        """
        if budget is None:
            budget = automaton.WorkBudget(max_work, hint=_WORK_HINT)
        nfa = _NFA(max_states * 8, budget, max_states)
        if search:
            node = AnchoredConcat((star(ANY_CHAR), node, star(ANY_CHAR)))
        start, final = nfa.state(), nfa.state()
        nfa.build(node, start, final)
        return _determinize(nfa, start, final, max_states=max_states)

    @classmethod
    def from_strings(
        cls, strings: list[str], *, max_states: int = DEFAULT_MAX_STATES
    ) -> CodePointDFA:
        """The finite language ``strings`` (a trie)."""
        node = alt(*(concat(*(CharSet(((ord(c), ord(c)),)) for c in text)) for text in strings))
        return cls.from_node(node, max_states=max_states)

    @classmethod
    def everything(cls) -> CodePointDFA:
        return cls.from_node(star(ANY_CHAR))

    # -- queries ---------------------------------------------------------------------------------
    def class_of(self, code_point: int) -> int:
        interval = int(np.searchsorted(self.cuts, code_point, side="right")) - 1
        return int(self.interval_class[interval])

    def accepts(self, text: str) -> bool:
        state = 0
        for c in text:
            state = int(self.transitions[state, self.class_of(ord(c))])
            if state < 0:
                return False
        return bool(self.accepting[state])

    def is_empty(self) -> bool:
        return not self.trimmed().accepting.any()

    def class_charsets(self) -> list[CharSet]:
        ends = np.append(self.cuts[1:] - 1, MAX_CODE_POINT)
        ranges: list[list[tuple[int, int]]] = [[] for _ in range(self.num_classes)]
        for low, high, klass in zip(
            self.cuts.tolist(), ends.tolist(), self.interval_class.tolist()
        ):
            ranges[klass].append((low, high))
        return [CharSet.of(r) for r in ranges]

    # -- boolean operations ----------------------------------------------------------------------
    def intersect(
        self, other: CodePointDFA, *, max_states: int = DEFAULT_MAX_STATES
    ) -> CodePointDFA:
        return _product(
            self,
            other,
            lambda a, b: a and b,
            max_states=max_states,
            keep_dead_left=False,
            keep_dead_right=False,
        )

    def union(self, other: CodePointDFA, *, max_states: int = DEFAULT_MAX_STATES) -> CodePointDFA:
        return _product(
            self,
            other,
            lambda a, b: a or b,
            max_states=max_states,
            keep_dead_left=True,
            keep_dead_right=True,
        )

    def difference(
        self, other: CodePointDFA, *, max_states: int = DEFAULT_MAX_STATES
    ) -> CodePointDFA:
        return _product(
            self,
            other,
            lambda a, b: a and not b,
            max_states=max_states,
            keep_dead_left=False,
            keep_dead_right=True,
        )

    def complement(self) -> CodePointDFA:
        return CodePointDFA.everything().difference(self)

    # -- normal forms ----------------------------------------------------------------------------
    def trimmed(self) -> CodePointDFA:
        """Only states reachable from the start that can reach acceptance (the start is kept)."""
        transitions, accepting = automaton.trim(self.transitions, self.accepting)
        return CodePointDFA(self.cuts, self.interval_class, transitions, accepting)

    def minimized(self) -> CodePointDFA:
        """Trimmed, then Moore's partition refinement; classes with equal columns merged."""
        if self._minimal:
            return self
        transitions, accepting = automaton.minimize(
            *automaton.trim(self.transitions, self.accepting)
        )
        dfa = CodePointDFA(self.cuts, self.interval_class, transitions, accepting)._merge_classes()
        dfa._minimal = True
        return dfa

    def _merge_classes(self) -> CodePointDFA:
        columns, inverse = np.unique(self.transitions, axis=1, return_inverse=True)
        inverse = inverse.reshape(-1)
        interval_class = inverse[self.interval_class].astype(np.int32)
        # Merge adjacent intervals of the same class.
        keep = np.ones(len(self.cuts), dtype=bool)
        keep[1:] = interval_class[1:] != interval_class[:-1]
        return CodePointDFA(
            self.cuts[keep],
            interval_class[keep],
            np.ascontiguousarray(columns.astype(np.int32)),
            self.accepting,
        )

    # -- over bytes --------------------------------------------------------------------------------
    def ascii_byte_tables(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Byte-level ``(transitions [states, 256], accepting)`` of the same language when every
        live transition reads an ASCII code point (a code point below 128 is its own UTF-8
        byte); None when some live transition reads a code point from 128 on."""
        dfa = self if self._minimal else self.trimmed()
        wide = np.unique(dfa.interval_class[np.searchsorted(dfa.cuts, 128, side="right") - 1 :])
        if (dfa.transitions[:, wide] >= 0).any():
            return None
        classes = dfa.interval_class[np.searchsorted(dfa.cuts, np.arange(128), side="right") - 1]
        transitions = np.full((dfa.num_states, 256), automaton.DEAD, dtype=np.int32)
        transitions[:, :128] = dfa.transitions[:, classes]
        return transitions, dfa.accepting.astype(bool)

    # -- back to a regex -------------------------------------------------------------------------
    def to_node(self, *, max_size: int = DEFAULT_MAX_SIZE) -> Node:
        """A regex AST with this DFA's language (state elimination, cheapest state first)."""
        dfa = self.minimized()
        if not dfa.accepting.any():
            return NOTHING
        charsets = dfa.class_charsets()
        n = dfa.num_states
        source, sink = n, n + 1
        edges: dict[tuple[int, int], Node] = {}
        outgoing: list[set[int]] = [set() for _ in range(n + 2)]
        incoming: list[set[int]] = [set() for _ in range(n + 2)]

        def add(p: int, q: int, label: Node) -> None:
            existing = edges.get((p, q))
            edges[(p, q)] = label if existing is None else alt(existing, label)
            outgoing[p].add(q)
            incoming[q].add(p)

        for state in range(n):
            by_target: dict[int, list[int]] = {}
            for klass, target in enumerate(dfa.transitions[state].tolist()):
                if target >= 0:
                    by_target.setdefault(target, []).append(klass)
            for target, classes in by_target.items():
                label = CharSet.union_all([charsets[klass] for klass in classes])
                add(state, target, label.without_surrogates())
            if dfa.accepting[state]:
                add(state, sink, EMPTY)
        add(source, 0, EMPTY)
        # Sizes are cached by node id: every node measured is kept alive until the end, so an
        # id is never reused by a later node (a stale size made the elimination order, and so
        # the regex, depend on memory addresses).
        size_cache: dict[int, int] = {}
        measured: list[Node] = []

        def size(node: Node) -> int:
            measured.append(node)
            return tree_size(node, size_cache)

        remaining = set(range(n))

        def weight(state: int) -> tuple[int, int]:
            # Delgado & Morais (2004): the growth in total label size if ``state`` goes now.
            sources = [p for p in incoming[state] if p != state]
            targets = [q for q in outgoing[state] if q != state]
            loop = edges.get((state, state))
            loop_size = size(loop) if loop is not None else 0
            cost = sum(size(edges[(p, state)]) for p in sources) * (
                len(targets) - 1
            )
            cost += sum(size(edges[(state, q)]) for q in targets) * (
                len(sources) - 1
            )
            cost += loop_size * (len(sources) * len(targets) - 1)
            return cost, state

        weights = {state: weight(state) for state in remaining}
        while remaining:
            victim = min(remaining, key=weights.__getitem__)
            neighbours = (incoming[victim] | outgoing[victim]) & remaining
            remaining.discard(victim)
            loop = edges.pop((victim, victim), None)
            middle = star(loop) if loop is not None else EMPTY
            sources = [p for p in incoming[victim] if p != victim]
            targets = [q for q in outgoing[victim] if q != victim]
            for p in sources:
                head = edges.pop((p, victim))
                outgoing[p].discard(victim)
                for q in targets:
                    label = concat(head, middle, edges[(victim, q)])
                    add(p, q, label)
                    if size(edges[(p, q)]) > max_size:
                        raise LimitExceededError(
                            "the regex of an intersected/complemented pattern (AST nodes)",
                            max_size,
                            hint="simplify the patterns or raise max_regex_size",
                        )  # fmt: skip
            for q in targets:
                edges.pop((victim, q), None)
                incoming[q].discard(victim)
            incoming[victim].clear()
            outgoing[victim].clear()
            del weights[victim]
            for state in neighbours - {victim}:
                weights[state] = weight(state)
        return edges.get((source, sink), NOTHING)


def _closure(
    nfa: _NFA, states: frozenset[int] | set[int], *, at_start: bool, at_end: bool
) -> frozenset[int]:
    stack = list(states)
    seen = set(states)
    while stack:
        state = stack.pop()
        following = list(nfa.eps[state])
        if at_start:
            following += nfa.start_eps[state]
        if at_end:
            following += nfa.end_eps[state]
        for target in following:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return frozenset(seen)


_WORK_HINT = "simplify the pattern (the limit is CodePointDFA.from_node's max_work)"


def _repeat_dfa(node: Repeat, budget: automaton.WorkBudget, max_states: int) -> CodePointDFA:
    """The minimal DFA of a long repetition: its body's minimal DFA, repeated by counters."""
    body = CodePointDFA.from_node(node.node, max_states=max_states, budget=budget).minimized()
    transitions, accepting = automaton.repeat(
        body.transitions,
        body.accepting,
        node.low,
        node.high,
        limit=automaton.StateLimit(
            max_states,
            "the automaton of a pattern (DFA states)",
            "simplify the pattern or raise max_regex_states",
        ),
        budget=budget,
    )
    return CodePointDFA(body.cuts, body.interval_class, transitions, accepting).minimized()


def _determinize(nfa: _NFA, start: int, final: int, *, max_states: int) -> CodePointDFA:
    """Subset construction (the shared core) over the classes of the NFA's character sets.

    ``^`` edges are followed only from the start, ``$`` edges only to decide acceptance; the
    start stays a state of its own, since it accepts differently from an equal later subset.
    """
    cuts = _cuts_of(nfa.charsets)
    # Classes: intervals covered by the same charsets behave alike.
    rng = np.random.default_rng(12345)
    signature = np.zeros((len(cuts), 2), dtype=np.uint64)
    charset_intervals = [_interval_indices(cuts, charset) for charset in nfa.charsets]
    weights = rng.integers(1, 2**63, size=(len(nfa.charsets), 2), dtype=np.uint64)
    for index, spans in enumerate(charset_intervals):
        for first, last in spans:
            signature[first : last + 1] += weights[index]
    _, interval_class = np.unique(signature, axis=0, return_inverse=True)
    interval_class = interval_class.reshape(-1).astype(np.int32)
    num_classes = int(interval_class.max()) + 1
    charset_classes = [
        tuple(sorted({int(c) for first, last in spans for c in interval_class[first : last + 1]}))
        for spans in charset_intervals
    ]
    moves = [
        [(charset_classes[charset_id], target) for charset_id, target in edges]
        for edges in nfa.edges
    ]

    def is_accepting(subset: frozenset[int], at_start: bool) -> bool:
        return final in _closure(nfa, subset, at_start=at_start, at_end=True)

    transitions, accepting = automaton.determinize(
        moves,
        nfa.eps,
        _closure(nfa, {start}, at_start=True, at_end=False),
        num_classes,
        is_accepting,
        limit=automaton.StateLimit(
            max_states,
            "the automaton of a pattern (DFA states)",
            "simplify the pattern or raise max_regex_states",
        ),
        distinct_start=True,
        budget=nfa.budget,
    )
    return CodePointDFA(cuts, interval_class, transitions, accepting)


def _product(
    left: CodePointDFA,
    right: CodePointDFA,
    accept: Callable[[bool, bool], bool],
    *,
    max_states: int,
    keep_dead_left: bool,
    keep_dead_right: bool,
) -> CodePointDFA:
    """Product automaton; a side that died goes on as a non-accepting sink if ``keep_dead_*``."""
    cuts = np.union1d(left.cuts, right.cuts)
    left_class = left.interval_class[np.searchsorted(left.cuts, cuts, side="right") - 1]
    right_class = right.interval_class[np.searchsorted(right.cuts, cuts, side="right") - 1]
    pairs = left_class.astype(np.int64) * (right.num_classes + 1) + right_class
    unique_pairs, interval_class = np.unique(pairs, return_inverse=True)
    class_left = (unique_pairs // (right.num_classes + 1)).astype(np.int64)
    class_right = (unique_pairs % (right.num_classes + 1)).astype(np.int64)
    transitions, accepting = automaton.product(
        (left.transitions[:, class_left], left.accepting),
        (right.transitions[:, class_right], right.accepting),
        accept,
        limit=automaton.StateLimit(
            max_states,
            "the automaton of combined string constraints (DFA states)",
            "simplify the patterns/lengths or raise max_regex_states",
        ),
        keep_dead_left=keep_dead_left,
        keep_dead_right=keep_dead_right,
    )
    return CodePointDFA(cuts, interval_class.reshape(-1).astype(np.int32), transitions, accepting)


def search_language(
    pattern: PatternNode, *, max_states: int = DEFAULT_MAX_STATES, max_size: int = DEFAULT_MAX_SIZE
) -> Node:
    """The strings that *contain* a match of ``pattern`` (ECMA ``RegExp.prototype.test``)."""
    anything = star(ANY_CHAR)
    if not has_anchor(pattern):
        return concat(anything, pattern, anything)  # type: ignore[arg-type]
    options = pattern.options if isinstance(pattern, AnchoredAlt) else (pattern,)
    simple: list[Node] = []
    for option in options:
        parts = list(option.parts) if isinstance(option, AnchoredConcat) else [option]
        anchored_start = bool(parts) and parts[0] == Anchor("start")
        anchored_end = (
            bool(parts) and parts[-1] == Anchor("end") and (len(parts) > 1 or not anchored_start)
        )
        middle = parts[int(anchored_start) : len(parts) - int(anchored_end)]
        if any(has_anchor(part) for part in middle):
            break
        simple.append(
            concat(
                EMPTY if anchored_start else anything, *middle, EMPTY if anchored_end else anything
            )
        )  # type: ignore[arg-type]
    else:
        return alt(*simple)
    return CodePointDFA.from_node(pattern, search=True, max_states=max_states).to_node(
        max_size=max_size
    )
