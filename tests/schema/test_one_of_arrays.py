"""``oneOf`` whose branches share only the empty array: exactly-one without ``[]`` (unless one
branch alone holds it).

Oracle: ``jsonschema`` (Draft 2020-12). Every array of up to three items over a pool of values
is fed to the compiled matcher, which must accept it exactly when the validator does.
"""

from __future__ import annotations

import itertools
import json
import random
import warnings

import pytest
from jsonschema import Draft202012Validator

from structgen.runtime.compiler import compile_json_schema
from structgen.schema import UnsupportedSchemaError
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()
POOL = ["a", 1, 2.5, None, [], {}]


def _compile(schema):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_json_schema(schema, VOCAB, cache=False)


def _accepts(compiled, text: str) -> bool:
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(len(text)))
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


@pytest.mark.parametrize(
    "schema",
    [
        # Github_ultra/o19343.json (vega-lite), #/definitions/Scale/properties/range and domain
        {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "number"}},
                {"type": "array", "items": {"type": "string"}},
            ]
        },
        {
            "oneOf": [
                {"type": "array", "items": {"type": "number"}},
                {"type": "array", "items": {"type": "string"}},
            ]
        },
        # [] held by one branch only: it stays
        {
            "oneOf": [
                {"type": "array", "items": {"type": "number"}},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ]
        },
        # three branches, a prefix, and siblings beside the oneOf
        {
            "type": "array",
            "maxItems": 2,
            "oneOf": [
                {"items": {"type": "integer"}},
                {"prefixItems": [{"type": "string"}]},
                {"items": {"type": "null"}, "minItems": 0},
            ],
        },
    ],
)
def test_arrays_meeting_only_when_empty(schema) -> None:  # fmt: skip
    compiled = _compile(schema)
    validator = Draft202012Validator(schema)
    values = ["a", 1, {}]
    for length in range(4):
        values += [list(c) for c in itertools.product(POOL, repeat=length)]
    for value in values:
        expected = validator.is_valid(value)
        for text in {json.dumps(value), json.dumps(value, indent=1)}:
            assert _accepts(compiled, text) == expected, (schema, text, expected)


def test_arrays_sharing_a_non_empty_array_are_refused() -> None:
    schema = {"oneOf": [{"type": "array", "items": {"type": "number"}},
                        {"type": "array", "items": {"type": "integer"}}]}  # fmt: skip
    with pytest.raises(UnsupportedSchemaError, match=r"branches 0 and 1 may both match as arrays"):
        _compile(schema)
