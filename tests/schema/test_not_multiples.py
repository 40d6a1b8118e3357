"""``not: {multipleOf}`` (alone, in ``anyOf``/``allOf``, beside bounds and ``not: {const}``): the
compiled matcher accepts a serialised number exactly when ``jsonschema`` says it is valid, and
both constructions of :mod:`structgen.schema.number_sets` (enumeration, products) give the
texts that arithmetic on :class:`fractions.Fraction` says they should."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import validators

from structgen.errors import LimitExceededError
from structgen.schema import number_sets, schema_to_grammar
from structgen.schema.normalize import NumberSpec
from structgen.schema.numbers import Bound
from tests.test_schema_grammar import Raw, accepts, compiled

DATA = Path(__file__).resolve().parent.parent / "data" / "not-multiples"


@cache
def _compiled(text: str):
    return compiled(json.loads(text))


def _agree(schema, documents) -> None:
    constraint = _compiled(json.dumps(schema, sort_keys=True))
    oracle = validators.validator_for(schema)(schema)
    for document in documents:
        assert accepts(constraint, document) == oracle.is_valid(document), (schema, document)


def _load(name: str):
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def test_num4_every_multiple_in_and_around_the_range():
    schema = _load("num4")
    near = [8721 * k + d for k in range(-13, 1) for d in (-1, 0, 1)]
    others = [-26163.0, -26163.5, -78489.0, -100000, -10000, 0, "x", None, True, [1], {"a": 1}]
    _agree(schema, near + others)
    constraint = compiled(schema)
    # The one value left, -26163, in every plain notation; exponents are not written.
    assert accepts(constraint, Raw("-26163.000"))
    assert not accepts(constraint, Raw("-2.6163e4"))


_POINTERS = ["kwjha", "117777a", "11", "a", "ab", "1a", "cdeb", "7777a", "kwjh7777a", "11a", "xa"]
_VALUES = [0, 7, 10, 14, 20, 30, 35, 70, 90, 105, 140, 210, 350, 15.0, 2.5, "s", None, [], {}]


@settings(deadline=None)  # the first example compiles the schema
@given(
    documents=st.lists(
        st.one_of(
            st.dictionaries(st.sampled_from(_POINTERS), st.sampled_from(_VALUES), max_size=3),
            st.sampled_from(_VALUES),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_all_of_pattern_properties_9(documents):
    _agree(_load("allOfPProp9"), documents)


def test_all_of_pattern_properties_9_known_members():
    schema = _load("allOfPProp9")
    _agree(schema, [{"kwjha": 30, "117777a": 70}, {"kwjha": 30, "117777a": 210}, {"kwjha": 30}])
    assert validators.validator_for(schema)(schema).is_valid({"kwjha": 30, "117777a": 70})


_STEPS = [2, 3, 5, 7, 10, 20, 1.5, 2.5, 0.5, 0.25]
_NUMBERS = st.one_of(
    st.integers(-300, 300),
    st.integers(-1200, 1200).map(lambda n: n / 4),
    st.sampled_from(["x", None, True, [2], {"a": 4}]),
)


@st.composite
def _schemas(draw):
    schema: dict = {}
    if draw(st.booleans()):
        schema["multipleOf"] = draw(st.sampled_from(_STEPS))
    steps = draw(st.lists(st.sampled_from(_STEPS), min_size=1, max_size=3))
    shape = draw(st.sampled_from(["one", "anyOf", "allOf"]))
    if shape == "one":
        schema["not"] = {"multipleOf": steps[0]}
    else:
        schema["not"] = {shape: [{"multipleOf": s} for s in steps]}
    if draw(st.booleans()):
        schema["minimum"] = draw(st.integers(-250, 100))
    if draw(st.booleans()):
        schema["exclusiveMaximum"] = draw(st.integers(-100, 250))
    if draw(st.booleans()):
        schema["type"] = draw(st.sampled_from(["integer", "number"]))
    if draw(st.booleans()):
        schema = {"allOf": [schema, {"not": {"const": draw(st.integers(-300, 300))}}]}
    return schema


@settings(deadline=None)  # every example compiles a schema
@given(schema=_schemas(), documents=st.lists(_NUMBERS, min_size=1, max_size=10))
def test_not_multiple_of_against_jsonschema(schema, documents):
    try:
        constraint = _compiled(json.dumps(schema, sort_keys=True))
    except Exception as error:  # an empty language: jsonschema must then refuse every number
        assert "unsatisfiable" in type(error).__name__.lower(), error
        oracle = validators.validator_for(schema)(schema)
        assert not any(oracle.is_valid(d) for d in documents)
        return
    oracle = validators.validator_for(schema)(schema)
    for document in documents:
        assert accepts(constraint, document) == oracle.is_valid(document), (schema, document)


def _spec(low, high, multiples=(), not_multiples=(), excluded=(), integer=False) -> NumberSpec:
    return NumberSpec(
        integer=integer,
        low=None if low is None else Bound(Decimal(low)),
        high=None if high is None else Bound(Decimal(high), exclusive=True),
        multiples=[(Decimal(m), "#/multipleOf") for m in multiples],
        not_multiples=[(Decimal(m), "#/not/multipleOf") for m in not_multiples],
        excluded=[Decimal(v) for v in excluded],
    )


def _allowed(spec: NumberSpec, value: Fraction) -> bool:
    low, high = spec.low, spec.high
    if low is not None and value < Fraction(low.value):
        return False
    if high is not None and value >= Fraction(high.value):
        return False
    if spec.integer and value.denominator != 1:
        return False
    if any((value / Fraction(m)).denominator != 1 for m, _ in spec.multiples):
        return False
    if any((value / Fraction(m)).denominator == 1 for m, _ in spec.not_multiples):
        return False
    return value not in {Fraction(v) for v in spec.excluded}


_SPECS = [
    _spec(-60, 90, multiples=["3"], not_multiples=["2", "7"], excluded=["-21", "33"]),
    _spec(-60, 90, multiples=["1.5"], not_multiples=["2", "0.75"]),
    _spec(-30, 30, multiples=["0.5"], not_multiples=["1"], excluded=["2.5"]),
    _spec(-30, 40, not_multiples=["3", "5"], integer=True),
    _spec(-40, 40, multiples=["2.5"], not_multiples=["5"], integer=True),
]


@pytest.mark.parametrize("construction", ["enumeration", "residues", "one step at a time"])
@pytest.mark.parametrize("spec", _SPECS)
def test_every_construction_matches_arithmetic(spec, construction, monkeypatch):
    if construction != "enumeration":
        monkeypatch.setattr(number_sets, "ENUMERATED", 0)
    if construction == "one step at a time":
        monkeypatch.setattr(number_sets, "_RESIDUE_STATES", 0)
    dfa = number_set_dfa_of(spec)
    for quarter in range(-70 * 4, 100 * 4):
        value = Fraction(quarter, 4)
        text = str(value.numerator) if value.denominator == 1 else str(float(value))
        assert dfa.accepts(text) == _allowed(spec, value), (spec, text)
        if value.denominator == 1 and value != 0:
            assert dfa.accepts(text + ".00") == _allowed(spec, value), (spec, text)
            assert not dfa.accepts(text + "."), text


def number_set_dfa_of(spec: NumberSpec):
    return number_sets.number_set_dfa(spec, max_states=20_000, pointer="#")


def test_zero_is_a_multiple_of_every_step():
    dfa = number_set_dfa_of(_spec(-5, 5, not_multiples=["7"], integer=True))
    assert not dfa.accepts("0") and not dfa.accepts("-0") and dfa.accepts("-4")


def test_a_too_large_product_names_the_keyword():
    schema = {"multipleOf": 9973, "not": {"anyOf": [{"multipleOf": 9967}, {"multipleOf": 9949}]}}
    with pytest.raises(LimitExceededError, match="#/not/anyOf/0/multipleOf"):
        schema_to_grammar(schema, max_regex_states=30_000)


def test_a_step_dividing_the_required_one_leaves_nothing():
    spec = _spec(None, None, multiples=["6"], not_multiples=["3"])
    assert number_set_dfa_of(spec).is_empty()


@pytest.mark.parametrize("order", [["6", "7", "8"], ["8", "7", "6"], ["7", "8", "6"]])
def test_redundant_excluded_steps_do_not_blow_up_the_product(order):
    """Beside multipleOf 429 and not 6, not 8 excludes nothing more (every multiple of 8 left is
    even): left out, the automaton is one of the residues modulo 6006, in any order (with 8
    kept, some orders passed 20000 states on the way)."""
    spec = _spec(None, None, multiples=["13", "33"], not_multiples=order)
    dfa = number_set_dfa_of(spec)
    for value in range(-9000, 9000, 3):
        expected = value % 429 == 0 and all(value % d for d in (6, 7, 8))
        assert dfa.accepts(str(value)) == expected, value
