"""Errors and warnings of the schema compiler: what they say, and where they point."""

from __future__ import annotations

import json
import warnings

import pytest

from structgen.errors import ConfigurationError, LimitExceededError, StructgenError
from structgen.schema import (
    RemoteRefError,
    SchemaError,
    SchemaOptions,
    SchemaWarning,
    UnsatisfiableSchemaError,
    UnsupportedSchemaError,
    schema_to_grammar,
)


def test_error_hierarchy():
    for cls in (SchemaError, UnsupportedSchemaError, RemoteRefError, UnsatisfiableSchemaError):
        assert issubclass(cls, StructgenError) and issubclass(cls, ValueError)


def test_invalid_schema_names_the_pointer():
    with pytest.raises(SchemaError, match=r"invalid JSON Schema .*\(at #/properties/age/minimum\)"):
        schema_to_grammar({"properties": {"age": {"minimum": "three"}}})
    with pytest.raises(SchemaError, match=r"at #/required"):
        schema_to_grammar({"required": "name"})


def test_invalid_pattern_names_the_keyword():
    with pytest.raises(
        SchemaError, match=r"invalid ECMA-262 regex '\(abc'.*at #/properties/a/pattern"
    ):
        schema_to_grammar({"properties": {"a": {"type": "string", "pattern": "(abc"}}})


def test_unsupported_keywords_are_listed_with_pointers():
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "uniqueItems": True},
            "n": {"not": {"minProperties": 2}},
            "s": {"type": "string", "pattern": "(?=x)y"},
        },
        # (an 'if' of object keywords is a condition on objects; a string keyword is not)
        "if": {"minLength": 2},
        "then": {"required": ["b"]},
    }
    with pytest.raises(UnsupportedSchemaError) as raised:
        schema_to_grammar(schema)
    found = {(u.keyword, u.pointer) for u in raised.value.unsupported}
    assert found == {
        ("uniqueItems", "#/properties/tags/uniqueItems"),
        ("not", "#/properties/n/not"),
        ("pattern", "#/properties/s/pattern"),
        ("if", "#/if"),
    }
    assert "lenient=True" in str(raised.value) and "lookahead" in str(raised.value)


def test_lenient_ignores_with_warnings():
    with pytest.warns(
        SchemaWarning, match=r"not enforced \(lenient\): uniqueItems at #/uniqueItems"
    ):
        grammar = schema_to_grammar({"type": "array", "uniqueItems": True}, lenient=True)
    assert any("uniqueItems" in w for w in grammar.warnings)


def test_remote_refs_are_errors_even_when_lenient():
    with pytest.raises(
        RemoteRefError,
        match=r"\$ref at #/properties/a/\$ref: remote reference 'https://example.com/s.json'",
    ):
        schema_to_grammar(
            {"properties": {"a": {"$ref": "https://example.com/s.json"}}}, lenient=True
        )


def test_dangling_local_ref():
    with pytest.raises(
        SchemaError, match=r"\$ref '#/\$defs/missing' does not resolve .*at #/\$ref"
    ):
        schema_to_grammar({"$ref": "#/$defs/missing"})


@pytest.mark.parametrize(
    "schema,reason",
    [
        (False, "# is false"),
        ({"type": "string", "not": {"type": "string"}}, "no JSON type left"),
        ({"enum": []}, "no value of enum/const"),
        ({"type": "array", "minItems": 3, "maxItems": 2}, "minItems 3 exceeds"),
        ({"type": "string", "minLength": 3, "maxLength": 2}, "no string satisfies"),
        ({"type": "integer", "minimum": 1.5, "maximum": 1.9}, "no number satisfies"),
        (
            {"type": "object", "required": ["a"], "additionalProperties": False},
            "required property 'a' is forbidden",
        ),
        ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "no JSON type left"),
        ({"enum": [1, 2], "minimum": 5}, "no value of enum/const satisfies"),
    ],
)
def test_unsatisfiable_schemas_are_errors(schema, reason):
    with pytest.raises(UnsatisfiableSchemaError, match=reason):
        schema_to_grammar(schema)


def test_empty_type_list_without_meta_validation():
    with pytest.raises(UnsatisfiableSchemaError, match="no JSON type left"):
        schema_to_grammar({"type": []}, validate_schema=False)


def test_unsatisfiable_branches_are_dropped_with_a_warning():
    with pytest.warns(SchemaWarning, match=r"anyOf branch #/anyOf/1 is unsatisfiable: dropped"):
        grammar = schema_to_grammar(
            {"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 5, "maxLength": 1}]}
        )
    assert grammar.rules


def test_overlapping_one_of_is_rejected_and_disjoint_one_of_compiles():
    with pytest.raises(
        UnsupportedSchemaError, match=r"oneOf at #/oneOf: branches 0 and 1 may both match"
    ):
        schema_to_grammar({"oneOf": [{"type": "integer"}, {"minimum": 2}]})
    for disjoint in (
        {"oneOf": [{"type": "string"}, {"type": "null"}]},
        {"oneOf": [{"const": "a"}, {"const": "b"}]},
        {
            "oneOf": [
                {"properties": {"kind": {"const": "x"}}, "required": ["kind"]},
                {"properties": {"kind": {"const": "y"}}, "required": ["kind"]},
            ],
            "type": "object",
        },
        {"oneOf": [{"type": "integer", "maximum": 0}, {"type": "integer", "minimum": 1}]},
        {"oneOf": [{"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"}]},
        {
            "oneOf": [
                {"required": ["a"], "properties": {"a": true_schema()}},
                {"properties": {"a": False}},
            ],
            "type": "object",
        },
    ):
        schema_to_grammar(disjoint)


def true_schema() -> bool:
    return True


def test_limits_name_themselves():
    with pytest.raises(LimitExceededError, match=r"max_array_expansion|minItems/maxItems"):
        schema_to_grammar({"type": "array", "minItems": 5000})
    with pytest.raises(LimitExceededError, match=r"max_string_length"):
        schema_to_grammar({"type": "string", "pattern": "^a", "maxLength": 2_000_000})
    with pytest.warns(SchemaWarning, match="dropped \\(lenient\\)"):
        schema_to_grammar({"type": "string", "pattern": "^a", "maxLength": 2_000_000}, lenient=True)


def test_options_are_validated():
    with pytest.raises(ConfigurationError, match="whitespace must be"):
        SchemaOptions(whitespace="pretty")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown schema option\\(s\\) colour"):
        schema_to_grammar({}, colour="red")
    with pytest.raises(ConfigurationError, match="property_order"):
        SchemaOptions(property_order="sorted")  # type: ignore[arg-type]


def test_unknown_dialect_and_formats():
    with pytest.raises(UnsupportedSchemaError, match=r"\$schema at #/\$schema: unknown dialect"):
        schema_to_grammar({"$schema": "https://example.com/my-meta", "type": "string"})
    with pytest.warns(SchemaWarning, match="format 'int32' at #/format is not known"):
        schema_to_grammar({"type": "string", "format": "int32"})
    with pytest.raises(UnsupportedSchemaError, match="format 'int32' is not known"):
        schema_to_grammar({"type": "string", "format": "int32"}, formats="strict")


def test_schema_inputs(tmp_path):
    schema = {"type": "integer"}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema))
    first = schema_to_grammar(schema).fingerprint()
    assert schema_to_grammar(json.dumps(schema)).fingerprint() == first
    assert schema_to_grammar(path).fingerprint() == first
    with pytest.raises(SchemaError, match="never read as a file"):  # text is text
        schema_to_grammar(str(path))
    with pytest.raises(SchemaError, match="not valid JSON"):
        schema_to_grammar("{nope")


def test_pydantic_models():
    import pydantic

    class Point(pydantic.BaseModel):
        x: int
        y: float = 0.0
        label: str | None = None

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grammar = schema_to_grammar(Point)
    assert grammar.rules
