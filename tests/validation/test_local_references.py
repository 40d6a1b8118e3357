"""The local-reference shortcut of the schema check (structgen.validation.local_references)
is never a second opinion: whenever it vouches for a schema, the full structure check (with
``referencing``) reports nothing, and the cases it must not vouch for it leaves to that check."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from referencing.jsonschema import DRAFT7, DRAFT202012

from structgen.validation.local_references import locally_sound
from structgen.validation.quick_check import metaschema_accepts
from structgen.validation.schema_check import check_schema
from structgen.validation.schema_structure import structure_issues
from tests.helpers.maskbench_sample import load_sample
from tests.helpers.schema_conformance import SUITE


def _full_issues(schema: Any, legacy: bool = False) -> list:
    default = DRAFT7 if legacy else DRAFT202012
    return structure_issues(schema, "<schema>", default=default, legacy=legacy)[0]


REFS = st.sampled_from(
    ["#", "#/$defs/a", "#/$defs/b", "#/definitions/a", "#/properties/x", "#/$defs/missing",
     "#/allOf/0", "#/items", "#/$defs/a~1b", "#a", "other.json", "#/$defs/%61"]
)  # fmt: skip
KEYS = st.sampled_from(
    ["$ref", "$defs", "definitions", "allOf", "anyOf", "not", "if", "then", "properties",
     "items", "x", "a", "b", "a/b", "pattern", "$id", "type", "dependentSchemas"]
)  # fmt: skip
LEAVES = st.one_of(REFS, st.sampled_from(["string", "(ab", "^a+$", 1, True, None]))
SCHEMAS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=14,
)


@given(schema=SCHEMAS, legacy=st.booleans())
def test_what_it_vouches_for_has_no_structure_issue(schema: Any, legacy: bool) -> None:
    # Step 2 runs once the metaschema accepts the schema, as in check_schema.
    if locally_sound(schema) and metaschema_accepts(schema, "7" if legacy else "2020-12"):
        assert _full_issues(schema, legacy) == []


def test_real_schemas_with_references_take_the_short_road() -> None:
    vouched = 0
    for case in load_sample():
        if locally_sound(case.schema):
            assert _full_issues(case.schema) == [], case.name
            vouched += '"$ref"' in json.dumps(case.schema)
    assert vouched >= 10  # schemas with definitions and plain pointers are common


def test_the_test_suite_schemas_it_vouches_for_have_no_structure_issue() -> None:
    paths = sorted(SUITE.glob("draft*/*.json"))
    assert paths, f"no suite files under {SUITE}"
    for path in paths:
        legacy = "draft7" in str(path)
        for group in json.loads(path.read_text(encoding="utf-8")):
            schema = group["schema"]
            if locally_sound(schema):
                assert _full_issues(schema, legacy) == [], (path.name, group["description"])


LEFT_TO_THE_FULL_CHECK = [
    {"$ref": "#"},  # loops on itself
    {"allOf": [{"$ref": "#"}]},
    {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}}},
    {"$ref": "#/$defs/missing"},
    {"items": [{"type": "string"}], "$ref": "#/items/1"},
    {"properties": {"a": {"pattern": "(ab"}}},
    {"patternProperties": {"(ab": {}}},
]


@pytest.mark.parametrize("schema", LEFT_TO_THE_FULL_CHECK)
def test_broken_schemas_are_left_to_the_full_check(schema: Any) -> None:
    assert not locally_sound(schema)
    assert check_schema(schema) != []


UNSURE = [
    {"$defs": {"a": {"$id": "http://example.com/a", "type": "string"}}, "$ref": "#/$defs/a"},
    {"$defs": {"a": {"$anchor": "x"}}, "$ref": "#x"},
    {"$ref": "other.json#/a"},
    {"$ref": "#/$defs/%61", "$defs": {"a": {}}},
    {"$dynamicRef": "#meta"},
]


@pytest.mark.parametrize("schema", UNSURE)
def test_references_it_cannot_vouch_for_are_left_to_the_full_check(schema: Any) -> None:
    assert not locally_sound(schema)


SOUND = [
    {"type": "object", "properties": {"id": {"type": "string"}}},
    {"$id": "http://example.com/root.json", "definitions": {"a": {"type": "integer"}},
     "properties": {"x": {"$ref": "#/definitions/a"}}},
    {"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
     "$ref": "#/$defs/node"},  # recursion through a property moves into the value: fine
    {"$defs": {"a/b": {"type": "string"}},
     "anyOf": [{"$ref": "#/$defs/a~1b"}, {"type": "null"}, {"$ref": "#/anyOf/1"}]},
]  # fmt: skip


@pytest.mark.parametrize("schema", SOUND)
def test_plain_pointer_schemas_are_vouched_for(schema: Any) -> None:
    assert locally_sound(schema)
    assert _full_issues(schema) == []
