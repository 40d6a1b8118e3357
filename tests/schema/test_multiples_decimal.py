"""Decimal ``multipleOf`` on numbers: the automaton, the compiled schema and the validator.

Oracles: Python's ``decimal``/``fractions`` (exact multiples and bounds), ``float`` (what a
JSON reader sees), ``jsonschema`` where float64 division is exact (dyadic steps), and the rule
documented in :mod:`structgen.schema.decimal_multiples` for which texts are generated.
"""

from __future__ import annotations

import json
import random
import warnings
from decimal import Decimal
from fractions import Fraction
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from structgen.errors import LimitExceededError
from structgen.runtime.compiler import compile_json_schema
from structgen.schema import UnsatisfiableSchemaError, schema_to_grammar
from structgen.schema.decimal_multiples import (
    READ_DIGITS,
    common_multiple,
    decimal_step,
    multiple_dfa,
)
from structgen.validation import DocumentValidator, parse_json
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()


@cache
def _compiled(schema_text: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_json_schema(json.loads(schema_text), VOCAB)


def _accepts(schema: dict, text: str) -> bool:
    compiled = _compiled(json.dumps(schema, sort_keys=True))
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(len(text)))
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


def _exact(text: str) -> Fraction:
    return Fraction(Decimal(text))


def _readable(text: str) -> bool:
    """The documented generated language: plain notation; a text with a fraction has an integer
    part and a significant-digit count of at most READ_DIGITS."""
    body = text.lstrip("-")
    if "e" in body.lower():
        return False
    if "." not in body:
        return True
    integer, _, fraction = body.partition(".")
    digits = (integer + fraction).lstrip("0").rstrip("0")
    return len(integer) <= READ_DIGITS and len(digits) <= READ_DIGITS


# -- texts: signs, lengths, leading and trailing zeros, exponents -----------------------------
_INTEGER_PART = st.one_of(
    st.just("0"),
    st.integers(1, 10**6).map(str),
    st.integers(10**12, 10**20).map(str),
)
_FRACTION = st.one_of(
    st.text("0123456789", min_size=1, max_size=6),
    st.text("0123456789", min_size=1, max_size=3).map(lambda f: f + "000"),
    st.text("0123456789", min_size=7, max_size=20),
)


@st.composite
def number_texts(draw) -> str:
    text = draw(st.sampled_from(["", "-"])) + draw(_INTEGER_PART)
    if draw(st.booleans()):
        text += "." + draw(_FRACTION)
    if draw(st.integers(0, 9)) == 0:
        text += draw(st.sampled_from(["e0", "e-2", "E+1", "e2"]))
    return text


@st.composite
def multiple_texts(draw, step: Fraction) -> str:
    """A multiple of ``step`` in plain notation, with optional trailing zeros."""
    n = draw(st.one_of(st.integers(-2000, 2000), st.integers(-(10**14), 10**14)))
    value = Decimal(step.numerator * n) / Decimal(step.denominator)
    text = format(value, "f")
    if draw(st.booleans()):
        text += ("" if "." in text else ".") + "0" * draw(st.integers(1, 3))
    return text


# -- the divisibility automaton ---------------------------------------------------------------
@settings(deadline=None)
@given(
    p=st.integers(1, 80),
    k=st.integers(0, 4),
    text=st.builds(
        lambda sign, integer, fraction: sign + integer + ("." + fraction if fraction else ""),
        st.sampled_from(["", "-"]),
        st.text("0123456789", min_size=1, max_size=8),
        st.text("0123456789", max_size=8),
    ),
)
def test_multiple_dfa_against_exact_division(p, k, text):
    dfa = multiple_dfa(p, k, max_states=10_000)
    assert dfa.accepts(text) == (_exact(text) % Fraction(p, 10**k) == 0)


@given(p=st.integers(1, 40), k=st.integers(0, 3), n=st.integers(-(10**9), 10**9))
def test_multiple_dfa_accepts_every_multiple(p, k, n):
    step = Fraction(p, 10**k)
    text = format(Decimal(p * n) / Decimal(10**k), "f")
    assert multiple_dfa(p, k, max_states=10_000).accepts(text)
    assert not multiple_dfa(p, k, max_states=10_000).accepts(text + "e0")
    assert _exact(text) % step == 0


def test_multiple_dfa_refuses_non_number_texts():
    dfa = multiple_dfa(1, 2, max_states=100)
    for text in ["", "-", ".5", "1.", "--1", "1..0", "1.2.3", "+1", "1e2", "a"]:
        assert not dfa.accepts(text), text


@given(
    steps=st.lists(
        st.builds(Fraction, st.integers(1, 6), st.sampled_from([1, 2, 4, 5, 10, 20, 100])),
        min_size=1,
        max_size=3,
    )
)
def test_common_multiple_is_the_least(steps):
    found = common_multiple([Decimal(s.numerator) / Decimal(s.denominator) for s in steps])
    # The common multiples are the multiples of ``found`` (all are multiples of 1/100, and
    # ``found`` is at most 60).
    for i in range(1, 10_001):
        candidate = Fraction(i, 100)
        common = all((candidate / s).denominator == 1 for s in steps)
        assert common == ((candidate / found).denominator == 1), candidate


def test_common_multiple_of_nothing_is_none():
    assert common_multiple([]) is None


@pytest.mark.parametrize(
    "step,expected",
    [("0.01", (1, 2)), ("2.5", (25, 1)), ("6.75", (675, 2)), ("0.0001", (1, 4)), ("3", (3, 0))],
)
def test_decimal_step(step, expected):
    assert decimal_step(Fraction(Decimal(step))) == expected


def test_decimal_step_refuses_what_is_no_positive_decimal():
    with pytest.raises(ValueError, match="not a finite decimal"):
        decimal_step(Fraction(1, 3))
    with pytest.raises(ValueError, match="must be positive"):
        decimal_step(Fraction(0))


# -- compiled schemas -------------------------------------------------------------------------
_STEPS = [0.01, 0.1, 0.25, 2.5, 0.3, 1.5, 0.05, 0.125, 6.75, 0.0001, 13.5]
_DYADIC = {0.25, 2.5, 1.5, 0.125, 6.75, 13.5}  # float64 division by these is exact


_SCHEMAS = [
    {"type": "number", "multipleOf": 0.01},
    {"type": "number", "multipleOf": 0.1, "minimum": 0, "maximum": 100},
    {"type": "number", "multipleOf": 0.25, "exclusiveMinimum": -2.5, "maximum": 1e15},
    {"type": "number", "multipleOf": 2.5, "exclusiveMinimum": -10},
    {"type": "number", "multipleOf": 0.3, "minimum": -0.3, "exclusiveMaximum": 1000},
    {"type": "number", "multipleOf": 6.75},
    {"type": "number", "multipleOf": 0.0001, "exclusiveMaximum": 0.5},
    {"type": "number", "multipleOf": 0.05, "minimum": 0.01, "maximum": 99.99},
]


def _in_bounds(schema: dict, value: Fraction) -> bool:
    def read(key: str) -> Fraction:
        return Fraction(
            Decimal(repr(schema[key])) if isinstance(schema[key], float) else schema[key]
        )

    checks = {
        "minimum": lambda b: value >= b,
        "exclusiveMinimum": lambda b: value > b,
        "maximum": lambda b: value <= b,
        "exclusiveMaximum": lambda b: value < b,
    }
    return all(check(read(key)) for key, check in checks.items() if key in schema)


def _expected(schema: dict, text: str) -> bool:
    value = _exact(text)
    step = Fraction(Decimal(repr(schema["multipleOf"])))
    return _readable(text) and value % step == 0 and _in_bounds(schema, value)


@pytest.mark.parametrize("schema", _SCHEMAS, ids=lambda schema: json.dumps(schema))
@settings(deadline=None)
@given(data=st.data())
def test_compiled_schema_against_exact_decimal(schema, data):
    step = Fraction(Decimal(repr(schema["multipleOf"])))
    texts = [data.draw(number_texts()), data.draw(multiple_texts(step))]
    validator = DocumentValidator(schema)
    for text in texts:
        accepted = _accepts(schema, text)
        assert accepted == _expected(schema, text), (schema, text)
        if accepted:  # the one validator agrees with what is generated
            assert validator.is_valid(parse_json(text)), (schema, text)
            if schema["multipleOf"] in _DYADIC:  # float64 division is exact here
                assert Draft202012Validator(schema).is_valid(json.loads(text)), (schema, text)
        elif _readable(text) and "e" not in text.lower():
            # within the generated language the validator refuses what the compiler refuses
            assert not validator.is_valid(parse_json(text)), (schema, text)


@pytest.mark.parametrize(
    "schema,accepted,refused",
    [
        (
            {"type": "number", "multipleOf": 0.01},
            ["0", "-0", "0.07", "12.50", "-3", "1.10000", "100000000000000000000", "0.3"],
            ["0.071", "1e-2", "7E-2", "0.07e0", "012", "1.", ".5", "1000000000000000.01"],
        ),
        (
            {"type": "number", "multipleOf": 0.1, "minimum": 0, "maximum": 100},
            ["0.3", "0.7", "100", "100.0", "99.9", "0.0"],
            ["100.1", "-0.1", "0.35", "1000"],
        ),
        (
            {"type": "number", "multipleOf": 2.5, "exclusiveMinimum": -10},
            ["-7.5", "0", "2.5", "1000000", "5.0"],
            ["-10", "-10.0", "1", "2.50001", "25e-1"],
        ),
        (
            {"type": "integer", "multipleOf": 1.5},
            ["0", "3", "-6", "3.0", "300"],
            ["1.5", "4", "1"],
        ),
        ({"type": "integer", "multipleOf": 0.5}, ["0", "7", "-13", "7.0"], ["7.5", "0.5"]),
        # lcm(0.2, 0.5) = 1: the integers
        (
            {"type": "number", "allOf": [{"multipleOf": 0.2}, {"multipleOf": 0.5}]},
            ["1", "-4", "10.0"],
            ["0.5", "0.2", "1.5"],
        ),
        (
            {"type": "number", "allOf": [{"multipleOf": 0.01}, {"multipleOf": 0.25}]},
            ["0.25", "0.5", "1", "-0.75"],
            ["0.01", "0.3", "0.125"],
        ),
    ],
)
def test_known_cases(schema, accepted, refused):
    validator = DocumentValidator(schema)
    for text in accepted:
        assert _accepts(schema, text), text
        assert validator.is_valid(parse_json(text)), text
    for text in refused:
        assert not _accepts(schema, text), text


def test_no_multiple_in_the_bounds_is_unsatisfiable():
    with pytest.raises(UnsatisfiableSchemaError, match="no multiple in the bounds"):
        schema_to_grammar({"type": "number", "multipleOf": 0.3, "minimum": 0.1, "maximum": 0.2})


def test_a_large_modulus_names_the_limit_it_hits():
    with pytest.raises(LimitExceededError, match="max_regex_states") as caught:
        schema_to_grammar({"type": "number", "multipleOf": 0.123456789})
    assert "#/multipleOf" in str(caught.value)
    with pytest.raises(LimitExceededError, match="max_regex_states"):
        schema_to_grammar({"type": "number", "multipleOf": 0.0123}, max_regex_states=100)
    assert schema_to_grammar({"type": "number", "multipleOf": 0.0123}) is not None


# -- the validator -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "schema,text,valid",
    [
        ({"multipleOf": 0.1}, "0.3", True),  # decimal: float64 gives 2.9999999999999996
        ({"multipleOf": 0.01}, "0.07", True),  # float64 gives 7.000000000000001
        ({"multipleOf": 0.01}, "0.071", False),
        ({"multipleOf": 0.0001}, "0.0075", True),  # JSON-Schema-Test-Suite
        ({"multipleOf": 0.0001}, "0.00751", False),
        ({"type": "integer", "multipleOf": 0.123456789}, "1e308", False),  # float-overflow
        ({"type": "integer", "multipleOf": 0.5}, "1e308", True),
        ({"multipleOf": 0.5}, "1e400", False),  # infinite
        ({"multipleOf": 0.5}, "12345678901234567890", True),  # an integer literal, exact
        ({"multipleOf": 1.5}, "12345678901234567891", False),
        ({"multipleOf": 2}, "4.0", True),  # integer steps: unchanged
        ({"multipleOf": 2}, "7.5", False),
        ({"multipleOf": 0.1}, '"text"', True),  # not a number
    ],
)
def test_validator_decimal_semantics(schema, text, valid):
    assert DocumentValidator(schema).is_valid(parse_json(text)) is valid


@given(
    step=st.sampled_from(_STEPS),
    value=st.floats(allow_nan=False, allow_infinity=False, width=64),
)
def test_validator_reads_a_float_by_its_shortest_repr(step, value):
    expected = _exact(repr(value)) % Fraction(Decimal(repr(step))) == 0
    assert DocumentValidator({"multipleOf": step}).is_valid(value) is expected
