"""Finitely many numbers as the automaton of their texts (a trie of the values' plain texts).

When the bounds leave few candidates (``multipleOf: 8721`` between −100000 and −10000 leaves
ten), listing the values is exact and far smaller than an automaton of remainders. The texts of
a value are those the other number paths write: an integer as its literal, with a zero fraction
(``12.0``) when it has at most 15 digits (a float64 reading keeps it); a non-integer in plain
decimal notation with trailing zeros allowed, when a float64 reading keeps it (at most
:data:`~structgen.schema.numbers.READ_DIGITS` significant digits, as many integer digits).
``0`` is also written ``-0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from structgen.regex.ast import Node
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.nodes import EMPTY, alt, char, concat, optional, repeat, star
from structgen.schema.numbers import FLOAT_EXACT_INTEGER, READ_DIGITS, exact_decimal

__all__ = ["MAX_LISTED", "listed_numbers", "value_texts"]

# At most this many values are listed (else an automaton of remainders is built instead).
MAX_LISTED = 4096

_ZEROS = concat(char("."), repeat(char("0"), 1, None))


def value_texts(value: Fraction) -> list[tuple[str, Node]]:
    """The plain texts of ``value`` as (canonical text, what may follow it); none when a
    float64 reader would not read it back exactly."""
    negative = value < 0
    magnitude = -value if negative else value
    signs = ["", "-"] if value == 0 else ["-" if negative else ""]
    if magnitude.denominator == 1:
        digits = str(magnitude.numerator)
        tail = optional(_ZEROS) if magnitude <= FLOAT_EXACT_INTEGER else EMPTY
        return [(sign + digits, tail) for sign in signs]
    text = format(exact_decimal(magnitude), "f")
    integer, _, fraction = text.partition(".")
    significant = len((integer + fraction).lstrip("0"))
    if len(integer) > READ_DIGITS or significant > READ_DIGITS:
        return []
    return [(sign + text, star(char("0"))) for sign in signs]


def listed_numbers(values: Iterable[Fraction], *, max_states: int) -> CodePointDFA:
    """The minimal automaton of the texts of ``values``."""
    texts = [item for value in values for item in value_texts(value)]
    return CodePointDFA.from_node(_trie(texts), max_states=max_states).minimized()


def _trie(texts: list[tuple[str, Node]]) -> Node:
    """The texts, each followed by its tail, with common prefixes shared."""
    root: dict = {}
    for text, tail in texts:
        node = root
        for c in text:
            node = node.setdefault(c, {})
        node.setdefault(None, []).append(tail)

    def build(node: dict) -> Node:
        options = [concat(char(c), build(child)) for c, child in node.items() if c is not None]
        return alt(*options, *node.get(None, []))

    return build(root)
