"""What ``structgen validate`` reports beyond the keywords (issue 10, findings 1, 15, 16): how it
reads numbers, repeated keys, and ``$ref`` loops as schema errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from structgen.cli.main import main
from structgen.validation import DocumentValidator, InvalidSchemaError, check_schema, parse_json
from structgen.validation.documents import parse_document

# --- numbers: integers exactly, other numbers as the float64 a JSON consumer reads -----------


@pytest.mark.parametrize(
    ("schema", "text", "valid"),
    [
        # reads as 0.3, which is not below 0.3 (a float64 consumer sees 0.3)
        ({"type": "number", "exclusiveMaximum": 0.3}, "0.29999999999999999", False),
        ({"type": "number", "exclusiveMaximum": 0.3}, "0.2999999999999999", True),
        # reads as 0.0, which is not above 0
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 1}, "8E-758", False),
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 1}, "5E-324", True),
        ({"type": "number", "maximum": 1e308}, "1e400", False),  # infinite
        # integer literals are exact: 2**53 + 1 is above 2**53
        ({"type": "integer", "maximum": 9007199254740992}, "9007199254740993", False),
        ({"type": "integer", "maximum": 9007199254740993}, "9007199254740993", True),
        ({"type": "integer"}, "1.0", True),
        ({"type": "number", "minimum": 0.1}, "0.1", True),
        ({"type": "number", "multipleOf": 0.1}, "0.3", True),  # decimal, not 0.3 / 0.1 in float64
        ({"type": "number", "multipleOf": 0.5}, "1.5", True),
    ],
)
def test_numbers_are_compared_as_float64_unless_integer_literals(
    schema: dict, text: str, valid: bool
) -> None:
    assert DocumentValidator(schema).is_valid(parse_json(text)) is valid


def test_number_reading_matches_a_float64_consumer() -> None:
    assert parse_json("0.29999999999999999") == float("0.29999999999999999") == 0.3
    assert parse_json("8E-758") == 0.0
    assert type(parse_json("9007199254740993")) is int


# --- repeated keys -------------------------------------------------------------------------


def test_repeated_keys_are_located() -> None:
    value, repeated = parse_document('{"a": 1, "b": [{"c": 2, "c": 3}], "a": "x", "d": {}}')
    assert value == {"a": "x", "b": [{"c": 3}], "d": {}}
    assert repeated == [("a",), ("b", 0, "c")]
    assert parse_document('{"a": {"a": 1}}')[1] == []


def test_validate_reports_repeated_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object"}), encoding="utf-8")
    doc = tmp_path / "d.json"
    doc.write_text('{"id": 1, "tags": {"x": 1, "x": 2}, "id": 2}', encoding="utf-8")
    assert main(["validate", "--schema", str(schema), str(doc)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0] == f"{doc}: $.id: duplicate key 'id' in this object: JSON parsers disagree "
        "on which value counts (this one was validated with the last)"
    )
    assert out[1].startswith(f"{doc}: $.tags.x: duplicate key 'x'")
    assert out[2] == "0 valid, 1 invalid"
    lines = tmp_path / "d.jsonl"
    lines.write_text('{"a": 1}\n{"a": 1, "a": 1}\n', encoding="utf-8")
    assert main(["validate", "--jsonl", "--schema", str(schema), str(lines)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{lines}:2: $.a: duplicate key 'a'")
    assert out[-1] == "1 valid, 1 invalid"


# --- $ref loops are schema errors ----------------------------------------------------------

LOOPS = [
    {"$ref": "#"},
    {"allOf": [{"$ref": "#"}]},
    {"anyOf": [{"type": "string"}, {"$ref": "#"}]},
    {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"not": {"$ref": "#/$defs/a"}}},
     "$ref": "#/$defs/a"},
    {"$schema": "http://json-schema.org/draft-07/schema#",
     "definitions": {"a": {"$ref": "#/definitions/a"}}},
]  # fmt: skip
RECURSIVE = [
    {"type": "object", "properties": {"next": {"$ref": "#"}}},
    {"type": "array", "items": {"$ref": "#"}},
    # draft 7: a $ref hides its siblings, so the allOf below is never applied
    {"$schema": "http://json-schema.org/draft-07/schema#",
     "definitions": {"a": {"$ref": "#/definitions/b", "allOf": [{"$ref": "#/definitions/a"}]},
                     "b": {"type": "integer"}}},
]  # fmt: skip


@pytest.mark.parametrize("schema", LOOPS)
def test_ref_loops_are_schema_issues(schema: dict) -> None:
    issues = check_schema(schema)
    assert len(issues) == 1 and "$ref loop" in issues[0].message
    assert issues[0].location.endswith("/$ref")
    with pytest.raises(InvalidSchemaError, match=r"\$ref loop"):
        DocumentValidator(schema)


@pytest.mark.parametrize("schema", RECURSIVE)
def test_recursion_into_the_value_is_fine(schema: dict) -> None:
    assert check_schema(schema) == []


def test_ref_loop_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = tmp_path / "loop.json"
    schema.write_text('{"$ref": "#"}', encoding="utf-8")
    doc = tmp_path / "doc.json"
    doc.write_text("1", encoding="utf-8")
    assert main(["validate", "--schema", str(schema), str(doc)]) == 2
    assert "$ref loop" in capsys.readouterr().err
    assert main(["check-schema", str(schema)]) == 1
    out = capsys.readouterr().out
    assert f"{schema}: #/$ref: $ref loop (# → #)" in out and "0 valid, 1 invalid" in out
