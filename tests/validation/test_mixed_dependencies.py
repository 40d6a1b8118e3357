"""A draft-7 ``dependencies`` that mixes a schema and a list of names (JsonSchemaStore's
tmlanguage.json does) compiles and validates: referencing reads every value as a subschema once
the first one is, and failed on the list (``'list' object has no attribute 'get'``) wherever it
crawled the schema — the schema check, ``$ref`` resolution, the document validator.

Oracle: the instances' validity worked out by hand from the keyword's meaning (jsonschema's own
validator crawls with referencing too, and fails the same way on the anchor reference)."""

from __future__ import annotations

import json
import random

import pytest

from structgen.runtime.compiler import compile_json_schema
from structgen.validation import DocumentValidator
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()

SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "definitions": {"count": {"$id": "#count", "type": "integer"}},
    "properties": {"a": {"$ref": "#count"}, "b": {}},
    # a → the object also needs "c"; b → the object also needs "a"
    "dependencies": {"a": {"required": ["c"]}, "b": ["a"]},
}
CASES = [
    ({}, True),
    ({"a": 1, "c": 0}, True),
    ({"a": 1}, False),  # a without c
    ({"b": 1}, False),  # b without a
    ({"b": 1, "a": 2, "c": 0}, True),
    ({"a": "x", "c": 1}, False),  # a is not an integer (through the anchor)
    ({"c": True}, True),
]


@pytest.mark.parametrize(("document", "valid"), CASES)
def test_compiled_schema_and_validator_follow_mixed_dependencies(document, valid):
    compiled = compile_json_schema(SCHEMA, VOCAB, cache=False)
    assert DocumentValidator(SCHEMA).is_valid(document) is valid
    text = json.dumps(document).encode()
    matcher = compiled.matcher()
    fed = all(matcher.advance(t) for t in random_tokenization(VOCAB, text, random.Random(0)))
    assert (fed and matcher.is_accepting()) is valid
