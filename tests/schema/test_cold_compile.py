"""Issue 11, the cold compile: shared ``$ref`` targets, literal ``patternProperties``, object
member sets — each checked against ``jsonschema`` (the oracle) on texts that should and should
not be accepted, and against the shape of the grammar where the speed-up is structural.
"""

from __future__ import annotations

import json
import random
import warnings

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from structgen.runtime.compiler import compile_json_schema
from structgen.schema import SchemaError, schema_to_grammar
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()


def _compile(schema):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_json_schema(schema, VOCAB, cache=False)


def _accepts(compiled, text: str) -> bool:
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(len(text)))
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


def _agrees(schema, validator_class, instances) -> None:
    compiled = _compile(schema)
    validator = validator_class(schema)
    for instance in instances:
        text = json.dumps(instance)
        assert _accepts(compiled, text) == validator.is_valid(instance), text


_FIELD = {"type": "array", "items": {"type": "string"}, "maxItems": 2}


@pytest.mark.parametrize("dialect", ["http://json-schema.org/draft-07/schema#", None])
def test_properties_referring_to_one_definition_share_its_rules(dialect):
    """Forty properties ``{"$ref": "#/definitions/record"}`` (a lone ``$ref``, or beside a
    description in 2020-12) compile the record object once, not forty times."""
    record = {"type": "object", "properties": {f"f{i}": _FIELD for i in range(6)}}
    one = {"definitions": {"record": record}, "type": "object",
           "properties": {"a": {"$ref": "#/definitions/record"}}}  # fmt: skip
    many = {"definitions": {"record": record}, "type": "object",
            "properties": {f"p{i}": {"$ref": "#/definitions/record", "description": "x"}
                           for i in range(40)}}  # fmt: skip
    if dialect is not None:
        one["$schema"] = many["$schema"] = dialect
    small = len(schema_to_grammar(one).rules)
    large = len(schema_to_grammar(many).rules)
    assert large < small + 40 * 30  # one record's member machine alone has hundreds of rules
    validator = Draft7Validator if dialect else Draft202012Validator
    _agrees(many, validator, [
        {"p0": {"f0": ["x"]}, "p39": {}},
        {"p3": {"f5": ["a", "b"]}},
        {"p3": {"f5": ["a", "b", "c"]}},
        {"p3": {"f1": [1]}},
        {"p3": []},
    ])  # fmt: skip


def test_a_cycle_of_lone_refs_is_still_refused_or_read_as_no_constraint():
    """A ``$ref`` loop is an invalid schema; unchecked, following the lone refs stops at the
    loop and the loop constrains nothing, as ``flatten`` always read it."""
    schema = {"$schema": "http://json-schema.org/draft-07/schema#",
              "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}},
              "type": "object", "properties": {"x": {"$ref": "#/definitions/a"}}}  # fmt: skip
    with pytest.raises(SchemaError, match="loop"):
        _compile(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = compile_json_schema(schema, VOCAB, cache=False, validate_schema=False)
    for text in ['{"x":1}', '{"x":"s"}', '{"x":{"y":[null]}}', "{}"]:
        assert _accepts(compiled, text), text
    assert not _accepts(compiled, "[]")


_PROTOBUF_STYLE = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"fieldName": {"type": "string"}, "otherField": {"type": "integer"}},
    "patternProperties": {
        "^field_name$": {"type": "string"},
        "^other_field$": {"type": "integer"},
        "^only_pattern$": {"type": "boolean"},
    },
    "additionalProperties": {"type": "null"},
}


def test_literal_pattern_properties_keep_the_language():
    _agrees(_PROTOBUF_STYLE, Draft7Validator, [
        {"fieldName": "a", "field_name": "b", "other_field": 3},
        {"field_name": 3},
        {"other_field": "x"},
        {"only_pattern": True},
        {"only_pattern": None},
        {"unlisted": None},
        {"unlisted": 1},
        {"": None},
        {"{\"": None},
        {"field_name_": None},
        {"field_nam": None},
        {"fieldName": 1},
    ])  # fmt: skip


def test_literal_pattern_also_listed_as_a_property_is_no_region():
    schema = {"type": "object", "properties": {"a_b": {"type": "integer"}},
              "patternProperties": {"^a_b$": {"minimum": 3}, "^c$": {"type": "string"}},
              "additionalProperties": False}  # fmt: skip
    _agrees(schema, Draft202012Validator,
            [{"a_b": 3}, {"a_b": 2}, {"a_b": "x"}, {"c": "s"}, {"c": 1}, {"d": 1}, {}])


def test_the_same_literal_pattern_in_two_owners():
    schema = {"allOf": [
        {"type": "object", "patternProperties": {"^k$": {"type": "integer"}}},
        {"type": "object", "patternProperties": {"^k$": {"minimum": 2}},
         "additionalProperties": False},
    ]}  # fmt: skip
    _agrees(schema, Draft202012Validator, [{"k": 2}, {"k": 1}, {"k": "s"}, {"j": 1}, {}])


def test_exclusive_patterns_leave_no_empty_region():
    """Regions of patterns that exclude each other (``^a`` and ``^b``) are skipped before any
    automaton product; the keys of each pattern keep their schema."""
    schema = {"type": "object",
              "patternProperties": {"^a": {"type": "integer"}, "^b": {"type": "string"},
                                    "x$": {"type": "boolean"}},
              "additionalProperties": False}  # fmt: skip
    _agrees(schema, Draft202012Validator, [
        {"a1": 1}, {"a1": "s"}, {"b1": "s"}, {"b1": 1}, {"ax": 1}, {"ax": True}, {"bx": "s"},
        {"zx": True}, {"zx": 1}, {"z": 1},
    ])  # fmt: skip


@pytest.mark.parametrize("required", [[], ["a", "c"]])
def test_member_sets_without_a_count(required):
    """Set-mode objects: no key repeats, required keys in any order, maxProperties derived."""
    schema = {"type": "object", "properties": {k: {"type": "integer"} for k in "abcd"},
              "required": required, "maxProperties": 3, "additionalProperties": False}  # fmt: skip
    compiled = _compile(schema)
    validator = Draft202012Validator(schema)
    for text in ['{"a":1,"c":2}', '{"c":2,"a":1}', '{"a":1,"a":2,"c":3}', '{"d":1}',
                 '{"a":1,"b":2,"c":3}', '{"a":1,"b":2,"c":3,"d":4}', "{}"]:  # fmt: skip
        expected = validator.is_valid(json.loads(text)) and text.count('"a"') <= 1
        assert _accepts(compiled, text) == expected, text
