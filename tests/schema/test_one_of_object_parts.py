"""``oneOf`` over objects where only some branches overlap: exactly-one per connected part.

Oracle: ``jsonschema`` (Draft 2020-12). Every object over a few keys, each absent or holding one
of a few values, is fed to the compiled matcher, which must accept it exactly when the validator
does. Branches that a required key's value separates are disjoint (a discriminator that only one
branch requires); the rest meet in parts whose exactly-one is a key-set condition.
"""

from __future__ import annotations

import itertools
import json
import random
import warnings

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from structgen.runtime.compiler import compile_json_schema
from structgen.schema import UnsupportedSchemaError
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()
VALUES = ["s", 7, None]

_CARD = {
    "id": {"type": "string"},
    "number": {"type": "string"},
    "expire_year": {"type": "string"},
}

# The shape of Github_ultra/o65975.json, #/paypal/definitions/payer/.../funding_instruments/items:
# a card, a stored card (the card with "id" required) and a token (whose "expire_year" is a
# number where the cards require a string).
PAYPAL = {
    "oneOf": [
        {"type": "object", "properties": _CARD, "required": ["number", "expire_year"]},
        {"type": "object", "properties": _CARD, "required": ["id", "number", "expire_year"]},
        {
            "type": "object",
            "properties": {"credit_card_id": {"type": "string"}, "expire_year": {"type": "number"}},
            "required": ["credit_card_id"],
        },
    ]
}


def _compile(schema):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_json_schema(schema, VOCAB, cache=False)


def _accepts(compiled, text: str) -> bool:
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(len(text)))
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


def _objects(keys: list[str]):
    for choice in itertools.product([...] + VALUES, repeat=len(keys)):
        yield {k: v for k, v in zip(keys, choice) if v is not ...}


def _agrees(schema, keys: list[str]) -> None:
    compiled = _compile(schema)
    validator = Draft202012Validator(schema)
    values = [*_objects(keys), "s", 1, None, [], [{}]]
    for value in values:
        expected = validator.is_valid(value)
        for text in {json.dumps(value), json.dumps(value, indent=1)}:
            assert _accepts(compiled, text) == expected, (schema, text, expected)


def test_paypal_funding_instruments() -> None:
    _agrees(PAYPAL, ["id", "number", "expire_year", "credit_card_id"])


def test_inside_items_and_beside_siblings() -> None:
    schema = {"type": "array", "maxItems": 2, "items": PAYPAL}
    compiled = _compile(schema)
    validator = Draft202012Validator(schema)
    card = {"number": "1", "expire_year": "2"}
    for items in itertools.product(
        [
            card,
            {**card, "id": "x"},
            {"credit_card_id": "c"},
            {"credit_card_id": "c", "expire_year": "2"},
        ],
        repeat=2,
    ):
        value = list(items)
        assert _accepts(compiled, json.dumps(value)) == validator.is_valid(value), value


@pytest.mark.parametrize(
    "schema",
    [
        # a discriminator only one branch requires: the other allows it only as a number
        {
            "oneOf": [
                {"type": "object", "properties": {"k": {"type": "string"}}, "required": ["k"]},
                {"type": "object", "properties": {"k": {"type": "number"}}, "required": ["m"]},
            ]
        },
        # three parts: {0, 1} meet on key sets, 2 alone, 3 never an object
        {
            "type": ["object", "string"],
            "oneOf": [
                {"properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"a": {"type": "string"}}, "required": ["b"]},
                {"properties": {"a": {"type": "integer"}}, "required": ["a", "c"]},
                {"type": "string"},
            ],
        },
        # closed branches in one part, an open one apart
        {
            "oneOf": [
                {"type": "object", "properties": {"a": {}, "b": {}}, "additionalProperties": False},
                {
                    "type": "object",
                    "properties": {"a": {}},
                    "additionalProperties": False,
                    "required": ["a"],
                },
                {"type": "object", "properties": {"c": {"const": 7}}, "required": ["c"]},
            ]
        },
    ],
)
def test_parts_agree_with_jsonschema(schema) -> None:
    _agrees(schema, ["a", "b", "c", "k", "m"])


def test_a_value_deciding_overlap_is_still_refused() -> None:
    schema = {
        "oneOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"type": "object", "properties": {"a": {"enum": ["x", 1]}}},
        ]
    }
    with pytest.raises(UnsupportedSchemaError, match=r"oneOf at #/oneOf: branches 0 and 1"):
        _compile(schema)


@pytest.mark.parametrize(
    "condition",
    [
        {"not": {"required": ["a"]}},
        {"not": {"patternProperties": {"^a": False}}},
        {"dependencies": {"a": {"required": ["b"]}}},
    ],
)
def test_a_branch_with_key_conditions_does_not_take_every_object(condition):
    """A branch whose object keywords are only conditions on keys (``not``, dependencies) does
    not accept every object: with another branch that does, objects are neither all dropped
    (the schema was once called unsatisfiable) nor let through unchecked. Exact or refused."""
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "oneOf": [{"type": "object"}, {"type": "object", **condition}],
    }
    try:
        compiled = compile_json_schema(schema, VOCAB, cache=False)
    except UnsupportedSchemaError as error:
        assert "oneOf at #/oneOf" in str(error)
        return
    validator = Draft7Validator(schema)
    rng = random.Random(0)
    for keys in itertools.chain.from_iterable(
        itertools.combinations(["a", "b", "ab"], n) for n in range(4)
    ):
        document = dict.fromkeys(keys, 1)
        text = json.dumps(document)
        matcher = compiled.matcher()
        fed = all(matcher.advance(t) for t in random_tokenization(VOCAB, text.encode(), rng))
        assert (fed and matcher.is_accepting()) == validator.is_valid(document), document
