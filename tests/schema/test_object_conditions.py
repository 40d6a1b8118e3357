"""``not`` and schema-valued dependencies on objects, and one-keyword ``not`` on scalars: the
compiled matcher accepts a serialised instance exactly when ``jsonschema`` says it is valid."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft7Validator, validators

from tests.test_schema_grammar import accepts, compiled

DATA = Path(__file__).resolve().parent.parent / "data" / "schema-conditions"
DRAFT7 = "http://json-schema.org/draft-07/schema#"


def _oracle(schema, draft7: bool):
    return Draft7Validator(schema) if draft7 else validators.validator_for(schema)(schema)


def _agree(schema, documents, *, draft7: bool = False) -> None:
    constraint = compiled(schema)
    oracle = _oracle(schema, draft7)
    for document in documents:
        assert accepts(constraint, document) == oracle.is_valid(document), (schema, document)


_KEYS = ["a", "b", "c", "d", "c1", "c2", "0", "1", "ab", "abc", "cd", "xab", "abcd"]
_VALUES = [None, True, 1, 2.5, "A", "x", "AC", "section", [1], [1, 2], {}]
_objects = st.dictionaries(st.sampled_from(_KEYS), st.sampled_from(_VALUES), max_size=4)
_instances = st.one_of(_objects, st.sampled_from(_VALUES))


@pytest.mark.parametrize("name", ["dep2", "notnames1", "object2", "pnmp8"])
@given(documents=st.lists(_instances, min_size=1, max_size=8))
def test_handwritten_schemas(name, documents):
    schema = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    # dep2 and pnmp8 use ``dependencies``: no $schema, read as draft 7 by both sides.
    _agree(schema, documents, draft7=name in ("dep2", "pnmp8"))


CONDITIONS = [
    # a dependency on a value class (WashingtonPost's referent)
    {"$schema": DRAFT7, "type": "object",
     "properties": {"website": {"type": "string"}, "type": {"type": "string"}},
     "dependencies": {"website": {"properties": {"type": {"enum": ["section"],
                                                          "type": "string"}}}}},
    # not of properties beside required (npm's package.json)
    {"not": {"properties": {"b": {}}, "required": ["b"]}},
    # dependencies with not required (filespec)
    {"$schema": DRAFT7, "dependencies": {"a": {"not": {"required": ["b"]}},
                                         "b": {"required": ["c"]}}},
    # some key matching a pattern exists
    {"type": "object", "not": {"patternProperties": {"^a": False}}},
    # some key matching a pattern with a value outside a class
    {"not": {"patternProperties": {"b": {"type": "string"}}}},
    # additionalProperties and propertyNames inside not
    {"not": {"properties": {"a": True}, "additionalProperties": False}},
    {"not": {"propertyNames": {"maxLength": 1}}},
    # dependentSchemas (2019-09+), if/then/else inside not, anyOf of conditions
    {"dependentSchemas": {"a": {"properties": {"b": {"const": 1}}}}},
    {"not": {"if": {"required": ["a"]}, "then": {"required": ["b"]},
             "else": {"required": ["c"]}}},
    {"not": {"anyOf": [{"required": ["a"], "properties": {"a": {"type": "string"}}},
                       {"properties": {"b": False}}]}},
    # type beside object keywords: non-objects stay
    {"not": {"type": "object", "required": ["a"]}},
]  # fmt: skip


@pytest.mark.parametrize("index", range(len(CONDITIONS)))
def test_conditions_agree_with_jsonschema(index):
    schema = CONDITIONS[index]
    documents: list = list(_VALUES)
    for size in range(3):
        for keys in itertools.combinations(["a", "b", "c", "ab", "xb", "zz"], size):
            for values in itertools.product([1, "x", None], repeat=size):
                documents.append(dict(zip(keys, values)))
    documents += [{"type": "section", "website": "w"}, {"type": "other", "website": "w"},
                  {"type": "other"}, {"a": 1, "b": 1}, {"a": "s"}, {"b": 2.5}]  # fmt: skip
    _agree(schema, documents, draft7="$schema" in schema)


SCALARS = [
    ({"type": "string", "not": {"minLength": 3}}, ["", "ab", "abc", "abcd", 1]),
    ({"not": {"maxLength": 2}}, ["", "ab", "abc", 1, None]),
    ({"not": {"minimum": 3}}, [2, 2.99, 3, 3.5, "a"]),
    ({"not": {"type": "number", "exclusiveMaximum": 3}}, [2, 3, 4, "a", None, [], {}]),
    ({"not": {"type": "string", "pattern": "A"}}, ["A", "bAb", "b", "", 1, None, {}, []]),
    ({"not": {"type": "string", "enum": ["a", 1]}}, ["a", "b", 1, 2]),
    ({"type": "integer", "not": {"type": "integer", "maximum": 5}}, [4, 5, 6, 7.5, "a"]),
    ({"not": {"type": "integer", "minimum": 0}}, [-1, 0, 1]),  # refused: two kinds of numbers
]


@pytest.mark.parametrize("index", range(len(SCALARS)))
def test_one_keyword_negations_on_scalars(index):
    schema, documents = SCALARS[index]
    if index == len(SCALARS) - 1:
        from structgen.schema import UnsupportedSchemaError

        with pytest.raises(UnsupportedSchemaError, match="two kinds of numbers"):
            compiled(schema)
        return
    _agree(schema, documents)


def test_too_many_tracked_keys_is_a_clear_limit():
    from structgen.errors import LimitExceededError

    names = [f"k{i}" for i in range(8)]
    schema = {"$schema": DRAFT7, "dependencies": {n: {"not": {"required": names}} for n in names}}
    with pytest.raises(LimitExceededError, match="member states of the object at #"):
        compiled(schema, max_object_states=64)
