"""``oneOf`` whose branches overlap on scalars: exactly-one enforced as a language.

Oracle: ``jsonschema`` (Draft 2020-12). A compiled schema's matcher must accept a JSON text
exactly when the validator says the value is valid; what cannot be exact must be refused with an
error naming ``oneOf`` and its pointer.
"""

from __future__ import annotations

import json
import random
import warnings
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from structgen.runtime.compiler import compile_json_schema
from structgen.schema import UnsatisfiableSchemaError, UnsupportedSchemaError, schema_to_grammar
from structgen.schema.exactly_one import NumberPiece
from structgen.schema.numbers import Bound
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()


def _compile(schema):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_json_schema(schema, VOCAB)


def _accepts(compiled, text: str) -> bool:
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(len(text)))
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


def _agrees(schema, texts) -> None:
    compiled = _compile(schema)
    validator = Draft202012Validator(schema)
    for text in texts:
        expected = validator.is_valid(json.loads(text))
        assert _accepts(compiled, text) == expected, (schema, text, expected)


# -- real shapes from JSONSchemaBench --------------------------------------------------------------
@pytest.mark.parametrize(
    "schema,texts",
    [
        # Github_easy/o81530: overlapping maxima leave (2, 5].
        ({"type": "number", "oneOf": [{"maximum": 2}, {"maximum": 5}]},
         ["1", "2", "2.0", "2.5", "5", "5.5", "3", "-1", "2e0", "4.99e0"]),
        # Github_easy/o9963: a pattern and all strings leave the strings not matching it.
        ({"type": "string", "oneOf": [{"pattern": "^[A-Fa-f\\d]{24}$"}, {}]},
         ['"abc"', '"' + "a" * 24 + '"', '"' + "g" * 24 + '"', '""']),
        # Github_easy/o65510: unanchored patterns; a string matching two holds none.
        ({"type": "string", "oneOf": [{"pattern": "customer"}, {"pattern": "maker"},
                                      {"pattern": "admin"}]},
         ['"customer"', '"customeradmin"', '"x"', '"a maker"', '"makeradmin customer"']),
        # Github_easy/o1327: a length branch and null-or-empty.
        ({"pattern": "^[0-9]*$", "maxLength": 9,
          "oneOf": [{"minLength": 9}, {"anyOf": [{"type": "null"}, {"type": "string",
                                                                     "maxLength": 0}]}]},
         ['""', '"123456789"', '"12"', "null", "1", "true", "[]"]),
        # integers and numbers that overlap only where the integers are.
        ({"oneOf": [{"type": "integer", "maximum": 3}, {"type": "number", "minimum": 2}]},
         ["1", "2", "2.5", "3", "3.0", "4", "1.5", "-7"]),
        ({"oneOf": [{"type": ["null", "string"]}, {"type": "string", "minLength": 2},
                    {"type": "object"}]},
         ["null", '"a"', '"ab"', "{}", '{"a":1}', "1"]),
        ({"oneOf": [{"type": "boolean"}, {"const": True}, {"type": "null"}, {"enum": [None, 1]}]},
         ["true", "false", "null", "1", "2"]),
        # an enum inside an anyOf branch (refused before issue 11)
        ({"oneOf": [{"anyOf": [{"const": 1}, {"const": 2}]}, {"type": "integer"}]},
         ["1", "2", "3", "0", "2.0", "1.5"]),
        # nested oneOf: exactly one of (exactly one of a|b) and c
        ({"type": "string", "oneOf": [{"oneOf": [{"pattern": "a"}, {"pattern": "b"}]},
                                      {"pattern": "c"}]},
         ['"a"', '"ab"', '"abc"', '"ac"', '"c"', '""', '"bc"']),
        # objects that do not overlap beside overlapping strings
        ({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 1},
                    {"type": "object", "required": ["k"]}, {"type": "array"}]},
         ['"x"', '"xy"', '""', '{"k":1}', "{}", "[]", "null"]),
    ],
)  # fmt: skip
def test_overlapping_scalar_branches_are_exactly_one(schema, texts):
    _agrees(schema, texts)


@pytest.mark.parametrize(
    "schema,reason",
    [
        ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, "non-integers"),
        ({"oneOf": [{"type": "integer", "multipleOf": 2}, {"type": "integer"}]}, "multipleOf"),
        ({"oneOf": [{"type": "object"}, {"type": "object", "required": ["a"],
                                         "properties": {"a": {"type": "string"}}}]},
         "as objects"),
        ({"oneOf": [{"type": "array"}, {"type": "array", "minItems": 1}]}, "as arrays"),
    ],
)  # fmt: skip
def test_what_cannot_be_exact_is_refused_naming_pointer_and_why(schema, reason):
    with pytest.raises(UnsupportedSchemaError, match="oneOf at #/oneOf") as caught:
        schema_to_grammar(schema)
    assert reason in str(caught.value)


def test_a_oneof_next_to_an_any_of_is_exact_on_scalars():
    schema = {
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
        "oneOf": [
            {"type": "number", "maximum": 10},
            {"type": "number", "minimum": 5},
            {"type": "string", "pattern": "^a"},
            {"type": "string", "maxLength": 2},
        ],
    }
    _agrees(schema, ["0", "4", "5", "7", "10", "11", "-1", '"a"', '"abc"', '"bc"', '"bcd"', "1.5"])


# -- hypothesis: random scalar branches ------------------------------------------------------------
_POINTS = [-2, 0, 1, 2.5, 3]
_PATTERNS = ["^a", "b$", "ab", "^[ab]*$", "c"]


@st.composite
def _branch(draw) -> dict:
    kind = draw(st.sampled_from(["integer", "number", "string", "null", "boolean", "enum", "any"]))
    if kind == "enum":
        return {"enum": draw(st.lists(st.sampled_from([0, 1, 2.5, "a", "ab", None, True]),
                                      min_size=1, max_size=3, unique_by=repr))}  # fmt: skip
    schema: dict = {} if kind == "any" else {"type": kind}
    if kind in ("integer", "number", "any"):
        for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if draw(st.integers(0, 3)) == 0:
                schema[keyword] = draw(st.sampled_from(_POINTS))
    if kind in ("string", "any"):
        if draw(st.booleans()):
            schema["pattern"] = draw(st.sampled_from(_PATTERNS))
        if draw(st.integers(0, 2)) == 0:
            schema["maxLength"] = draw(st.integers(0, 3))
        if draw(st.integers(0, 2)) == 0:
            schema["minLength"] = draw(st.integers(0, 3))
    return schema


_TEXTS = (
    ["null", "true", "false", "{}", "[]", '""']
    + [json.dumps(v) for v in ["a", "b", "ab", "ba", "abc", "c", "bb", "aab", "cab"]]
    + ["-3", "-2", "-1.5", "0", "0.5", "1", "1.0", "2", "2.5", "2.75", "3", "3.5", "4", "2.5e0"]
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_branch(), min_size=2, max_size=3), st.sampled_from([None, "number", "string"]))
def test_random_scalar_one_of_is_exact_or_refused(branches, sibling_type):
    schema: dict = {"oneOf": branches}
    if sibling_type is not None:
        schema["type"] = sibling_type
    validator = Draft202012Validator(schema)
    try:
        compiled = _compile(schema)
    except UnsupportedSchemaError as error:
        assert "oneOf" in str(error)
        assert "non-integers" in str(error)  # the one scalar case that stays inexact
        return
    except UnsatisfiableSchemaError:
        assert not any(validator.is_valid(json.loads(text)) for text in _TEXTS)
        return
    for text in _TEXTS:
        expected = validator.is_valid(json.loads(text))
        assert _accepts(compiled, text) == expected, (text, expected)


def test_untyped_branches_that_take_every_object_leave_no_object():
    schema = {"oneOf": [{"maximum": 2}, {"pattern": "^a"}, {"type": "string"}]}
    _agrees(schema, ["1", "3", '"a"', '"b"', "{}", "[]", "null", "true"])


def test_number_piece_membership_against_decimal_comparisons():
    piece = NumberPiece(Bound(Decimal(1), True), Bound(Decimal("2.5")), integer=True)
    assert [piece.holds(Decimal(v)) for v in ("1", "2", "2.0", "2.5", "3")] == [
        False, True, True, False, False,
    ]  # fmt: skip


# -- objects: exactly-one on key sets --------------------------------------------------------------
@pytest.mark.parametrize(
    "schema,texts",
    [
        # Github_easy/o74185: closed branches with their own keys; {} holds both.
        ({"type": "object", "oneOf": [
            {"type": "object", "properties": {"set": {"type": "object"},
                                              "delete": {"type": "array"}},
             "additionalProperties": False},
            {"type": "object", "properties": {"replace": {"type": "object"}},
             "additionalProperties": False}]},
         ["{}", '{"set":{}}', '{"replace":{}}', '{"set":{},"replace":{}}', '{"set":{},"delete":[]}',
          '{"delete":1}', '{"other":1}']),
        # open branches differing only in required, sharing their properties
        ({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
          "oneOf": [{"required": ["a"], "properties": {"a": {"type": "integer"}}},
                    {"required": ["b"], "type": "object"}]},
         ["{}", '{"a":1}', '{"b":2}', '{"a":1,"b":2}', '{"a":"x"}', '{"c":1,"a":1}']),
        # closed branches sharing a key with the same value schema
        ({"oneOf": [
            {"type": "object", "properties": {"id": {"type": "string"}, "x": {"type": "number"}},
             "required": ["id"], "additionalProperties": False},
            {"type": "object", "properties": {"id": {"type": "string"}, "y": {"type": "number"}},
             "required": ["id"], "additionalProperties": False},
            {"type": "string"}]},
         ['{"id":"a"}', '{"id":"a","x":1}', '{"id":"a","y":1}', '{"id":"a","x":1,"y":2}',
          '{"x":1}', '"s"', "1"]),
    ],
)  # fmt: skip
def test_object_branches_that_differ_in_key_sets_are_exactly_one(schema, texts):
    _agrees(schema, texts)


def test_object_branches_whose_values_decide_are_refused_naming_the_property():
    schema = {
        "oneOf": [
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
            {"type": "object", "required": ["b"], "properties": {"b": {"type": "string"}}},
        ]
    }
    with pytest.raises(UnsupportedSchemaError, match="oneOf at #/oneOf") as caught:
        schema_to_grammar(schema)
    assert "property 'a' has different value schemas" in str(caught.value)


@st.composite
def _key_set_branch(draw) -> dict:
    keys = draw(st.lists(st.sampled_from("abc"), max_size=3, unique=True))
    schema: dict = {"type": "object", "properties": {k: {"type": "integer"} for k in keys}}
    schema["required"] = draw(st.lists(st.sampled_from("abc"), max_size=2, unique=True))
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_key_set_branch(), min_size=2, max_size=3))
def test_random_key_set_one_of_is_exact_or_refused(branches):
    schema = {"oneOf": branches}
    validator = Draft202012Validator(schema)
    try:
        compiled = _compile(schema)
    except UnsupportedSchemaError as error:
        assert "oneOf" in str(error)
        return
    except UnsatisfiableSchemaError:
        return
    keys = ["a", "b", "c"]
    texts = ["null", '"a"', "1", "[]"]
    for mask in range(8):
        chosen = [k for i, k in enumerate(keys) if mask >> i & 1]
        texts.append(json.dumps({k: 1 for k in chosen}))
        texts.append(json.dumps({k: "x" for k in chosen}))
    texts.append('{"d":1}')
    for text in texts:
        expected = validator.is_valid(json.loads(text))
        assert _accepts(compiled, text) == expected, (text, expected)
