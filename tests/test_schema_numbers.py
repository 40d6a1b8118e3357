"""Number ranges and multiples, against Python's exact comparisons."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.regex import compile_byte_dfa
from structgen.regex.nodes import is_empty_language
from structgen.schema.numbers import (
    Bound,
    int_range,
    integer_modulus,
    integer_node,
    multiples_node,
    number_node,
    to_decimal,
    uint_range,
)


def _dfa(node):
    return None if is_empty_language(node) else compile_byte_dfa(node)


def _match(dfa, text: str) -> bool:
    return dfa is not None and dfa.fullmatch(text.encode())


@settings(max_examples=150, deadline=None)
@given(low=st.integers(0, 5000), span=st.one_of(st.none(), st.integers(0, 5000)))
def test_uint_range_against_python(low, span):
    high = None if span is None else low + span
    dfa = _dfa(uint_range(low, high))
    for value in list(range(0, 11000, 7)) + [
        low,
        low - 1,
        low + 1,
        high or 0,
        (high or 0) + 1,
        10**12,
    ]:
        if value < 0:
            continue
        assert _match(dfa, str(value)) == (value >= low and (high is None or value <= high)), value
    assert not _match(dfa, "01") and not _match(dfa, "00")


@settings(max_examples=150, deadline=None)
@given(
    low=st.one_of(st.none(), st.integers(-3000, 3000)),
    high=st.one_of(st.none(), st.integers(-3000, 3000)),
)
def test_int_range_against_python(low, high):
    dfa = _dfa(int_range(low, high))
    for value in range(-3100, 3101, 13):
        expected = (low is None or value >= low) and (high is None or value <= high)
        assert _match(dfa, str(value)) == expected
    zero_ok = (low is None or low <= 0) and (high is None or high >= 0)
    assert _match(dfa, "-0") == zero_ok


def test_integer_texts_with_a_zero_fraction():
    dfa = _dfa(integer_node(-5, 5))
    assert (
        _match(dfa, "5.0") and _match(dfa, "-5.000") and _match(dfa, "0.0") and _match(dfa, "-0.0")
    )
    assert (
        not _match(dfa, "5.5")
        and not _match(dfa, "6.0")
        and not _match(dfa, "5.")
        and not _match(dfa, "1e0")
    )


_bounds = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: round(f, 4)),
    st.sampled_from([1e-7, -2.5e-5, 1.5e20, -3e17, 0.1, 0.0, 1e-30, 2.5e40]),
)


def _texts(value) -> set[str]:
    out = {json.dumps(value), repr(value)}
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    plain = format(exact, "f")
    out |= {plain, plain + ("0" if "." in plain else ".00")}
    return out


@settings(max_examples=60, deadline=None)
@given(
    low=st.one_of(st.none(), st.tuples(_bounds, st.booleans())),
    high=st.one_of(st.none(), st.tuples(_bounds, st.booleans())),
    probes=st.lists(st.one_of(_bounds, st.integers(-(10**7), 10**7)), min_size=10, max_size=30),
)
def test_number_range_against_decimal_comparison(low, high, probes):
    lower = None if low is None else Bound(to_decimal(low[0]), low[1])
    upper = None if high is None else Bound(to_decimal(high[0]), high[1])
    dfa = _dfa(number_node(lower, upper))
    extra = [b[0] for b in (low, high) if b is not None]
    for value in probes + extra + [-v for v in extra]:
        for text in _texts(value):
            number = Decimal(text)
            expected = (
                lower is None
                or (number > lower.value if lower.exclusive else number >= lower.value)
            ) and (
                upper is None
                or (number < upper.value if upper.exclusive else number <= upper.value)
            )
            assert _match(dfa, text) == expected, (lower, upper, text)


def test_extreme_float_bounds():
    low, high = Bound(to_decimal(5e-324)), Bound(to_decimal(1.7976931348623157e308), True)
    dfa = _dfa(number_node(low, high))
    for text in [
        "5e-324",
        "1e-300",
        "0.1",
        "1.7976931348623157e+308",
        "1e308",
        "1" + "0" * 300,
        "1.5",
    ]:
        number = Decimal(text)
        assert _match(dfa, text) == (low.value <= number < high.value), text
    assert not _match(dfa, "4.9e-324") and not _match(dfa, "0") and not _match(dfa, "2e308")


def test_unbounded_numbers_accept_every_json_number_text():
    dfa = _dfa(number_node(None, None))
    for text in ["0", "-0", "1.5", "1e5", "1E+5", "-1.25e-07", "10.0e0", "0.000"]:
        assert _match(dfa, text)
    for text in ["01", "1.", ".5", "+1", "1e", "--1", "NaN", "Infinity"]:
        assert not _match(dfa, text)


def test_bounded_numbers_refuse_unnormalised_exponents():
    dfa = _dfa(number_node(Bound(Decimal(0)), Bound(Decimal(100))))
    assert _match(dfa, "1e1") and _match(dfa, "1.5e+01") and _match(dfa, "50.0")
    assert not _match(dfa, "10e0") and not _match(dfa, "0.5e1")  # documented: not normalised


@pytest.mark.parametrize(
    "multiples,expected",
    [([2], 2), ([2, 3], 6), ([Decimal("0.5")], 1), ([Decimal("1.5")], 3), ([4, 6], 12)],
)
def test_integer_modulus(multiples, expected):
    assert integer_modulus([Decimal(m) for m in multiples]) == expected


@pytest.mark.parametrize("modulus", [2, 3, 7, 10, 12, 100, 1000])
@pytest.mark.parametrize("bounds", [(None, None), (-50, 200), (7, 7)])
def test_multiples_against_python(modulus, bounds):
    low, high = bounds
    dfa = _dfa(
        multiples_node(integer_node(low, high), modulus, max_states=20_000, max_size=400_000)
    )
    for value in range(-300, 3000):
        expected = (
            value % modulus == 0
            and (low is None or value >= low)
            and (high is None or value <= high)
        )
        assert _match(dfa, str(value)) == expected, value
        if expected:
            assert _match(dfa, f"{value}.0")
