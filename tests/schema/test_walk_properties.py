"""Standing property test (issue 10): random constrained walks over random schemas with numeric
bounds and formats end in documents that every reader accepts.

Each completed walk is judged three ways: ``structgen validate``'s validator (numbers as a JSON
consumer reads them, formats by the RFCs); ``jsonschema`` on ``json.loads`` (float64) output;
``jsonschema`` on exact decimals against the schema's bounds as decimals (the reprs the compiler
reads). ``jsonschema`` asserts only the formats whose Python checkers follow the RFCs (its
``date``/``time``/``date-time`` checkers refuse year 0000 and leap seconds, which RFC 3339
allows: issue 10 finding 2), so those are judged by structgen's validator alone.
"""

from __future__ import annotations

import json
import random
import warnings
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker, validators

from structgen.errors import LimitExceededError
from structgen.runtime.compiler import compile_json_schema
from structgen.schema import UnsatisfiableSchemaError
from structgen.validation import DocumentValidator, parse_json
from tests.test_schema_properties import PROPERTY, VOCAB, _walk

_RFC_FORMATS = FormatChecker(formats=("email", "uuid", "ipv4"))


def _is_integer(checker, instance) -> bool:
    """Draft 6+: a number with a zero fraction is an integer (jsonschema knows it for floats)."""
    if isinstance(instance, Decimal):
        return instance == instance.to_integral_value()
    return Draft202012Validator.TYPE_CHECKER.is_type(instance, "integer")


_ExactValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)

_bound_values = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(2**53 - 3, 2**53 + 3),
    st.floats(-1e3, 1e3, allow_nan=False).map(lambda f: round(f, 3)),
    st.sampled_from(
        [
            0,
            0.0,
            0.3,
            -0.3,
            0.1,
            1e-300,
            5e-324,
            -5e-324,
            2.5e-5,
            1.5e20,
            1e17,
            1.7976931348623157e308,
        ]
    ),
)


@st.composite
def _number_schemas(draw) -> dict:
    schema: dict = {"type": draw(st.sampled_from(["number", "integer"]))}
    for keyword in draw(
        st.sets(st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]))
    ):
        schema[keyword] = draw(_bound_values)
    if schema["type"] == "integer" and draw(st.booleans()):
        schema["multipleOf"] = draw(st.sampled_from([2, 3, 7, 64, 100]))
    return schema


_string_schemas = st.sampled_from(["date", "time", "date-time", "email", "uuid", "ipv4"]).map(
    lambda name: {"type": "string", "format": name}
)


@st.composite
def _schemas(draw) -> dict:
    leaf = st.one_of(_number_schemas(), _string_schemas)
    shape = draw(st.sampled_from(["leaf", "object", "array"]))
    if shape == "leaf":
        return draw(leaf)
    if shape == "array":
        return {"type": "array", "items": draw(leaf), "maxItems": 3}
    names = draw(st.lists(st.sampled_from("abc"), min_size=1, max_size=3, unique=True))
    return {
        "type": "object",
        "properties": {name: draw(leaf) for name in names},
        "required": names[:1],
        "additionalProperties": False,
    }


def _exact_schema(value):
    """The schema with every float as the decimal of its repr (the compiler's reading)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _exact_schema(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact_schema(v) for v in value]
    return value


@PROPERTY
@given(schema=_schemas(), seed=st.integers(0, 2**32 - 1))
def test_walks_validate_as_floats_and_as_exact_decimals(schema, seed):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = compile_json_schema(schema, VOCAB)
    except (UnsatisfiableSchemaError, LimitExceededError):
        return
    ours = DocumentValidator(schema)
    as_floats = Draft202012Validator(schema, format_checker=_RFC_FORMATS)
    exact = _ExactValidator(_exact_schema(schema), format_checker=_RFC_FORMATS)
    rng = random.Random(seed)
    for _ in range(4):
        walked = _walk(compiled, rng, max_steps=160)
        if walked is None:
            continue
        text = walked.decode("utf-8")
        assert ours.is_valid(parse_json(text)), (schema, text)
        assert as_floats.is_valid(json.loads(text)), (schema, text)
        assert exact.is_valid(json.loads(text, parse_float=Decimal)), (schema, text)
