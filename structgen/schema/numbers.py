"""JSON number texts whose *value* lies in a range (exact), and integer multiples.

Integers are split into digit ranges (``[0-9]`` per position, by length), the classic
construction; ``-0`` is ``0``. Decimals ``I.F`` are compared digit by digit: the integer part
by a digit-range regex, the fraction by walking the bound's digits (trailing zeros allowed).
With an exponent the value of ``m e E`` is only regular to compare when the mantissa is
normalised (one non-zero digit before the point, as Python's ``repr``/``json.dumps`` writes
``1e-05`` or ``1.5e+16``): then ``x ≥ a`` ⟺ ``E > E_a`` or (``E = E_a`` and ``m ≥ m_a``). So a
number with a range constraint is accepted in plain decimal notation or normalised scientific
notation; other exponent forms (``10e3``, ``0.5e1``) are refused there (they never come from
``json.dumps``). Without range constraints every JSON number text is accepted.

Comparisons here are exact, on decimals: a float bound from the schema is taken as its shortest
``repr`` (``0.1`` is 1/10, not the binary double). A reader rounds a non-integer text to a
double first (``1e-400`` parses as ``0.0``), so the compiler passes bounds through
:func:`structgen.schema.float_bounds.float_safe_bounds` first: the texts then hold both ways.

``type: integer`` also accepts a zero fraction (``1.0``, valid since draft 6) but not an
exponent (``1e2``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from structgen.errors import LimitExceededError
from structgen.regex.ast import CharSet, Node
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.nodes import (
    DIGIT,
    EMPTY,
    NONZERO_DIGIT,
    NOTHING,
    alt,
    char,
    concat,
    literal,
    nullable,
    optional,
    repeat,
    star,
    without_empty,
)

__all__ = [
    "DOT_CLASS",
    "JSON_INTEGER",
    "JSON_NUMBER",
    "MINUS_CLASS",
    "READ_DIGITS",
    "TEXT_CLASSES",
    "Bound",
    "common_multiple",
    "divisibility_dfa",
    "exact_decimal",
    "int_range",
    "integer_modulus",
    "integer_node",
    "number_node",
    "number_text_dfa",
    "remainder_automaton",
    "residue_automaton",
    "to_decimal",
    "uint_range",
]

_MINUS = char("-")
_DOT = char(".")
_EXP = CharSet.chars("eE")
_ZERO = char("0")


@dataclass(frozen=True)
class Bound:
    value: Decimal
    exclusive: bool = False


def to_decimal(number: float | Decimal) -> Decimal:
    """An exact decimal for a schema number (floats by their shortest repr)."""
    if isinstance(number, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(number, float):
        return Decimal(repr(number))
    return Decimal(number)


def _digits(low: int, high: int) -> CharSet:
    return CharSet(((0x30 + low, 0x30 + high),))


def _same_length(low: str, high: str) -> Node:
    """Digit strings of ``len(low)`` digits between ``low`` and ``high`` (leading zeros allowed)."""
    if not low:
        return EMPTY
    if low == high:
        return literal(low)
    if low[0] == high[0]:
        return concat(char(low[0]), _same_length(low[1:], high[1:]))
    rest = len(low) - 1
    first, last = int(low[0]), int(high[0])
    options: list[Node] = []
    tail: Node = NOTHING
    if low[1:] != "0" * rest:
        options.append(concat(char(low[0]), _same_length(low[1:], "9" * rest)))
        first += 1
    if high[1:] != "9" * rest:
        tail = concat(char(high[0]), _same_length("0" * rest, high[1:]))
        last -= 1
    if first <= last:
        options.append(concat(_digits(first, last), repeat(DIGIT, rest, rest)))
    options.append(tail)
    return alt(*options)


def uint_range(low: int, high: int | None, *, leading_zeros: bool = False) -> Node:
    """Non-negative integers in ``low..high`` (``None``: unbounded), no leading zeros unless
    asked."""
    low = max(low, 0)
    if high is not None and high < low:
        return NOTHING
    if leading_zeros:
        zero = repeat(_ZERO, 1, None) if low == 0 else NOTHING
        positive = (
            concat(star(_ZERO), uint_range(max(low, 1), high))
            if high is None or high >= 1
            else NOTHING
        )
        return alt(zero, positive)
    options: list[Node] = []
    if low == 0:
        options.append(_ZERO)
        low = 1
        if high == 0:
            return _ZERO
    first_length = len(str(low))
    last_length = None if high is None else len(str(high))
    if first_length == last_length:
        return alt(*options, _same_length(str(low), str(high)))
    options.append(_same_length(str(low), "9" * first_length))
    # Every length strictly between the first and the last: one repetition, not one piece each.
    if last_length is None:
        options.append(concat(NONZERO_DIGIT, repeat(DIGIT, first_length, None)))
    else:
        if last_length - first_length >= 2:
            options.append(concat(NONZERO_DIGIT, repeat(DIGIT, first_length, last_length - 2)))
        options.append(_same_length("1" + "0" * (last_length - 1), str(high)))
    return alt(*options)


def int_range(low: int | None, high: int | None) -> Node:
    """JSON integer texts (``-?(0|[1-9][0-9]*)``) with value in ``low..high``; ``-0`` counts as
    0."""
    if low is not None and high is not None and high < low:
        return NOTHING
    options: list[Node] = []
    if high is None or high >= 0:
        options.append(uint_range(max(low or 0, 0) if low is not None else 0, high))
    if low is None or low < 0:
        magnitude_low = 1 if high is None or high >= 0 else -high
        options.append(concat(_MINUS, uint_range(magnitude_low, None if low is None else -low)))
    if (low is None or low <= 0) and (high is None or high >= 0):
        options.append(literal("-0"))
    return alt(*options)


JSON_INTEGER = concat(optional(_MINUS), alt(_ZERO, concat(NONZERO_DIGIT, star(DIGIT))))
_FRACTION = concat(_DOT, repeat(DIGIT, 1, None))
_EXPONENT = concat(_EXP, optional(CharSet.chars("+-")), repeat(DIGIT, 1, None))
JSON_NUMBER = concat(JSON_INTEGER, optional(_FRACTION), optional(_EXPONENT))
_ZERO_FRACTION = optional(concat(_DOT, repeat(_ZERO, 1, None)))


# A text with a fraction is read as a double; below 10**15 every integer is one exactly.
FLOAT_EXACT_INTEGER = 10**15 - 1
# A text with a fraction keeps at most this many significant digits (and integer digits):
# every decimal of at most 15 significant digits survives a trip through a double.
READ_DIGITS = 15


def integer_node(low: int | None, high: int | None, *, float_exact: bool = False) -> Node:
    """``type: integer`` texts in ``low..high``, with an optional all-zero fraction (``3.0``).

    ``float_exact``: a zero fraction only on integers of at most 15 digits, so that a float64
    reading of ``99999999999999999.0`` (``1e17``) cannot leave the bounds or a ``multipleOf``.
    """
    if not float_exact:
        return concat(int_range(low, high), _ZERO_FRACTION)
    small_low = -FLOAT_EXACT_INTEGER if low is None else max(low, -FLOAT_EXACT_INTEGER)
    small_high = FLOAT_EXACT_INTEGER if high is None else min(high, FLOAT_EXACT_INTEGER)
    with_fraction = concat(int_range(small_low, small_high), _DOT, repeat(_ZERO, 1, None))
    return alt(int_range(low, high), with_fraction)


def integer_bounds(low: Bound | None, high: Bound | None) -> tuple[int | None, int | None]:
    """The integer range that decimal bounds allow."""
    first = None
    if low is not None:
        first = math.floor(low.value) + 1 if low.exclusive else math.ceil(low.value)
    last = None
    if high is not None:
        last = math.ceil(high.value) - 1 if high.exclusive else math.floor(high.value)
    return first, last


# -- decimals -------------------------------------------------------------------------------------
def _split(value: Decimal) -> tuple[int, str]:
    """Integer part and fraction digits (trailing zeros removed) of a non-negative decimal."""
    text = format(value, "f")
    integer, _, fraction = text.partition(".")
    return int(integer), fraction.rstrip("0")


def _runs(digits: str) -> list[tuple[str, int]]:
    runs: list[tuple[str, int]] = []
    for c in digits:
        if runs and runs[-1][0] == c:
            runs[-1] = (c, runs[-1][1] + 1)
        else:
            runs.append((c, 1))
    return runs


def _at_least(low: str, inclusive: bool) -> Node:
    """Digit strings ``w`` (maybe empty) with ``0.w ≥ 0.low`` (``>`` if not ``inclusive``)."""
    node = star(DIGIT) if inclusive else concat(star(_ZERO), NONZERO_DIGIT, star(DIGIT))
    for c, count in reversed(_runs(low)):
        digit = int(c)
        bigger = (
            concat(repeat(char(c), 0, count - 1), _digits(digit + 1, 9), star(DIGIT))
            if digit < 9
            else NOTHING
        )
        node = alt(bigger, concat(repeat(char(c), count, count), node))
    return node


def _at_most(high: str, inclusive: bool) -> Node:
    """Digit strings ``w`` (maybe empty) with ``0.w ≤ 0.high`` (``<`` if not ``inclusive``)."""
    node = star(_ZERO) if inclusive else NOTHING
    for c, count in reversed(_runs(high)):
        digit = int(c)
        smaller = (
            concat(repeat(char(c), 0, count - 1), _digits(0, digit - 1), star(DIGIT))
            if digit > 0
            else NOTHING
        )
        ends_early = repeat(
            char(c), 0, count - 1
        )  # the rest of ``high`` is not zero: strictly below
        node = alt(smaller, ends_early, concat(repeat(char(c), count, count), node))
    return node


def _fraction_digits(
    low: str | None, low_inclusive: bool, high: str | None, high_inclusive: bool
) -> Node:
    """Digit strings ``w`` (maybe empty) with ``low ≤ 0.w ≤ high`` (zero-padded comparison).

    ``low``/``high`` are digit strings without trailing zeros (``""`` is 0); ``None``: no bound.
    """
    if high is None:
        return _at_least(low or "", low_inclusive or low is None)
    if low is None:
        return _at_most(high, high_inclusive)
    width = max(len(low), len(high))
    padded_low, padded_high = low.ljust(width, "0"), high.ljust(width, "0")
    if padded_low > padded_high or (
        padded_low == padded_high and not (low_inclusive and high_inclusive)
    ):
        return NOTHING
    if padded_low == padded_high:
        return concat(literal(low), star(_ZERO))
    index = next(i for i in range(width) if padded_low[i] != padded_high[i])
    first, last = int(padded_low[index]), int(padded_high[index])
    inner = alt(
        concat(char(padded_low[index]), _at_least(low[index + 1 :], low_inclusive)),
        concat(_digits(first + 1, last - 1), star(DIGIT)) if last - first >= 2 else NOTHING,
        concat(char(padded_high[index]), _at_most(high[index + 1 :], high_inclusive)),
        EMPTY if len(low) <= index and low_inclusive else NOTHING,
    )
    if len(low) >= index:
        return concat(literal(padded_low[:index]), inner)
    zeros = index - len(low)  # the text may stop in these zeros: it then equals ``low``
    early = repeat(_ZERO, 0, zeros - 1) if low_inclusive else NOTHING
    return concat(literal(low), alt(concat(repeat(_ZERO, zeros, zeros), inner), early))


def _fraction_suffix(fraction: Node) -> Node:
    """``""`` (if the empty fraction is allowed) or ``.`` and at least one digit."""
    return alt(EMPTY if nullable(fraction) else NOTHING, concat(_DOT, without_empty(fraction)))


_ANY_FRACTION = optional(_FRACTION)


def _magnitude(low: Bound, high: Bound | None) -> Node:
    """Non-negative decimals ``I(.F)?`` with value between ``low`` and ``high``."""
    low_int, low_frac = _split(low.value)
    if high is not None:
        high_int, high_frac = _split(high.value)
        if high.value < low.value or (
            high.value == low.value and (high.exclusive or low.exclusive)
        ):
            return NOTHING
        if high_int == low_int:
            return concat(
                literal(str(low_int)),
                _fraction_suffix(
                    _fraction_digits(low_frac, not low.exclusive, high_frac, not high.exclusive)
                ),
            )
    options = [
        concat(
            literal(str(low_int)),
            _fraction_suffix(_fraction_digits(low_frac, not low.exclusive, None, True)),
        )
    ]
    middle_high = None if high is None else high_int - 1
    options.append(concat(uint_range(low_int + 1, middle_high), _ANY_FRACTION))
    if high is not None:
        options.append(
            concat(
                literal(str(high_int)),
                _fraction_suffix(_fraction_digits(None, True, high_frac, not high.exclusive)),
            )
        )
    return alt(*options)


def _exponent_range(low: int | None, high: int | None) -> Node:
    """``[eE][+-]?digits`` (leading zeros allowed) with exponent value in ``low..high``."""
    if low is not None and high is not None and high < low:
        return NOTHING
    options: list[Node] = []
    if high is None or high >= 0:
        options.append(
            concat(
                optional(char("+")),
                uint_range(max(low, 0) if low is not None else 0, high, leading_zeros=True),
            )
        )
    if low is None or low <= 0:
        magnitude_low = 0 if high is None or high >= 0 else -high
        options.append(
            concat(
                _MINUS, uint_range(magnitude_low, None if low is None else -low, leading_zeros=True)
            )
        )
    return concat(_EXP, alt(*options))


_MANTISSA_ANY = concat(NONZERO_DIGIT, _ANY_FRACTION)
_TEN = Bound(Decimal(10), exclusive=True)
_ONE = Bound(Decimal(1))


def _normalise(value: Decimal) -> tuple[int, Decimal]:
    exponent = value.adjusted()
    return exponent, value.scaleb(-exponent)


def _scientific(low: Bound, high: Bound | None) -> Node:
    """Normalised scientific texts ``d(.F)?[eE]±E`` (d ≠ 0) with value between ``low`` and
    ``high`` (≥ 0)."""
    if low.value == 0:
        low_exp = None
    else:
        low_exp, low_mantissa = _normalise(low.value)
    if high is not None:
        if high.value == 0:
            return NOTHING
        high_exp, high_mantissa = _normalise(high.value)
    if low_exp is None and high is None:
        return concat(_MANTISSA_ANY, _exponent_range(None, None))
    if low_exp is None:
        return alt(
            concat(
                _magnitude(_ONE, Bound(high_mantissa, high.exclusive)),
                _exponent_range(high_exp, high_exp),
            ),
            concat(_MANTISSA_ANY, _exponent_range(None, high_exp - 1)),
        )
    low_m = Bound(low_mantissa, low.exclusive)
    if high is None:
        return alt(
            concat(_magnitude(low_m, _TEN), _exponent_range(low_exp, low_exp)),
            concat(_MANTISSA_ANY, _exponent_range(low_exp + 1, None)),
        )
    high_m = Bound(high_mantissa, high.exclusive)
    if low_exp == high_exp:
        return concat(_magnitude(low_m, high_m), _exponent_range(low_exp, low_exp))
    if low_exp > high_exp:
        return NOTHING
    return alt(
        concat(_magnitude(low_m, _TEN), _exponent_range(low_exp, low_exp)),
        concat(_MANTISSA_ANY, _exponent_range(low_exp + 1, high_exp - 1))
        if high_exp - low_exp >= 2
        else NOTHING,
        concat(_magnitude(_ONE, high_m), _exponent_range(high_exp, high_exp)),
    )


def _positive_side(low: Bound, high: Bound | None) -> Node:
    return alt(_magnitude(low, high), _scientific(low, high))


def number_node(low: Bound | None, high: Bound | None) -> Node:
    """JSON number texts with value between ``low`` and ``high`` (``None``: unbounded)."""
    if low is None and high is None:
        return JSON_NUMBER
    options: list[Node] = []
    # Values ≥ 0, written without a sign.
    if high is None or high.value > 0 or (high.value == 0 and not high.exclusive):
        start = low if low is not None and low.value >= 0 else Bound(Decimal(0))
        options.append(_positive_side(start, high))
    # Values ≤ 0, written with a minus sign: magnitudes between -high and -low.
    if low is None or low.value < 0 or (low.value == 0 and not low.exclusive):
        if high is None or high.value > 0:
            magnitude_low = Bound(Decimal(0))
        else:
            magnitude_low = Bound(-high.value, high.exclusive)
        magnitude_high = None if low is None else Bound(-low.value, low.exclusive)
        options.append(concat(_MINUS, _positive_side(magnitude_low, magnitude_high)))
    return alt(*options)


# -- multiples ------------------------------------------------------------------------------------
def integer_modulus(multiples: list[Decimal]) -> int:
    """The ``k`` such that an integer is a multiple of every ``q`` in ``multiples`` iff ``k``
    divides it."""
    modulus = 1
    for q in multiples:
        fraction = Fraction(q)
        k = fraction.numerator // math.gcd(fraction.numerator, fraction.denominator)
        modulus = modulus * k // math.gcd(modulus, k)
    return modulus


def multiples_node(base: Node, modulus: int, *, max_states: int, max_size: int) -> Node:
    """``base`` (integer texts, maybe with a zero fraction) restricted to multiples of
    ``modulus``."""
    if modulus == 1:
        return base
    power = _power_of_ten(modulus)
    if power is not None:
        zeros = concat(star(DIGIT), repeat(_ZERO, power, power))
        multiples = concat(optional(_MINUS), alt(zeros, _ZERO), _ZERO_FRACTION)
        automaton = CodePointDFA.from_node(base, max_states=max_states).intersect(
            CodePointDFA.from_node(multiples, max_states=max_states), max_states=max_states
        )
        return automaton.to_node(max_size=max_size)
    if modulus > max_states:
        raise LimitExceededError(
            f"multipleOf {modulus} (one automaton state per remainder)", max_states,
            hint="raise max_regex_states",
        )  # fmt: skip
    automaton = CodePointDFA.from_node(base, max_states=max_states).intersect(
        remainder_automaton(modulus), max_states=max_states
    )
    return automaton.to_node(max_size=max_size)


def common_multiple(steps: list[Decimal]) -> Fraction | None:
    """The least positive number that is a multiple of every step (``None``: no steps)."""
    result: Fraction | None = None
    for step in steps:
        fraction = Fraction(step)
        if result is None:
            result = fraction
            continue
        numerator = math.lcm(result.numerator, fraction.numerator)
        denominator = math.gcd(result.denominator, fraction.denominator)
        result = Fraction(numerator, denominator)
    return result


def exact_decimal(value: Fraction) -> Decimal:
    """``value`` (a finite decimal fraction) as an exact :class:`Decimal`."""
    exponent = 0
    while (value * 10**exponent).denominator != 1:
        exponent += 1
    return Decimal(int(value * 10**exponent)).scaleb(-exponent)


def divisibility_dfa(modulus: int, *, max_states: int) -> CodePointDFA:
    """Texts ``-?digits(.0+)?`` whose integer value is divisible by ``modulus``.

    A power of ten is a suffix of zeros; any other modulus is :func:`remainder_automaton`
    (``modulus + 3`` states, refused past ``max_states``).
    """
    power = _power_of_ten(modulus)
    if power is not None:
        zeros = concat(star(DIGIT), repeat(_ZERO, power, power))
        node = concat(optional(_MINUS), alt(zeros, _ZERO), _ZERO_FRACTION)
        return CodePointDFA.from_node(node, max_states=max_states)
    if modulus + 3 > max_states:
        raise LimitExceededError(
            f"multipleOf {modulus} (one automaton state per remainder)", max_states,
            hint="raise max_regex_states",
        )  # fmt: skip
    return remainder_automaton(modulus)


def _power_of_ten(value: int) -> int | None:
    power = 0
    while value % 10 == 0:
        value //= 10
        power += 1
    return power if value == 1 and power > 0 else None


# The alphabet of hand-built number-text automata: classes 0..9 the digits, 10 '-', 11 '.',
# 12 anything else.
_TEXT_CUTS = np.array(
    [0, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A],
    dtype=np.int64,
)
_TEXT_INTERVAL_CLASS = np.array([12, 10, 11, 12, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12], dtype=np.int32)
MINUS_CLASS, DOT_CLASS, TEXT_CLASSES = 10, 11, 13


def number_text_dfa(transitions: np.ndarray, accepting: np.ndarray, start: int) -> CodePointDFA:
    """A :class:`CodePointDFA` over the number-text alphabet (columns: digits ``0..9``,
    :data:`MINUS_CLASS`, :data:`DOT_CLASS`, anything else; ``-1`` dead), ``start`` moved first."""
    count = transitions.shape[0]
    order = [start] + [s for s in range(count) if s != start]
    lookup = np.empty(count, dtype=np.int32)
    lookup[order] = np.arange(count, dtype=np.int32)
    remapped = np.where(transitions >= 0, lookup[np.where(transitions >= 0, transitions, 0)], -1)
    return CodePointDFA(
        _TEXT_CUTS,
        _TEXT_INTERVAL_CLASS,
        np.ascontiguousarray(remapped[order], dtype=np.int32),
        np.asarray(accepting, dtype=bool)[order],
    )


def remainder_automaton(modulus: int) -> CodePointDFA:
    """``modulus + 3`` states: texts ``-?digits(.0+)?`` whose integer value is divisible by
    ``modulus``."""
    return residue_automaton(modulus, [0])


def residue_automaton(modulus: int, residues: list[int]) -> CodePointDFA:
    """``modulus + 3`` states: texts ``-?digits(.0*)?`` whose integer value modulo ``modulus``
    is one of ``residues`` (the sign ignored: ``-x`` counts as ``x``); intersect it with texts
    that need a digit after the point."""
    start, signed, fraction = modulus, modulus + 1, modulus + 2
    transitions = np.full((modulus + 3, TEXT_CLASSES), -1, dtype=np.int32)
    for remainder in range(modulus):
        for digit in range(10):
            transitions[remainder, digit] = (remainder * 10 + digit) % modulus
    for origin in (start, signed):
        for digit in range(10):
            transitions[origin, digit] = digit % modulus
    transitions[start, MINUS_CLASS] = signed
    accepting = np.zeros(modulus + 3, dtype=bool)
    accepting[residues] = accepting[fraction] = True
    transitions[residues, DOT_CLASS] = fraction  # then zeros only ("12." is left to the caller)
    transitions[fraction, 0] = fraction
    return number_text_dfa(transitions, accepting, start)
