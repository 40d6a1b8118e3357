"""The quick metaschema verdict is a shortcut, never a second opinion: whenever it accepts a
schema, jsonschema's metaschema validator (formats asserted) accepts it too, and
``check_schema`` gives the same issues by either road. The oracle is jsonschema itself."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from structgen.validation import drafts
from structgen.validation.drafts import DRAFT_CLASSES
from structgen.validation.format_checks import format_predicate
from structgen.validation.metaschema_check import schema_issues
from structgen.validation.quick_check import (
    _FRAGMENT_CHARACTERS,
    _KNOWN_URIS,
    METASCHEMA_URIS,
    _distinct,
    metaschema_accepts,
)
from structgen.validation.schema_check import _DEFAULT_DRAFT, check_schema
from structgen.validation.validator import metaschema_validator
from tests.helpers.maskbench_sample import load_sample
from tests.helpers.schema_strategies import schemas

DRAFTS = sorted(METASCHEMA_URIS)
KEYWORDS = [
    "type", "properties", "required", "items", "enum", "const", "minimum", "exclusiveMinimum",
    "maximum", "minLength", "maxItems", "uniqueItems", "additionalProperties", "pattern",
    "patternProperties", "format", "$ref", "$schema", "$id", "id", "$defs", "definitions",
    "anyOf", "allOf", "oneOf", "not", "dependencies", "dependentRequired", "prefixItems",
    "propertyNames", "title", "default", "$anchor", "$dynamicRef", "if", "then",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([1.0, 1.5, -0.5, float("inf")]),
    st.sampled_from(["string", "integer", "object", "strin", "a", "(ab", "#/$defs/a", "#/a b"]),
    st.sampled_from(["http://json-schema.org/draft-07/schema#", "https://example.com/s", "x:"]),
)
# Schema-like values: keyword names with values of every shape, right or wrong.
SCHEMA_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from([*KEYWORDS, "a", "name"]), inner, max_size=4),
    ),
    max_leaves=12,
)


def _metaschema_accepts(schema: Any, draft: str) -> bool:
    """The oracle: jsonschema with structgen's metaschema validator of ``draft``."""
    validator = metaschema_validator(DRAFT_CLASSES[draft])
    return next(iter(validator.iter_errors(schema)), None) is None


def _full_issues(schema: Any, draft: str) -> list:
    return schema_issues(schema, DRAFT_CLASSES[draft], "<schema>")[0]


@given(schema=SCHEMA_LIKE, draft=st.sampled_from(DRAFTS))
def test_what_the_quick_check_accepts_the_metaschema_accepts(schema: Any, draft: str) -> None:
    if metaschema_accepts(schema, draft):
        assert _metaschema_accepts(schema, draft)


@given(schema=schemas(), draft=st.sampled_from(DRAFTS))
def test_check_schema_gives_the_same_issues_by_either_road(schema: dict, draft: str) -> None:
    assert check_schema(schema, draft=draft) == _full_issues(schema, draft)


@pytest.mark.parametrize("draft", DRAFTS)
def test_real_schemas_take_the_quick_road_only_where_the_metaschema_accepts(draft: str) -> None:
    taken = 0
    for case in load_sample():
        if metaschema_accepts(case.schema, draft):
            taken += 1
            assert _metaschema_accepts(case.schema, draft), case.name
            assert check_schema(case.schema, draft=draft) == _full_issues(case.schema, draft)
    assert taken >= 64  # most real schemas are plainly well-formed (128 in the sample)


PLAIN = [
    {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    True,
    {},
    {"type": ["string", "null"], "minLength": 1, "maxLength": 5, "pattern": "^a+$"},
    {"type": "array", "items": {"enum": [1, "a", None]}, "minItems": 0, "uniqueItems": True},
    {"type": "number", "minimum": -1.5, "exclusiveMaximum": 10, "multipleOf": 0.5},
    {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/a"},
    {"anyOf": [{"type": "integer"}, {"const": {"a": [1]}}], "title": "t", "default": 3},
    {"patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": False},
]


@pytest.mark.parametrize("schema", PLAIN)
def test_plain_schemas_take_the_quick_road(schema: Any) -> None:
    for draft in ("2020-12", "2019-09", "7", "6"):
        assert metaschema_accepts(schema, draft)
        assert _metaschema_accepts(schema, draft)


# Scalars that JSON Schema's equality tells apart or not in ways Python's does not (1 == 1.0 is
# one value, true and 1 are two, NaN equals nothing), and containers it leaves to jsonschema.
JSON_ITEMS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 0.0, 1.0, -0.0, 1.5, float("inf"), float("nan")]),
    st.sampled_from(["", "a", "1", "true", "null"]),
    st.sampled_from([[], [1], {}, {"a": 1}]),
)


@given(st.lists(JSON_ITEMS, max_size=6))
@example([1, 1.0])
@example([True, 1])
@example([False, 0])
@example([0.0, -0.0])
@example([None, "null"])
@example([float("nan"), float("nan")])
def test_items_it_calls_distinct_are_unique_for_jsonschema(items: list) -> None:
    oracle = DRAFT_CLASSES["2020-12"]({"uniqueItems": True}).is_valid(items)
    if _distinct(items):
        assert oracle
    if oracle and all(item is None or type(item) in (bool, str, int) for item in items):
        assert _distinct(items)  # decided exactly where no float or container is involved


def test_a_draft_04_enum_of_mixed_scalars_takes_the_quick_road() -> None:
    schema = {"type": ["string", "null"], "enum": ["F", "L", None]}  # uniqueItems in draft-04
    assert metaschema_accepts(schema, "4")
    assert _metaschema_accepts(schema, "4")
    assert not metaschema_accepts({"enum": ["F", None, "F"]}, "4")


REFUSED: list[tuple[Any, str]] = [
    ({"required": "name"}, "2020-12"),
    ({"required": ["a", "a"]}, "2020-12"),
    ({"minLength": 1.5}, "2020-12"),
    ({"minLength": -1}, "2020-12"),
    ({"type": "strin"}, "7"),
    ({"pattern": "(abc"}, "2020-12"),
    ({"properties": {"a": {"pattern": r"\p{Nope}"}}}, "2019-09"),
    ({"$ref": "#/a b"}, "2020-12"),
    ({"$schema": "not a uri"}, "7"),
    ({"exclusiveMinimum": True}, "4"),
    ({"exclusiveMinimum": 5}, "4"),
    ({"exclusiveMinimum": True, "minimum": 0}, "7"),
    ({"items": [{"minimum": "x"}]}, "7"),
    (True, "4"),
    ({"enum": []}, "4"),
    ({"type": "object", "properties": {"a": {"type": 3}}}, "6"),
    ({"$defs": {"a": {"type": "nothing"}}}, "2020-12"),
    ({"dependencies": {"a": ["b", 3]}}, "7"),
]


@pytest.mark.parametrize(("schema", "draft"), REFUSED)
def test_invalid_schemas_are_left_to_jsonschema(schema: Any, draft: str) -> None:
    assert not _metaschema_accepts(schema, draft)
    assert not metaschema_accepts(schema, draft)
    assert check_schema(schema, draft=draft) == _full_issues(schema, draft) != []


def test_unsure_cases_are_left_to_jsonschema() -> None:
    # valid, but beyond what the quick check decides: jsonschema decides
    assert not metaschema_accepts({"minLength": 1.0}, "7")  # a whole float as an integer
    assert not metaschema_accepts({"type": "string"}, "3")  # draft-03 is never quick
    assert not metaschema_accepts({"$ref": "other.json#/a"}, "2020-12")
    assert check_schema({"minLength": 1.0}, draft="7") == []


def test_the_uris_it_vouches_for_are_uris() -> None:
    is_uri = format_predicate("uri")
    assert _KNOWN_URIS and all(is_uri(uri) for uri in _KNOWN_URIS)


@given(st.text(alphabet=sorted(_FRAGMENT_CHARACTERS)))
def test_the_fragment_references_it_vouches_for_are_uri_references(fragment: str) -> None:
    assert format_predicate("uri-reference")("#" + fragment)


def test_the_default_draft_is_the_validators() -> None:
    assert _DEFAULT_DRAFT == drafts.DEFAULT_DRAFT
