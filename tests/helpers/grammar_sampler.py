"""Random strings of a grammar's language, for property tests against independent parsers.

:func:`sample` draws a random derivation of the IR (bounded in depth and size, preferring
rules that finish quickly once deep), writes each terminal as a random string of its regex (a
random walk on the terminal's byte DFA) and sometimes puts random ignored text between
terminals and at both ends. Every string it returns is in the grammar's language.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import numpy as np

from structgen.grammar.analysis import min_derivation_heights
from structgen.ir import Grammar, Rule, Terminal
from structgen.regex import Node, compile_byte_dfa, regex_to_dfa

__all__ = ["sample", "sample_terminal"]


def sample(
    grammar: Grammar,
    rng: random.Random,
    *,
    max_depth: int | None = None,
    max_terminals: int = 40,
    ignore_probability: float = 0.2,
) -> str:
    """A random string of ``grammar``'s language.

    ``max_depth`` bounds the derivation tree (default: the start's shortest derivation plus 8);
    past ``max_terminals`` terminals every nonterminal takes its shortest rule.
    """
    plan = _plan(grammar)
    start_height = plan.heights.get(grammar.start)
    if start_height is None:
        raise ValueError(f"the start rule {grammar.start!r} derives no string")
    depth_limit = start_height + 8 if max_depth is None else max(max_depth, start_height)
    pieces: list[str] = []
    emitted = 0
    stack: list[tuple[str, int]] = [(grammar.start, 0)]
    while stack:
        symbol, depth = stack.pop()
        terminal = grammar.terminals.get(symbol)
        if terminal is not None:
            _maybe_ignore(grammar, rng, ignore_probability, pieces)
            pieces.append(sample_terminal(_regex_of(terminal), rng))
            emitted += 1
            continue
        options = plan.rules[symbol]
        if emitted < max_terminals:
            fitting = [(rule, h) for rule, h in options if depth + h <= depth_limit]
        else:
            fitting = []
        if not fitting:
            lowest = min(h for _, h in options)
            fitting = [(rule, h) for rule, h in options if h == lowest]
        rule, _ = rng.choice(fitting)
        stack.extend((child, depth + 1) for child in reversed(rule.rhs))
    _maybe_ignore(grammar, rng, ignore_probability, pieces)
    return "".join(pieces)


def sample_terminal(
    pattern: str | Node, rng: random.Random, *, stop_probability: float = 0.35
) -> str:
    """A random string that fully matches ``pattern`` (a regex or its AST; structgen semantics).

    A random walk on the byte DFA: at each step a random group of bytes leading to the same
    state, then a random byte of it; at an accepting state stop with ``stop_probability``; after
    a random budget of steps walk straight to the nearest accepting state.
    """
    walk = _walker(pattern)
    budget = rng.randint(0, 12)
    state, steps = 0, 0
    out = bytearray()
    while True:
        if walk.accepting[state] and (steps >= budget or rng.random() < stop_probability):
            break
        moves = walk.moves[state]
        if not moves:
            break  # an accepting state with no way on
        if steps >= budget:
            closer = [move for move in moves if walk.distance[move[0]] < walk.distance[state]]
            moves = closer or moves
        target, byte_values = rng.choice(moves)
        out.append(rng.choice(byte_values))
        state = target
        steps += 1
    return out.decode("utf-8")


# -- precomputation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    heights: dict[str, int]
    rules: dict[str, list[tuple[Rule, int]]]  # each rule with the height of its shortest tree


_PLANS: dict[str, _Plan] = {}


def _plan(grammar: Grammar) -> _Plan:
    key = grammar.fingerprint()
    plan = _PLANS.get(key)
    if plan is None:
        heights = min_derivation_heights(grammar)
        rules: dict[str, list[tuple[Rule, int]]] = defaultdict(list)
        for rule in grammar.rules:
            if all(s in heights or s in grammar.terminals for s in rule.rhs):
                height = 1 + max((heights[s] for s in rule.rhs if s in heights), default=0)
                rules[rule.lhs].append((rule, height))
        plan = _PLANS[key] = _Plan(heights, dict(rules))
    return plan


@dataclass(frozen=True)
class _Walker:
    accepting: list[bool]
    distance: list[int]  # bytes to the nearest accepting state
    moves: list[list[tuple[int, list[int]]]]  # per state: (next state, the bytes that lead there)


@cache
def _walker(pattern: str | Node) -> _Walker:
    dfa = regex_to_dfa(pattern) if isinstance(pattern, str) else compile_byte_dfa(pattern)
    transitions = np.asarray(dfa.transitions)
    count = dfa.num_states
    moves: list[list[tuple[int, list[int]]]] = []
    incoming: list[list[int]] = [[] for _ in range(count)]
    for state in range(count):
        groups: dict[int, list[int]] = defaultdict(list)
        for byte in range(256):
            target = int(transitions[state, byte])
            if target >= 0:
                groups[target].append(byte)
        moves.append(sorted(groups.items()))
        for target in groups:
            incoming[target].append(state)
    accepting = [bool(a) for a in dfa.accepting]
    distance = [0 if accepting[s] else -1 for s in range(count)]
    frontier = [s for s in range(count) if accepting[s]]
    while frontier:
        following = []
        for state in frontier:
            for source in incoming[state]:
                if distance[source] < 0:
                    distance[source] = distance[state] + 1
                    following.append(source)
        frontier = following
    return _Walker(accepting, distance, moves)


def _maybe_ignore(
    grammar: Grammar, rng: random.Random, probability: float, pieces: list[str]
) -> None:
    if grammar.ignore and rng.random() < probability:
        name = rng.choice(grammar.ignore)
        pieces.append(sample_terminal(_regex_of(grammar.terminals[name]), rng))


def _regex_of(terminal: Terminal) -> str | Node:
    return terminal.node if terminal.node is not None else terminal.pattern
