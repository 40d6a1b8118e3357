"""Listed numbers (:mod:`structgen.schema.number_lists`): the texts of a value are exactly its
plain notations a float64 reader reads back, and bounded ranges with few multiples of a large
step compile by listing them; a zero-fraction branch past its limit is left out with a warning,
the integer literals staying exact. Oracles: ``fractions``/``float`` arithmetic and
``jsonschema``."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import validators

from structgen.schema import SchemaWarning, schema_to_grammar
from structgen.schema.number_lists import listed_numbers
from tests.test_schema_grammar import Raw, accepts, compiled


def _texts_for(value: Fraction) -> list[str]:
    """Candidate texts near ``value``'s: its own notations and a few others."""
    plain = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    out = [plain, plain + "0", plain + ".", plain + ".0", plain + ".00", "-" + plain, "0" + plain]
    out += [plain.lstrip("-"), plain + "1", plain[:-1] or "0", "1e2", "-0", "0", "0.0"]
    return out


_PLAIN = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def _expected(values: set[Fraction], text: str) -> bool:
    """Whether ``text`` is a plain JSON number whose value is listed and that a float64 reader
    reads back exactly (a literal integer always; with a point, at most 15 digits)."""
    if not _PLAIN.fullmatch(text):
        return False
    value = Fraction(Decimal(text))
    if value not in values:
        return False
    if "." not in text:
        return True
    if value.denominator == 1:
        return abs(value) < 10**15
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    integer, _, fraction = format(abs(exact), "f").partition(".")
    return len(integer) <= 15 and len((integer + fraction).lstrip("0")) <= 15


@given(
    values=st.sets(
        st.one_of(
            st.integers(-(10**17), 10**17).map(Fraction),
            st.integers(-(10**6), 10**6).map(lambda n: Fraction(n, 8)),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_listed_texts_match_arithmetic(values):
    dfa = listed_numbers(values, max_states=20_000)
    for value in values:
        for text in _texts_for(value):
            assert dfa.accepts(text) == _expected(values, text), (sorted(values), text)


def test_few_multiples_of_a_large_step_are_listed():
    schema = {
        "type": "integer",
        "multipleOf": 8721,
        "exclusiveMinimum": -100000,
        "exclusiveMaximum": -10000,
    }
    constraint = compiled(schema)
    oracle = validators.validator_for(schema)(schema)
    documents = [8721 * k + d for k in range(-13, 1) for d in (-1, 0, 1)]
    for document in documents + [-26163.0, -78489.0]:
        assert accepts(constraint, document) == oracle.is_valid(document), document
    assert accepts(constraint, Raw("-26163.000"))


def test_zero_fractions_past_their_limit_are_left_out_with_a_warning():
    schema = {
        "type": "integer",
        "minimum": 1,
        "multipleOf": 33,
        "not": {"anyOf": [{"multipleOf": 5}, {"multipleOf": 7}, {"multipleOf": 8}]},
    }
    with pytest.warns(SchemaWarning, match="zero fraction"):
        schema_to_grammar(schema)
    constraint = compiled(schema)
    oracle = validators.validator_for(schema)(schema)
    for document in range(-40, 3000, 11):
        assert accepts(constraint, document) == oracle.is_valid(document), document
    assert not accepts(constraint, Raw("33.0"))  # valid, but not generated (the warning)
