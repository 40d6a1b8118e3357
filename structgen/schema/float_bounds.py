"""Number bounds that hold both exactly and after a float64 reading of the text.

A reader of generated JSON usually parses numbers as IEEE-754 doubles (round to nearest, ties
to even): ``8E-758`` becomes ``0.0`` and ``0.29999999999999999`` becomes ``0.3``, so a text
whose exact value lies inside ``(0, 1]`` or ``< 0.3`` may be read outside. Rounding is
monotone, so "the double read from ``v`` satisfies ``OP b``" is itself a bound on the exact
value ``v``: for an upper bound, with ``P`` the largest double allowed (``≤ b``, or ``< b``) and
``S`` the next double, ``round(v) ≤ P`` ⟺ ``v < (P + S)/2`` (``≤`` when the tie rounds to an
even ``P``); symmetrically for lower bounds. :func:`float_safe_bounds` replaces each bound by the
tighter of the exact bound and that threshold, so a range compiled exactly from the result
holds both ways. ``±inf`` take part as ``±2**1024`` (an even significand), which is where
round-to-nearest overflows.

The bound ``b`` is read as the double it denotes when ``b`` is the shortest ``repr`` of a double
(a schema's ``0.3`` is the double 0.3 to a float reader) and as its exact value otherwise (an
integer beyond 2**53 stays that integer in Python).

The thresholds are dyadic rationals with up to ~1100 digits; a regex for them would be long
and deep. Each bound is therefore rounded *inward* to :data:`SIGNIFICANT_DIGITS` significant
digits (never loosened). Every text with at most that many significant digits keeps its exact
answer (no such text lies strictly between a bound and its rounding); a text with more digits
lying within ``10**-16`` (relative) of a bound may be refused although both readings satisfy it.
"""

from __future__ import annotations

import math
import struct
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction

from structgen.schema.numbers import Bound

__all__ = ["SIGNIFICANT_DIGITS", "float_safe_bounds"]

SIGNIFICANT_DIGITS = 17
_INFINITY = Fraction(2**1024)  # where round-to-nearest gives ±inf; its "significand" is even
_PRECISION = 1200  # enough for the exact decimal of any dyadic threshold of a double


def float_safe_bounds(low: Bound | None, high: Bound | None) -> tuple[Bound | None, Bound | None]:
    """``low``/``high`` tightened so that the exact value and its float64 reading both hold."""
    new_low = None if low is None else _safe_low(low)
    new_high = None if high is None else _safe_high(high)
    return new_low, new_high


def _exact(x: float) -> Fraction:
    if math.isinf(x):
        return _INFINITY if x > 0 else -_INFINITY
    return Fraction(x)


def _nearest(b: Fraction) -> float:
    try:
        return float(b)
    except OverflowError:
        return math.inf if b > 0 else -math.inf


def _even(x: float) -> bool:
    """Whether the last bit of ``x``'s significand is 0 (``±inf`` count as even)."""
    if math.isinf(x):
        return True
    return struct.unpack("<q", struct.pack("<d", x))[0] & 1 == 0


def _read_as(bound: Decimal) -> Fraction:
    """The number a float reader compares against: the double ``bound`` is the repr of, else
    ``bound`` itself."""
    nearest = _nearest(Fraction(bound))
    if not math.isinf(nearest) and Decimal(repr(nearest)) == bound:
        return Fraction(nearest)
    return Fraction(bound)


def _largest_double_below(b: Fraction, *, strict: bool) -> float:
    """The largest double (``-inf`` included) ``≤ b`` (``< b`` when ``strict``)."""
    x = _nearest(b)
    while _exact(x) > b or (strict and _exact(x) == b):
        x = math.nextafter(x, -math.inf)
    return x


def _smallest_double_above(b: Fraction, *, strict: bool) -> float:
    x = _nearest(b)
    while _exact(x) < b or (strict and _exact(x) == b):
        x = math.nextafter(x, math.inf)
    return x


def _to_decimal(value: Fraction) -> Decimal:
    with localcontext() as context:
        context.prec = _PRECISION
        return Decimal(value.numerator) / Decimal(value.denominator)


def _float_high(high: Bound) -> Bound | None:
    """The exact upper bound equivalent to "the double read is within ``high``" (None: any)."""
    largest = _largest_double_below(_read_as(high.value), strict=high.exclusive)
    if largest == math.inf:
        return None
    following = math.nextafter(largest, math.inf)
    middle = (_exact(largest) + _exact(following)) / 2
    return Bound(_to_decimal(middle), exclusive=not _even(largest))


def _float_low(low: Bound) -> Bound | None:
    smallest = _smallest_double_above(_read_as(low.value), strict=low.exclusive)
    if smallest == -math.inf:
        return None
    preceding = math.nextafter(smallest, -math.inf)
    middle = (_exact(smallest) + _exact(preceding)) / 2
    return Bound(_to_decimal(middle), exclusive=not _even(smallest))


def _tighter_high(a: Bound, b: Bound | None) -> Bound:
    if b is None or a.value < b.value or (a.value == b.value and a.exclusive):
        return a
    return b


def _tighter_low(a: Bound, b: Bound | None) -> Bound:
    if b is None or a.value > b.value or (a.value == b.value and a.exclusive):
        return a
    return b


def _significant(value: Decimal) -> int:
    return len(value.normalize().as_tuple().digits)


def _round_inward(bound: Bound, rounding: str) -> Bound:
    """``bound`` with at most :data:`SIGNIFICANT_DIGITS` digits, rounded towards the inside."""
    if bound.value == 0 or _significant(bound.value) <= SIGNIFICANT_DIGITS:
        return bound
    quantum = Decimal(1).scaleb(bound.value.adjusted() - SIGNIFICANT_DIGITS + 1)
    with localcontext() as context:
        context.prec = _PRECISION
        rounded = bound.value.quantize(quantum, rounding=rounding)
    return Bound(rounded.normalize(), exclusive=False)  # strictly inside: inclusive is exact


def _safe_high(high: Bound) -> Bound:
    return _round_inward(_tighter_high(high, _float_high(high)), ROUND_FLOOR)


def _safe_low(low: Bound) -> Bound:
    return _round_inward(_tighter_low(low, _float_low(low)), ROUND_CEILING)
