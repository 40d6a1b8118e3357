"""The member machine of an object as a product of small minimal automata, one per group of
keys that its conditions tie together.

The set-mode machine of :mod:`structgen.schema.objects` keeps the set of tracked keys seen (and
one flag per value-class atom): ``2^n`` states for ``n`` keys, past ``max_object_states`` for a
dozen (``JsonSchemaStore/filespec-schema``: thirteen keys named by its dependencies). Most of that
set is not needed:

* the final test is a conjunction of *conjuncts* (``required``, each ``dependentRequired`` or
  ``not: {required}``, each part of the conditions' formula), each reading a few bits; bits that
  no conjunct links are independent, so the bits split into *components* (connected through
  shared conjuncts) and the machine is the product of one machine per component;
* a key that is only ever asked "present or not" may come twice (``json.loads`` keeps the last
  value, the set of keys is the same), so adding its bit again changes nothing, and subsets of a
  component that no continuation tells apart merge: each component's subset machine is
  minimised (Moore's partition refinement) before the product. A key whose value sets a flag
  (its value class matters) stays *strict*: it cannot come twice, or the flag of an overwritten
  value would stay set.

So ``pattern → not aql`` and ``aql → not all of [pattern, exclusions, …]`` keep four classes of
nine keys (which of ``pattern``/``aql`` is there), not 512. A component of more sets than the
caller's limit (``max_object_states``) is one minimal machine per conjunct instead (they share
bits, which is sound: each reads the same moves), and the product is then minimised as a
whole (``Github_hard/o38435``: thirteen keys and flags in one group, 1038 states). The product
is explored from the start and bounded by the same limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from structgen.errors import LimitExceededError

__all__ = ["ClassMachine", "Conjunct", "class_machine"]

_DEAD = -1


@dataclass(frozen=True)
class Conjunct:
    """A condition that reads only the bits of ``mask`` of the set seen."""

    mask: int
    holds: Callable[[int], bool]


@dataclass
class ClassMachine:
    """``transitions[state]``: (move index, target state); states are tuples of class ids."""

    start: tuple
    transitions: dict[tuple, list[tuple[int, tuple]]]
    final: set[tuple]


@dataclass
class _Component:
    mask: int
    start: int  # the class of the empty set
    accepting: list[bool]
    # per letter (index into the component's letters): class → class (_DEAD: not allowed)
    steps: list[list[int]]
    letter_of: dict[int, int]  # move index → letter (moves not listed leave it as it is)
    never: bool = False  # no set of keys satisfies its conjuncts


def class_machine(
    conjuncts: list[Conjunct],
    moves: list[tuple[int, int]],
    *,
    limit: int,
    pointer: str,
    max_subsets: int | None = None,
) -> ClassMachine:
    """The machine whose paths are the move sequences whose final set satisfies every conjunct.

    ``moves[i]``: (bits the move adds, its strict bits: not allowed when already seen). A group
    reaching more than ``max_subsets`` (default ``limit``) sets is one machine per conjunct, and
    the product is then minimised.
    """
    max_subsets = limit if max_subsets is None else max_subsets
    # A strict bit goes with what its move adds (its flags): one component sees both.
    links = [Conjunct(adds | strict, _always) for adds, strict in moves if strict]
    components: list[_Component] = []
    split = False
    for mask, parts in _split(conjuncts + links):
        try:
            components.append(_minimal(mask, parts, moves, min(limit, max_subsets), pointer))
        except LimitExceededError:  # too many sets at once: one machine per conjunct instead
            split = True
            components.extend(_minimal(p.mask, [p], moves, limit, pointer) for p in parts)
    start = tuple(c.start for c in components)
    if any(c.never for c in components):
        return ClassMachine(start, {start: []}, set())
    transitions: dict[tuple, list[tuple[int, tuple]]] = {}
    queue = deque([start])
    known = {start}
    bound = max(limit, 4 * len(moves) + 16)
    while queue:
        state = queue.popleft()
        edges: list[tuple[int, tuple]] = []
        transitions[state] = edges
        for index in range(len(moves)):
            target = list(state)
            for position, component in enumerate(components):
                letter = component.letter_of.get(index)
                if letter is not None:
                    target[position] = component.steps[letter][state[position]]
            if _DEAD in target:
                continue
            following = tuple(target)
            edges.append((index, following))
            if following not in known:
                known.add(following)
                if len(known) > bound:
                    raise LimitExceededError(
                        f"the member states of the object at {pointer} (a product of "
                        f"{len(components)} groups of keys)",
                        limit,
                        hint="raise max_object_states",
                    )
                queue.append(following)
    final = {
        state for state in transitions if all(c.accepting[k] for c, k in zip(components, state))
    }
    if split:  # machines of single conjuncts overlap: merge what they tell apart needlessly
        return _minimised(ClassMachine(start, transitions, final), len(moves))
    return ClassMachine(start, transitions, final)


def _minimised(machine: ClassMachine, moves: int) -> ClassMachine:
    """``machine`` with states no continuation tells apart merged (Moore's refinement); a
    state is named by its class, as a 1-tuple."""
    states = list(machine.transitions)
    number = {state: i for i, state in enumerate(states)}
    table = [[-1] * moves for _ in states]
    for state, edges in machine.transitions.items():
        for move, target in edges:
            table[number[state]][move] = number[target]
    classes = [1 if state in machine.final else 0 for state in states]
    count = len(set(classes))
    while True:
        signatures: dict[tuple, int] = {}
        classes = [
            signatures.setdefault(
                (classes[i], *(-1 if t < 0 else classes[t] for t in row)), len(signatures)
            )
            for i, row in enumerate(table)
        ]
        if len(signatures) == count:
            break
        count = len(signatures)
    transitions: dict[tuple, list[tuple[int, tuple]]] = {}
    for i, row in enumerate(table):
        source = (classes[i],)
        if source not in transitions:
            transitions[source] = [(move, (classes[t],)) for move, t in enumerate(row) if t >= 0]
    final = {(classes[number[state]],) for state in machine.final}
    return ClassMachine((classes[number[machine.start]],), transitions, final)


def _always(seen: int) -> bool:
    return True


def _split(conjuncts: list[Conjunct]) -> list[tuple[int, list[Conjunct]]]:
    """The conjuncts grouped into components: masks that share a bit, transitively."""
    groups: list[tuple[int, list[Conjunct]]] = []
    for conjunct in conjuncts:
        mask, parts = conjunct.mask, [conjunct]
        kept = []
        for other_mask, other_parts in groups:
            if other_mask & mask:
                mask |= other_mask
                parts = other_parts + parts
            else:
                kept.append((other_mask, other_parts))
        groups = kept + [(mask, parts)]
    return groups


def _reachable(mask: int, letters: list[tuple[int, int]], limit: int, pointer: str) -> list[int]:
    """The subsets of ``mask`` that some move sequence reaches, the empty set first, the rest
    in increasing order. Moves that set flags exclude one another (a discriminator's 40
    ``if`` consts are 40 flags, and 41 sets, not 2^40)."""
    seen = {0}
    frontier = [0]
    while frontier:
        following = []
        for subset in frontier:
            for adds, strict in letters:
                if strict & subset:
                    continue
                target = subset | adds
                if target not in seen:
                    seen.add(target)
                    following.append(target)
                    if len(seen) > limit:
                        raise LimitExceededError(
                            f"the member states of the object at {pointer} (more than {limit} "
                            f"sets of one group of {mask.bit_count()} keys and flags that its "
                            "conditions tie together)",
                            limit,
                            hint="raise max_object_states",
                        )
        frontier = following
    return [0, *sorted(seen - {0})]


def _minimal(
    mask: int, parts: list[Conjunct], moves: list[tuple[int, int]], limit: int, pointer: str
) -> _Component:
    """The minimal machine of one component: its subsets, merged where no continuation tells
    them apart (subsets from which nothing is accepted all become :data:`_DEAD`)."""
    letters: list[tuple[int, int]] = []
    letter_of: dict[int, int] = {}
    for move, (adds, strict) in enumerate(moves):
        pair = (adds & mask, strict & mask)
        if pair == (0, 0):
            continue
        if pair not in letters:
            letters.append(pair)
        letter_of[move] = letters.index(pair)
    subsets = _reachable(mask, letters, limit, pointer)
    size = len(subsets)
    index = {s: i for i, s in enumerate(subsets)}
    # successor[l][i]: the subset index after letter l from subset i (_DEAD: not allowed)
    successor = [
        [_DEAD if strict & s else index[s | adds] for s in subsets] for adds, strict in letters
    ]
    accepting = [all(p.holds(s) for p in parts) for s in subsets]
    live = _live(accepting, successor)
    classes = [0 if not live[i] else (2 if accepting[i] else 1) for i in range(size)]
    while True:
        signatures: dict[tuple, int] = {}
        refined = []
        for i in range(size):
            if not live[i]:
                refined.append(_DEAD)
                continue
            signature = (classes[i], *(_class(classes, live, row[i]) for row in successor))
            refined.append(signatures.setdefault(signature, len(signatures)))
        stable = len(signatures) == len(set(c for c, ok in zip(classes, live) if ok))
        classes = refined
        if stable:
            break
    count = 1 + max((c for c in classes if c != _DEAD), default=-1)
    steps = [[_DEAD] * count for _ in letters]
    class_accepting = [False] * count
    for i in range(size):
        c = classes[i]
        if c == _DEAD:
            continue
        class_accepting[c] = accepting[i]
        for letter, row in enumerate(successor):
            steps[letter][c] = _class(classes, live, row[i])
    start = classes[0]
    if start == _DEAD:  # nothing is ever accepted: a machine without final states
        return _Component(mask, 0, [False], [[_DEAD] for _ in letters], letter_of, never=True)
    return _Component(mask, start, class_accepting, steps, letter_of)


def _class(classes: list[int], live: list[bool], target: int) -> int:
    return _DEAD if target == _DEAD or not live[target] else classes[target]


def _live(accepting: list[bool], successor: list[list[int]]) -> list[bool]:
    """The subsets from which some continuation is accepted."""
    size = len(accepting)
    predecessors: list[list[int]] = [[] for _ in range(size)]
    for row in successor:
        for source, target in enumerate(row):
            if target != _DEAD and target != source:
                predecessors[target].append(source)
    live = list(accepting)
    queue = deque(i for i in range(size) if live[i])
    while queue:
        target = queue.popleft()
        for source in predecessors[target]:
            if not live[source]:
                live[source] = True
                queue.append(source)
    return live
