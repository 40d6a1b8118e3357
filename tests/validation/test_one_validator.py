"""One validator and one ``check_schema`` everywhere: the CLI, the compiler's metaschema check
and ``enum``/``const`` oracle, ``example`` and ``generate_json`` give the same answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from structgen import generation
from structgen.errors import MatcherError
from structgen.schema import SchemaError, schema_to_grammar
from structgen.schema.example import ExampleGenerator
from structgen.schema.loading import check_schema as compiler_check_schema
from structgen.schema.refs import SchemaDocument
from structgen.validation import DocumentValidator, check_schema

REPO = Path(__file__).resolve().parents[2]
LOOKAHEAD_DIGIT = r"^(?=.*\d)\w+$"  # ECMA \w is ASCII: "abç1" does not match


def test_importing_the_format_grammars_loads_no_validator() -> None:
    code = (
        "import sys, structgen.validation.formats, structgen.validation\n"
        "print(sorted({'jsonschema', 'referencing', 'regress'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.strip() == "[]"


SCHEMAS: list[tuple[Any, str | None]] = [
    ({"type": "integer", "minimum": 0}, None),
    ({"properties": {"age": {"minimum": "three"}}}, "#/properties/age/minimum"),
    ({"required": "name"}, "#/required"),
    ({"properties": {"a": {"pattern": "(abc"}}}, "#/properties/a/pattern"),
    ({"properties": {"a": {"pattern": r"\p{Nope}"}}}, "#/properties/a/pattern"),
    ({"pattern": r"\p{L}+(?<=é)"}, None),  # ECMA only: Python's re cannot read it
    ({"pattern": "a]"}, None),  # Annex B, as the compiler's parser reads it
    ({"$defs": {"a": True}, "items": {"$ref": "#/$defs/b"}}, "#/items/$ref"),
    # draft-07 items: a schema or an array of them; the error is at the anyOf
    (
        {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"minimum": "x"}]},
        "#/items",
    ),
]


@pytest.mark.parametrize(("schema", "pointer"), SCHEMAS)
def test_the_compiler_checks_what_check_schema_checks(schema: Any, pointer: str | None) -> None:
    issues = check_schema(schema)
    assert [issue.location for issue in issues][:1] == ([pointer] if pointer else [])
    if pointer is None:
        compiler_check_schema(schema)
        return
    with pytest.raises(SchemaError) as raised:
        compiler_check_schema(schema)
    assert raised.value.pointer == pointer
    assert issues[0].message in str(raised.value)


def test_the_compiler_names_the_ecma_reason_of_a_bad_pattern() -> None:
    with pytest.raises(SchemaError, match=r"invalid ECMA-262 regex '\\\\p\{Nope\}': Invalid "):
        schema_to_grammar({"type": "string", "pattern": r"\p{Nope}"})


def test_the_compilers_enum_oracle_is_ecma_262() -> None:
    schema = {"enum": ["\u00e9", "e", "ab"], "pattern": r"^\w$"}  # Python's re: "é" matches
    document = SchemaDocument(schema)
    assert [document.is_valid(v, document.root()) for v in schema["enum"]] == [False, True, False]
    generator = ExampleGenerator(schema)
    assert {generator.instance(seed) for seed in (None, 1, 2, 3)} == {"e"}
    assert DocumentValidator(schema).is_valid("e") and not DocumentValidator(schema).is_valid("é")


@pytest.mark.parametrize(
    ("text", "valid"), [('"abc1"', True), ('"ab\\u00e71"', False), ('"abc"', False)]
)
def test_generate_json_validates_with_ecma_semantics(
    monkeypatch: pytest.MonkeyPatch, text: str, valid: bool
) -> None:
    monkeypatch.setattr(generation, "generate", lambda prompt, **options: text)
    schema = {"type": "string", "pattern": LOOKAHEAD_DIGIT}
    if valid:
        assert generation.generate_json(schema, "p") == json.loads(text)
        return
    with pytest.raises(MatcherError, match=r"does not validate \(a structgen bug\): \$: "):
        generation.generate_json(schema, "p")
