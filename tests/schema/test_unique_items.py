"""``uniqueItems`` over a finite item domain: the values used so far are the array's state.

Oracle: ``jsonschema`` (Draft 2020-12). Every array of up to four items over a pool of values
(some inside the item domain, some outside, ``1`` beside ``1.0`` and ``true``) is fed to the
compiled matcher, which must accept it exactly when the validator does. An infinite item domain
stays a refusal that names ``uniqueItems``.
"""

from __future__ import annotations

import itertools
import json
import random
import warnings

import pytest
from jsonschema import Draft202012Validator

from structgen.errors import LimitExceededError
from structgen.runtime.compiler import compile_json_schema
from structgen.schema import UnsupportedSchemaError
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()
POOL = ["a", "b", 1, 1.0, 2, True, False, None, {"x": 1}, [1]]


def _compile(schema, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_json_schema(schema, VOCAB, cache=False, **options)


def _accepts(compiled, text: str) -> bool:
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(len(text)))
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


def _texts(value) -> list[str]:
    text = json.dumps(value)
    return [text, json.dumps(value, indent=1)] if value else [text]


@pytest.mark.parametrize(
    "schema",
    [
        # JsonSchemaStore/bxci.schema-2.x.json, #/properties/services: a 7-value enum.
        {
            "type": "array",
            "uniqueItems": True,
            "items": {
                "enum": [
                    "Postgres",
                    "Postgis",
                    "Redis",
                    "Mssql",
                    "Mysql",
                    "Mongodb",
                    "Elasticsearch",
                ]
            },
        },
        {
            "type": "array",
            "uniqueItems": True,
            "items": {"enum": ["a", "b", 1, 1.0, True, None, {"x": 1}, [1]]},
        },
        {"type": "array", "uniqueItems": True, "minItems": 1, "items": {"type": "boolean"}},
        {
            "type": "array",
            "uniqueItems": True,
            "items": {"type": ["boolean", "null"]},
            "maxItems": 2,
        },
        {
            "type": "array",
            "uniqueItems": True,
            "prefixItems": [{"const": 1}],
            "items": {"enum": [1, 2, "a"]},
            "contains": {"const": "a"},
        },
        {
            "type": "array",
            "uniqueItems": True,
            "items": {"enum": [1, 2, "a", "b"]},
            "contains": {"type": "string"},
            "minContains": 2,
        },
        {
            "type": "array",
            "uniqueItems": True,
            "items": {"enum": ["a", "b", 2], "not": {"const": "b"}},
        },
        {"type": "array", "uniqueItems": True, "prefixItems": [{"type": "string"}], "maxItems": 1},
    ],
)
def test_unique_items_agrees_with_jsonschema(schema) -> None:
    compiled = _compile(schema)
    validator = Draft202012Validator(schema)
    for length in range(5):
        for combo in itertools.product(POOL, repeat=length):
            value = list(combo)
            expected = validator.is_valid(value)
            for text in _texts(value):
                assert _accepts(compiled, text) == expected, (schema, text, expected)


@pytest.mark.parametrize(
    "schema",
    [
        # JsonSchemaStore/bxci.schema-2.x.json, #/properties/jenkinsEnvironment
        {
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        },
        {"type": "array", "uniqueItems": True},
        {
            "type": "array",
            "uniqueItems": True,
            "prefixItems": [{"const": 1}],
            "items": {"type": "integer"},
        },
    ],
)
def test_infinite_domain_is_refused(schema) -> None:
    with pytest.raises(UnsupportedSchemaError, match="uniqueItems"):
        _compile(schema)


def test_lenient_ignores_unique_items_on_an_infinite_domain() -> None:
    schema = {"type": "array", "uniqueItems": True, "items": {"type": "string"}}
    compiled = _compile(schema, lenient=True)
    assert _accepts(compiled, '["a", "a"]')
    assert _accepts(compiled, '["a", "b"]')
    assert not _accepts(compiled, "[1]")


def test_state_limit_is_named() -> None:
    schema = {"type": "array", "uniqueItems": True, "items": {"enum": list(range(12))}}
    with pytest.raises(LimitExceededError, match="max_unique_states"):
        _compile(schema, max_unique_states=100)
    compiled = _compile(schema)  # 2^12 subsets fit the default
    assert _accepts(compiled, json.dumps(list(range(12))))
    assert not _accepts(compiled, "[0, 1, 0]")
