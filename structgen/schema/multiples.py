"""Integer ``multipleOf``: the divisibility automaton, intersected with the range: one terminal.

Divisibility by ``k`` read left to right is a ``k``-state automaton (remainder ``r``, digit
``d`` → ``(10r + d) mod k``). Its product with the automaton of the integer texts in range is
small, but a regex for it is not (state elimination blows up: ``multipleOf: 64`` ran for
minutes), so the product's minimal DFA is the terminal itself, read as bytes
(:func:`dfa_symbol`), which costs linear in its states.

Zero fractions (``1024.0``) are kept to integers of at most 15 digits, which a float64 reading
keeps exact; that branch costs about ``16·k`` states, and past :data:`FRACTION_STATES` it is
left out with a warning (the integer texts themselves are always complete). When the product
is past ``max_regex_states`` but bounded ranges hold few multiples (``multipleOf: 8721``
between −100000 and −10000), the multiples are listed instead
(:mod:`structgen.schema.number_lists`).
"""

from __future__ import annotations

from fractions import Fraction

from structgen.errors import LimitExceededError
from structgen.regex.ast import Node
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import ByteDFA
from structgen.regex.nodes import alt, char, concat, repeat
from structgen.schema.builder import SchemaBuilder
from structgen.schema.number_lists import MAX_LISTED, listed_numbers
from structgen.schema.numbers import FLOAT_EXACT_INTEGER, divisibility_dfa, int_range

__all__ = [
    "FRACTION_STATES",
    "dfa_symbol",
    "small_with_fraction",
    "integer_multiples",
]

# The zero-fraction branch (``12.0``) is built up to this many automaton states.
FRACTION_STATES = 4_096


def integer_multiples(
    builder: SchemaBuilder,
    ranges: list[tuple[int | None, int | None]],
    modulus: int,
    *,
    pointer: str,
) -> str | None:
    """A symbol for the integer texts in ``ranges`` divisible by ``modulus`` (``None``: none)."""
    max_states = builder.options.max_regex_states
    integers = alt(*(int_range(a, b) for a, b in ranges))
    try:
        remainder = divisibility_dfa(modulus, max_states=max_states)
        dfa = _product(integers, remainder, max_states)
    except LimitExceededError as error:
        listed = _listed(ranges, modulus, max_states)
        if listed is not None:  # few multiples in bounded ranges: their texts, listed
            return dfa_symbol(builder, listed, name="int")
        raise LimitExceededError(
            f"{error.what} at {pointer}", max_states,
            hint="raise max_regex_states",
        ) from None  # fmt: skip
    fractions = alt(*(small_with_fraction(a, b) for a, b in ranges))
    try:
        with_fraction = _product(fractions, remainder, FRACTION_STATES)
        dfa = dfa.union(with_fraction, max_states=max_states).minimized()
    except LimitExceededError:
        builder.warn(
            f"multipleOf {modulus} at {pointer}: integers written with a zero fraction "
            f"(12.0) are not generated (more than {FRACTION_STATES} automaton states)"
        )
    return dfa_symbol(builder, dfa, name="int")


def _listed(
    ranges: list[tuple[int | None, int | None]], modulus: int, max_states: int
) -> CodePointDFA | None:
    """The automaton of the multiples of ``modulus`` in ``ranges`` when the ranges are bounded
    and hold at most :data:`~structgen.schema.number_lists.MAX_LISTED` of them."""
    spans: list[range] = []
    for low, high in ranges:
        if low is None or high is None:
            return None
        spans.append(range(-(-low // modulus), high // modulus + 1))
    if sum(len(span) for span in spans) > MAX_LISTED:
        return None
    values = [Fraction(t * modulus) for span in spans for t in span]
    try:
        return listed_numbers(values, max_states=max_states)
    except LimitExceededError:
        return None


def dfa_symbol(builder: SchemaBuilder, dfa: CodePointDFA, *, name: str) -> str | None:
    """A symbol for ``dfa``'s language of number texts (``None``: empty): one terminal read
    through the DFA itself as bytes. The language must not hold the empty string."""
    if dfa.is_empty():
        return None
    tables = dfa.ascii_byte_tables()
    if tables is None:  # (every caller passes number texts: ASCII)
        raise ValueError(f"a {name} automaton reads code points past ASCII")
    transitions, accepting = tables
    automaton = ByteDFA(transitions=transitions, accepting=accepting)
    key = ("dfa", transitions.shape, transitions.tobytes(), accepting.tobytes())
    description = f"<{name}: {len(accepting)}-state automaton>"
    return builder.automaton_terminal(automaton, description, key=key, name=name)


def small_with_fraction(low: int | None, high: int | None) -> Node:
    """Integers in ``low..high`` of at most 15 digits written with a zero fraction (``12.0``)."""
    small_low = -FLOAT_EXACT_INTEGER if low is None else max(low, -FLOAT_EXACT_INTEGER)
    small_high = FLOAT_EXACT_INTEGER if high is None else min(high, FLOAT_EXACT_INTEGER)
    return concat(int_range(small_low, small_high), char("."), repeat(char("0"), 1, None))


def _product(node: Node, remainder: CodePointDFA, max_states: int) -> CodePointDFA:
    texts = CodePointDFA.from_node(node, max_states=max_states)
    return texts.intersect(remainder, max_states=max_states).minimized()
