"""Issue 10, the schema compiler's findings: each case failed before its fix.

Oracles: Python's ``decimal`` and ``float`` readings for numbers, ``jsonschema`` for schemas.
"""

from __future__ import annotations

import json
import math
import random
import warnings
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from structgen.errors import LimitExceededError
from structgen.regex import compile_byte_dfa
from structgen.regex.nodes import is_empty_language
from structgen.runtime.compiler import compile_json_schema
from structgen.schema import UnsupportedSchemaError, schema_to_grammar
from structgen.schema.float_bounds import SIGNIFICANT_DIGITS, float_safe_bounds
from structgen.schema.numbers import Bound, number_node, to_decimal
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()


def _compile(schema, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_json_schema(schema, VOCAB, **options)


def _accepts(compiled, text: str) -> bool:
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(len(text)))
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


# -- finding 1: numbers hold exactly and after a float64 reading -------------------------------
@pytest.mark.parametrize(
    "schema,text",
    [
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 1}, "8E-758"),
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 1}, "0." + "0" * 400 + "1"),
        ({"type": "number", "exclusiveMaximum": 0.3}, "0.29999999999999999"),
        ({"type": "number", "exclusiveMaximum": 0.3}, "2.9999999999999999e-1"),
        ({"type": "number", "not": {"const": 0.5}}, "0.50000000000000001"),
        ({"type": "integer", "exclusiveMaximum": 10**17}, "99999999999999999.0"),
        ({"type": "integer", "multipleOf": 3}, "12345678901234567891.0"),
    ],
)
def test_numbers_that_a_float_reader_puts_outside_are_refused(schema, text):
    assert not Draft202012Validator(schema).is_valid(json.loads(text))
    assert not _accepts(_compile(schema), text)


@pytest.mark.parametrize(
    "schema,text",
    [
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 1}, "5e-324"),
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 1}, "1"),
        ({"type": "number", "exclusiveMaximum": 0.3}, "0.29999999999999993"),
        ({"type": "number", "maximum": 0.3}, "0.3"),
        ({"type": "number", "maximum": 0.1}, "0.1"),
        ({"type": "number", "maximum": 18446744073709551615}, "18446744073709551600"),
        ({"type": "integer", "maximum": 10**17}, "99999999999999999"),
        ({"type": "integer", "multipleOf": 3, "minimum": 0}, "300.0"),
    ],
)
def test_numbers_near_bounds_that_hold_both_ways_are_accepted(schema, text):
    assert _accepts(_compile(schema), text)


_bound_values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0.3, 0.1, -0.3, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0]),
)


def _near(bound: Decimal) -> list[str]:
    """Texts around ``bound``: the bound, its neighbouring doubles, and long decimals between."""
    out = [format(bound, "f") if abs(bound.adjusted()) < 30 else str(bound)]
    try:
        centre = float(bound)
    except OverflowError:
        return out
    if math.isinf(centre):
        return out
    for step in range(-3, 4):
        x = centre
        for _ in range(abs(step)):
            x = math.nextafter(x, math.inf if step > 0 else -math.inf)
        if math.isinf(x):
            continue
        out.append(repr(x))
        exact = Decimal(x)
        out.append(str(exact))  # the exact binary value: up to ~770 digits
        if x != 0:
            out.append(str(exact.quantize(Decimal(1).scaleb(exact.adjusted() - 19))))
    return [t.replace("E", "e") for t in out]


def _text_ok(text: str, low: Bound | None, high: Bound | None) -> tuple[bool, bool]:
    exact = Decimal(text)
    read = Decimal(float(text)) if not math.isinf(float(text)) else None

    def holds(value, bound: Bound, upper: bool, as_float: bool) -> bool:
        limit = bound.value
        if as_float:
            nearest = float(limit)
            if not math.isinf(nearest) and Decimal(repr(nearest)) == limit:
                limit = Decimal(nearest)
        if upper:
            return value < limit if bound.exclusive else value <= limit
        return value > limit if bound.exclusive else value >= limit

    def all_hold(value, as_float):
        if value is None:
            return False
        return (low is None or holds(value, low, False, as_float)) and (
            high is None or holds(value, high, True, as_float)
        )

    return all_hold(exact, False), all_hold(read, True)


def _digits(text: str) -> int:
    return len(Decimal(text).normalize().as_tuple().digits)


@settings(max_examples=40, deadline=None)
@given(
    low=st.one_of(st.none(), st.tuples(_bound_values, st.booleans())),
    high=st.one_of(st.none(), st.tuples(_bound_values, st.booleans())),
)
def test_float_safe_bounds_against_decimal_and_float(low, high):
    lower = None if low is None else Bound(to_decimal(low[0]), low[1])
    upper = None if high is None else Bound(to_decimal(high[0]), high[1])
    node = number_node(*float_safe_bounds(lower, upper))
    dfa = None if is_empty_language(node) else compile_byte_dfa(node)
    probes = [t for b in (lower, upper) if b is not None for t in _near(b.value)]
    probes += [t for b in (lower, upper) if b is not None for t in _near(-b.value)]
    for text in probes:
        if text.startswith("-0") and Decimal(text) != 0 and "e" not in text and "." not in text:
            continue
        try:
            json.loads(text)
        except ValueError:
            continue
        exact_ok, float_ok = _text_ok(text, lower, upper)
        accepted = dfa is not None and dfa.fullmatch(text.encode())
        if accepted:
            assert exact_ok and float_ok, (lower, upper, text)
        elif exact_ok and float_ok and _digits(text) <= SIGNIFICANT_DIGITS:
            shape = "e" not in text or text.lstrip("-")[1:2] in (".", "e")
            assert not shape, (lower, upper, text)  # only unnormalised exponents are refused


# -- integer multipleOf: a k-state automaton, not a regex ---------------------------------------
@pytest.mark.parametrize("modulus", [64, 127, 256, 512, 997, 1024])
def test_integer_multiple_of_compiles_fast_and_exactly(modulus):
    compiled = _compile({"type": "integer", "multipleOf": modulus, "minimum": -(10**9)})
    for value in [
        0,
        modulus,
        -modulus,
        37 * modulus,
        37 * modulus + 1,
        1,
        modulus // 2,
        10**12 * modulus,
    ]:
        expected = value % modulus == 0 and value >= -(10**9)
        assert _accepts(compiled, str(value)) == expected, value
    assert not _accepts(compiled, f"{modulus}e0")


def test_a_multiple_of_beyond_the_state_limit_names_the_limit_it_hits():
    with pytest.raises(LimitExceededError, match="max_regex_states") as caught:
        schema_to_grammar({"type": "integer", "multipleOf": 30011}, max_regex_states=1000)
    assert "#/multipleOf" in str(caught.value)


# -- finding 5: oneOf overlap through enum/const -------------------------------------------------
@pytest.mark.parametrize(
    "schema,texts",
    [
        (
            {"oneOf": [{"enum": [1, "hello", 2]}, {"type": "integer"}]},
            ["1", "2", "3", '"hello"', "1.0", "-4"],
        ),
        ({"oneOf": [{"const": "a"}, {"type": "string"}]}, ['"a"', '"b"', '""']),
        ({"oneOf": [{"enum": [1, 5]}, {"type": "integer", "maximum": 3}]}, ["1", "5", "3", "0"]),
        ({"type": "object", "properties": {"k": {"oneOf": [{"const": True}, {"type": "boolean"}]}}},
         ['{"k":true}', '{"k":false}']),
    ],
)  # fmt: skip
def test_one_of_is_exactly_one_with_finite_branches(schema, texts):
    compiled = _compile(schema)
    validator = Draft202012Validator(schema)
    for text in texts:
        assert _accepts(compiled, text) == validator.is_valid(json.loads(text)), text


@pytest.mark.parametrize(
    "schema",
    [
        {"oneOf": [{"const": {"a": 1}}, {"type": "object"}]},
    ],
)
def test_one_of_overlaps_that_cannot_be_made_exact_are_refused(schema):
    with pytest.raises(UnsupportedSchemaError, match="oneOf"):
        schema_to_grammar(schema)


# -- finding 7: additional_properties_default=False keeps open objects open ---------------------
@pytest.mark.parametrize(
    "schema",
    [{}, {"type": "object"}, {"type": "object", "propertyNames": {"maxLength": 5}}],
)
def test_strict_default_leaves_objects_without_properties_open(schema):
    compiled = _compile(schema, additional_properties_default=False)
    assert _accepts(compiled, '{"foo":"bar"}')


def test_strict_default_still_closes_objects_that_list_properties():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    compiled = _compile(schema, additional_properties_default=False)
    assert _accepts(compiled, '{"a":1}')
    assert not _accepts(compiled, '{"a":1,"foo":"bar"}')


# -- finding 10 and 16: string length bounds -----------------------------------------------------
def test_a_huge_max_length_is_refused_at_once_naming_keyword_pointer_and_option():
    with pytest.raises(LimitExceededError) as caught:
        schema_to_grammar(
            {"type": "object", "properties": {"s": {"type": "string", "maxLength": 10**9}}}
        )
    message = str(caught.value)
    assert "maxLength" in message and "#/properties/s" in message and "max_string_length" in message


def test_a_long_min_length_without_pattern_compiles_and_counts():
    compiled = _compile({"type": "string", "minLength": 2000})
    assert _accepts(compiled, json.dumps("x" * 2000))
    assert _accepts(compiled, json.dumps("é" * 2100))
    assert not _accepts(compiled, json.dumps("x" * 1999))


def test_the_min_length_error_names_no_pattern_the_schema_lacks():
    with pytest.raises(LimitExceededError) as caught:
        schema_to_grammar({"type": "string", "minLength": 2_000_000})
    message = str(caught.value)
    assert "minLength" in message and "pattern" not in message
    with pytest.raises(LimitExceededError, match="minLength 2000000 at # combined with pattern"):
        schema_to_grammar({"type": "string", "minLength": 2_000_000, "pattern": "a"})
