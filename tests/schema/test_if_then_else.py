"""``if``/``then``/``else`` made of object keywords, and the value classes they split: the
compiled matcher accepts a serialised instance exactly when ``jsonschema`` says it is valid."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import validators

from structgen.errors import LimitExceededError
from structgen.schema import SchemaWarning, UnsupportedSchemaError
from tests.test_schema_grammar import accepts, compiled

DATA = Path(__file__).resolve().parent.parent / "data" / "schema-conditions"

# JME_37 (JSONSchemaBench, NousResearch json-mode-eval): the then/else branches bound one
# property's length, so the member machine splits its values by minLength and maxLength at once.
MEMBERSHIP = json.loads((DATA / "jme37.json").read_text(encoding="utf-8"))


def _discriminated(kinds: int) -> dict:
    """The discriminator idiom of SchemaStore's schemas: one ``if`` per value of ``type``."""
    cases = [
        {
            "if": {"properties": {"type": {"const": f"k{i}"}}},
            "then": {"required": [f"p{i % 3}"], "properties": {f"p{i % 3}": {"type": "string"}}},
        }
        for i in range(kinds)
    ]
    return {"type": "object", "required": ["type"], "allOf": cases}


SCHEMAS = [
    MEMBERSHIP,
    _discriminated(4),
    # if on required, with both branches
    {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"required": ["c"]}},
    # no type: the branch taken off objects depends on the types 'if' holds on
    {"if": {"type": "object"}, "then": {"required": ["a"]}, "else": {"type": "string"}},
    {"if": {"type": ["string", "null"]}, "then": {"type": "string"}},
    # then only, with a value class of two scalar keywords and one of a pattern
    {
        "type": "object",
        "if": {"properties": {"a": {"const": 1}}, "required": ["a"]},
        "then": {"properties": {"b": {"type": "string", "minLength": 1, "maxLength": 2}}},
        "else": {"properties": {"b": {"pattern": "^x"}}},
    },
    # additionalProperties inside if, and nested conditions in the branches
    {
        "if": {"properties": {"a": True}, "additionalProperties": False},
        "then": {"if": {"required": ["a"]}, "then": {"properties": {"a": {"type": "string"}}}},
        "else": {"not": {"required": ["b"]}},
    },
]

_KEYS = ["a", "b", "c", "type", "isMember", "membershipNumber", "p0", "p1", "p2"]
_VALUES = [None, True, False, 1, 2.5, "", "x", "xy", "abc", "k0", "k1", "k3", "k9",
           "0123456789", "0123456789abcde", [1], {}]  # fmt: skip
_objects = st.dictionaries(st.sampled_from(_KEYS), st.sampled_from(_VALUES), max_size=4)
_instances = st.one_of(_objects, st.sampled_from(_VALUES))


def _agree(schema, documents) -> None:
    constraint = compiled(schema)
    oracle = validators.validator_for(schema)(schema)
    for document in documents:
        assert accepts(constraint, document) == oracle.is_valid(document), (schema, document)


def _documents() -> list:
    documents: list = list(_VALUES)
    keys = ["a", "b", "c", "type", "isMember", "membershipNumber", "p0"]
    values = [1, "x", "k0", True, False, "0123456789", "0123456789abcde"]
    for size in range(3):
        for chosen in itertools.combinations(keys, size):
            for picked in itertools.product(values, repeat=size):
                documents.append(dict(zip(chosen, picked)))
    return documents


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
def test_if_then_else_agrees_with_jsonschema(index):
    _agree(SCHEMAS[index], _documents())


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
@given(documents=st.lists(_instances, min_size=1, max_size=6))
def test_if_then_else_on_drawn_instances(index, documents):
    _agree(SCHEMAS[index], documents)


def test_many_discriminator_values_stay_in_the_class_limit():
    """40 ``if`` branches on one property's const make 41 value classes of ``type`` (found
    without trying the 2^40 sign vectors), well inside the limit."""
    schema = _discriminated(40)
    constraint = compiled(schema)
    oracle = validators.validator_for(schema)(schema)
    documents = [
        {"type": "k7", "p1": 3}, {"type": "k7"}, {"type": "k7", "p1": "s"}, {"type": "zz"},
        {"type": "k39", "p0": "s"}, {"type": "k39", "p1": 1}, {},
    ]  # fmt: skip
    for document in documents:
        assert accepts(constraint, document) == oracle.is_valid(document), document


def test_overlapping_value_schemas_past_the_class_limit_are_a_clear_error():
    """Seven overlapping bounds on one property make 2^7 = 128 value classes: a limit named
    with the object, not a slow compile."""
    cases = [
        {"if": {"required": [f"q{i}"]}, "then": {"properties": {"v": {"minLength": i}}}}
        for i in range(1, 8)
    ]
    ranges = [{"properties": {"v": {"maxLength": 20 + i}}} for i in range(7)]
    schema = {"type": "object", "allOf": cases + [{"not": r} for r in ranges]}
    with pytest.raises(LimitExceededError, match="value classes of one property"):
        compiled(schema)


def test_if_on_scalar_keywords_is_refused_with_its_place():
    schema = {"if": {"minimum": 3}, "then": {"multipleOf": 2}}
    with pytest.raises(UnsupportedSchemaError, match=r"if at #/if: .*object keywords"):
        compiled(schema)


def test_a_derived_complement_is_no_warning():
    """The complement of a two-keyword value schema is an anyOf written by the compiler: its
    branches that cannot hold are nobody's mistake, so nothing is said of them."""
    from structgen.runtime.compiler import compile_json_schema
    from tests.test_schema_grammar import VOCAB

    with warnings.catch_warnings():
        warnings.simplefilter("error", SchemaWarning)
        compile_json_schema(MEMBERSHIP, VOCAB)
