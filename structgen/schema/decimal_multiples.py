"""Decimal ``multipleOf`` on numbers (``0.01``, ``2.5``): exact, over plain decimal texts.

Semantics: a number is a multiple of ``m`` when its value, as an exact decimal, is an integer
times ``m`` (the schema's ``m`` read as its shortest ``repr``, like every schema number): ``0.3``
is a multiple of ``0.1``. The validator (:mod:`structgen.validation.keywords`) judges the same
way, on the shortest ``repr`` of the double it reads.

Several steps combine into their least common multiple ``m = p / 10**k`` (``k`` minimal, ``p`` a
positive integer). A plain text ``-?I(.F)?`` is a multiple iff ``x·10**k`` is an integer (no
non-zero fraction digit past the ``k``-th) divisible by ``p``: read left to right, the
remainder of the digits so far modulo ``p`` and the count of fraction digits (up to ``k``)
decide it, about ``p·(k + 2)`` states (refused past ``max_regex_states``).

What is generated: plain decimal notation only (``0.25``, ``-3``, ``12.50``), never an
exponent (``25e-2``: whether ``d.ddd…eE`` is a multiple depends on ``E`` making up for the
length of the fraction, a comparison of two unbounded counts, which is not regular). A text
with a fraction is read as a double by a JSON consumer, so it keeps at most 15 significant
digits and an integer part of at most 15 digits: the shortest ``repr`` of the double it
denotes then has its value, so the exact reading and the float64 reading agree. Integer
literals are read exactly and have no length limit. The range is intersected as
:func:`~structgen.schema.numbers.number_node` states it.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import cache

import numpy as np

from structgen.errors import LimitExceededError
from structgen.regex.ast import CharSet, Node
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.nodes import (
    DIGIT,
    NONZERO_DIGIT,
    alt,
    char,
    concat,
    optional,
    repeat,
    star,
)
from structgen.schema.builder import SchemaBuilder
from structgen.schema.multiples import dfa_symbol
from structgen.schema.numbers import (
    DOT_CLASS,
    JSON_INTEGER,
    MINUS_CLASS,
    READ_DIGITS,
    TEXT_CLASSES,
    common_multiple,
    number_text_dfa,
)

__all__ = [
    "READ_DIGITS",
    "common_multiple",
    "decimal_multiples",
    "decimal_step",
    "multiple_dfa",
    "readable_texts",
]



def decimal_step(step: Fraction) -> tuple[int, int]:
    """``(p, k)`` with ``step == p / 10**k`` and ``k`` minimal (``step`` a positive decimal)."""
    if step <= 0:
        raise ValueError(f"a multipleOf step must be positive, got {step}")
    twos = fives = 0
    rest = step.denominator
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest != 1:
        raise ValueError(f"{step} is not a finite decimal")
    k = max(twos, fives)
    return int(step * 10**k), k


def _text(p: int, k: int) -> str:
    return format(Decimal(p).scaleb(-k), "f")


def multiple_dfa(p: int, k: int, *, max_states: int) -> CodePointDFA:
    """Texts ``-?[0-9]+(.[0-9]+)?`` whose value is a multiple of ``p / 10**k``.

    States: the start, after ``-``, the integer part (remainder ``r`` mod ``p``), just after
    the point (``r``), and ``j`` fraction digits read (``r``, ``1 ≤ j ≤ max(k, 1)``; from
    ``j = k`` on only zeros follow). Accepting where ``r · 10**(k - j) ≡ 0 (mod p)``.
    """
    levels = max(k, 1)
    count = 2 + p * (2 + levels)
    if count > max_states:
        raise LimitExceededError(
            f"multipleOf {_text(p, k)} ({count} automaton states: one per remainder "
            f"modulo {p} and fraction digit)",
            max_states,
            hint="raise max_regex_states",
        )
    start, signed = count - 2, count - 1

    def fraction(r: int, j: int) -> int:  # j = 0: just after the point
        return p * (1 + j) + r

    transitions = np.full((count, TEXT_CLASSES), -1, dtype=np.int32)
    accepting = np.zeros(count, dtype=bool)
    transitions[start, MINUS_CLASS] = signed
    for digit in range(10):
        transitions[start, digit] = transitions[signed, digit] = digit % p
    for r in range(p):
        accepting[r] = r * 10**k % p == 0  # the integer part, state r
        transitions[r, DOT_CLASS] = fraction(r, 0)
        for digit in range(10):
            transitions[r, digit] = (10 * r + digit) % p
        for j in range(levels + 1):
            if j > 0:
                accepting[fraction(r, j)] = r * 10 ** max(k - j, 0) % p == 0
            if j < k:
                for digit in range(10):
                    transitions[fraction(r, j), digit] = fraction((10 * r + digit) % p, j + 1)
            else:
                transitions[fraction(r, j), 0] = fraction(r, max(j, 1))
    return number_text_dfa(transitions, accepting, start)


@cache
def readable_texts() -> Node:
    """Integer literals, and texts with a fraction whose decimal survives a float64 reading:
    an integer part of at most :data:`READ_DIGITS` digits, at most as many significant ones."""
    integer_part = alt(char("0"), concat(NONZERO_DIGIT, repeat(DIGIT, 0, READ_DIGITS - 1)))
    shape = concat(optional(char("-")), integer_part, char("."), repeat(DIGIT, 1, None))
    zeros = star(CharSet.chars("0."))
    position = concat(optional(char(".")), DIGIT)
    significant = concat(
        optional(char("-")),
        zeros,
        optional(concat(NONZERO_DIGIT, repeat(position, 0, READ_DIGITS - 1), zeros)),
    )
    return alt(JSON_INTEGER, _intersection(shape, significant))


def _intersection(left: Node, right: Node) -> Node:
    dfa = CodePointDFA.from_node(left).intersect(CodePointDFA.from_node(right))
    return dfa.to_node()


def decimal_multiples(
    builder: SchemaBuilder, texts: Node, step: Fraction, *, pointer: str
) -> str | None:
    """A symbol for the texts of ``texts`` (number texts in range) that are multiples of
    ``step``, written in plain notation and readable as doubles (``None``: there are none)."""
    max_states = builder.options.max_regex_states
    p, k = decimal_step(step)
    try:
        multiples = multiple_dfa(p, k, max_states=max_states).minimized()
    except LimitExceededError as error:
        raise LimitExceededError(
            f"{error.what} at {pointer}", max_states, hint="raise max_regex_states"
        ) from None
    try:
        in_range = CodePointDFA.from_node(texts, max_states=max_states)
        readable = CodePointDFA.from_node(readable_texts(), max_states=max_states)
        dfa = (
            in_range.intersect(readable, max_states=max_states)
            .minimized()
            .intersect(multiples, max_states=max_states)
            .minimized()
        )
    except LimitExceededError:
        raise LimitExceededError(
            f"the automaton of the multiples of {_text(p, k)} in range at {pointer} (DFA states)",
            max_states,
            hint="raise max_regex_states",
        ) from None
    return dfa_symbol(builder, dfa, name="num")
