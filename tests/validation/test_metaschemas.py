"""The metaschemas read without jsonschema-specifications' import are its very documents, and
the schema check's referencing-free shortcut (no reference keyword, every pattern compiles)
never hides an issue. Oracles: jsonschema-specifications' registry, and jsonschema's
metaschema validator with the referencing-based structure checks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from structgen.validation.drafts import DRAFT_CLASSES
from structgen.validation.metaschema_check import schema_issues
from structgen.validation.metaschemas import metaschemas
from structgen.validation.quick_check import METASCHEMA_URIS
from structgen.validation.schema_check import check_schema

DRAFTS = sorted(METASCHEMA_URIS)
KEYWORDS = [
    "type", "properties", "patternProperties", "pattern", "items", "enum", "const", "default",
    "$ref", "$dynamicRef", "$recursiveRef", "$defs", "definitions", "anyOf", "not", "examples",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from(["string", "object", "a+", "(ab", "[z-a]", "#/$defs/a", "#", "#/nowhere"]),
)
# Schema-like values whose patterns (good and bad) and references sit at every depth: inside
# subschemas, or inside ``default``/``enum``/``examples`` values where they are plain data.
SCHEMA_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from([*KEYWORDS, "a", "(b"]), inner, max_size=4),
    ),
    max_leaves=14,
)


def test_the_metaschemas_are_jsonschemas_own() -> None:
    from jsonschema_specifications import REGISTRY

    assert set(metaschemas()) == set(REGISTRY)
    for uri in REGISTRY:
        assert metaschemas()[uri] == REGISTRY.contents(uri)
    assert {METASCHEMA_URIS[draft] for draft in DRAFTS} <= set(metaschemas())


@given(schema=SCHEMA_LIKE, draft=st.sampled_from(DRAFTS))
def test_the_shortcut_gives_the_issues_of_the_full_check(schema: Any, draft: str) -> None:
    if isinstance(schema, (dict, bool)):
        full = schema_issues(schema, DRAFT_CLASSES[draft], "<schema>")[0]
        assert check_schema(schema, draft=draft) == full


@pytest.mark.parametrize(
    "schema",
    [
        {"properties": {"a": {"pattern": "(ab"}}},  # a bad pattern in a subschema
        {"patternProperties": {"[z-a]": {}}},  # a bad patternProperties key
        {"properties": {"a": {"$ref": "#/$defs/missing"}}},  # a reference to nothing
        {"$defs": {"l": {"$ref": "#/$defs/l"}}, "$ref": "#/$defs/l"},  # a loop
    ],
)
def test_what_the_structure_check_reports_is_still_reported(schema: dict) -> None:
    issues = check_schema(schema)
    assert issues and issues == schema_issues(schema, DRAFT_CLASSES["2020-12"], "<schema>")[0]


def test_patterns_in_plain_data_are_not_issues() -> None:
    schema = {"type": "object", "default": {"pattern": "(ab"}, "enum": [{"$ref": 3}]}
    assert check_schema(schema) == []
