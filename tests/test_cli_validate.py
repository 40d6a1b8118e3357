"""``structgen validate`` and ``structgen check-schema``: exit codes, messages, no heavy imports."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from structgen.cli.main import main
from structgen.errors import StructgenError
from structgen.validation import (
    DocumentValidator,
    InvalidSchemaError,
    Issue,
    JSONFileError,
    SchemaReferenceError,
    check_schema,
    json_path,
    json_pointer,
    parse_json,
)

REPO = Path(__file__).resolve().parents[1]

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "email": {"type": "string", "format": "email"},
        "born": {"type": "string", "format": "date"},
        "pets": {
            "type": "array",
            "items": {"type": "object", "properties": {"age": {"minimum": 0}}},
        },
        "first name": {"type": "string"},
    },
    "required": ["name"],
}


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def schema(tmp_path: Path) -> str:
    return write(tmp_path, "person.json", PERSON)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may fetch a URL (jsonschema's own fallback retrieval uses urlopen)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# --------------------------------------------------------------------------- validate


def test_valid_document(tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = write(tmp_path, "ok.json", {"name": "Ada", "age": 36, "email": "ada@example.org"})
    assert run_cli(capsys, "validate", "--schema", schema, doc) == (0, "1 valid, 0 invalid\n", "")
    assert run_cli(capsys, "validate", "--quiet", "--schema", schema, doc) == (0, "", "")


def test_invalid_document_names_file_and_json_path(
    tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = write(
        tmp_path,
        "doc.json",
        {"name": "Bo", "age": -1, "pets": [{"age": 2}, {"age": -3}], "first name": 7},
    )
    ok = write(tmp_path, "ok.json", {"name": "Cy"})
    code, out, err = run_cli(capsys, "validate", "--schema", schema, doc, ok)
    assert code == 1 and err == ""
    assert out.splitlines() == [
        f"{doc}: $.age: -1 is less than the minimum of 0",
        f"{doc}: $[\"first name\"]: 7 is not of type 'string'",
        f"{doc}: $.pets[1].age: -3 is less than the minimum of 0",
        "1 valid, 1 invalid",
    ]
    code, out, _ = run_cli(capsys, "validate", "-q", "--schema", schema, doc)
    assert code == 1 and len(out.splitlines()) == 3  # errors only, no summary


def test_jsonl_reports_line_numbers(
    tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ['{"name": "a"}', "", '{"name": "b", "age": -1}', '{"name": "c"}', '{"age": 1}']
    doc = write(tmp_path, "people.jsonl", "\r\n".join(lines) + "\n")
    code, out, err = run_cli(capsys, "validate", "--jsonl", "--schema", schema, doc)
    assert code == 1 and err == ""
    assert out.splitlines() == [
        f"{doc}:3: $.age: -1 is less than the minimum of 0",
        f"{doc}:5: $: 'name' is a required property",
        "2 valid, 2 invalid",
    ]


def test_jsonl_bad_line_is_an_error_but_other_lines_are_checked(
    tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = write(tmp_path, "mixed.jsonl", '{"name": "a"}\n{"name": \n{"name": 1}\n')
    code, out, err = run_cli(capsys, "validate", "--jsonl", "--schema", schema, doc)
    assert code == 2
    assert f"{doc}:2:10: invalid JSON: Expecting value" in err
    assert out.splitlines() == [
        f"{doc}:3: $.name: 1 is not of type 'string'",
        "1 valid, 1 invalid, 1 unreadable",
    ]


def test_stdin(
    schema: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"name": "x", "age": -5}')))
    code, out, _ = run_cli(capsys, "validate", "--schema", schema, "-")
    assert code == 1
    assert out.splitlines()[0] == "<stdin>: $.age: -5 is less than the minimum of 0"

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"name": "x"}\n{"name": 2}\n')))
    code, out, _ = run_cli(capsys, "validate", "--jsonl", "--schema", schema, "-")
    assert code == 1
    assert out.splitlines() == [
        "<stdin>:2: $.name: 2 is not of type 'string'",
        "1 valid, 1 invalid",
    ]


def test_stdin_only_once(schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "validate", "--schema", "-", "-")
    assert code == 2 and "standard input (-) can be read only once" in err


def test_invalid_json_document_gives_line_and_column(
    tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.json", '{\n  "name": "x",\n  "age" 2\n}\n')
    nan = write(tmp_path, "nan.json", '{"name": "NaN",\n "age": NaN}')
    ok = write(tmp_path, "ok.json", {"name": "x"})
    missing = str(tmp_path / "missing.json")
    code, out, err = run_cli(capsys, "validate", "--schema", schema, bad, nan, ok, missing)
    assert code == 2
    assert err.splitlines() == [
        f"structgen validate: error: {bad}:3:9: invalid JSON: Expecting ':' delimiter",
        f"structgen validate: error: {nan}:2:9: invalid JSON: NaN is not a JSON value "
        "(JSON has no NaN or Infinity)",
        f"structgen validate: error: cannot read {missing}: No such file or directory",
    ]
    assert out == "1 valid, 0 invalid, 3 unreadable\n"
    assert "Traceback" not in err


def test_invalid_json_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = write(tmp_path, "s.json", '{"type": "object",\n "properties": {,}}')
    doc = write(tmp_path, "d.json", {})
    code, out, err = run_cli(capsys, "validate", "--schema", schema, doc)
    assert (code, out) == (2, "")
    assert err == (
        f"structgen validate: error: {schema}:2:17: invalid JSON: "
        "Expecting property name enclosed in double quotes\n"
    )


def test_invalid_schema_reports_json_pointers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = write(
        tmp_path,
        "s.json",
        {"properties": {"age": {"type": "strin", "minimum": "zero"}, "a/b": {"pattern": "("}}},
    )
    doc = write(tmp_path, "d.json", {})
    code, out, err = run_cli(capsys, "validate", "--schema", schema, doc)
    assert (code, out) == (2, "")
    assert f"error: invalid schema {schema} (draft 2020-12):" in err
    assert (
        f"{schema}: #/properties/a~1b/pattern: '(' is not a 'regex' "
        "(invalid ECMA-262 regex '(': Unbalanced parenthesis)" in err
    )
    assert f"{schema}: #/properties/age/minimum: 'zero' is not of type 'number'" in err
    assert (
        f"{schema}: #/properties/age/type: 'strin' is not valid under any of the given schemas"
        in err
    )
    assert "is not one of ['array', 'boolean'" in err  # the closest sub-error explains it


def test_remote_ref_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The ref sits in a property the document does not have: refused up front all the same.
    schema = write(
        tmp_path,
        "s.json",
        {
            "$id": "https://example.com/root.json",
            "properties": {"a": {"$ref": "defs.json#/$defs/a"}},
        },
    )
    doc = write(tmp_path, "d.json", {})
    code, out, err = run_cli(capsys, "validate", "--schema", schema, doc)
    assert (code, out) == (2, "")
    resolved = "(resolved to 'https://example.com/defs.json')"
    assert f"#/properties/a/$ref: $ref 'defs.json#/$defs/a' {resolved}" in err
    assert "never fetches $ref targets" in err and "Traceback" not in err
    with pytest.raises(SchemaReferenceError, match="never fetches") as caught:
        DocumentValidator({"$ref": "https://example.com/x.json"})
    assert caught.value.remote and caught.value.uri == "https://example.com/x.json"


def test_local_refs_metaschema_refs_and_dangling_refs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    validator = DocumentValidator(
        {
            "$defs": {"pos": {"$anchor": "pos", "minimum": 0}},
            "properties": {
                "a": {"$ref": "#/$defs/pos"},
                "b": {"$ref": "#pos"},
                "s": {
                    "$ref": "https://json-schema.org/draft/2020-12/schema"
                },  # bundled, not fetched
            },
        }
    )
    assert validator.is_valid({"a": 1, "b": 2, "s": {"type": "string"}})
    assert [str(i) for i in validator.issues({"a": -1, "s": {"type": 5}}, source="d")] == [
        "d: $.a: -1 is less than the minimum of 0",
        "d: $.s.type: 5 is not valid under any of the given schemas (closest: 5 is not one of "
        "['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'])",
    ]
    with pytest.raises(
        InvalidSchemaError, match=r"#/properties/a/\$ref: \$ref '#/\$defs/nope' does not resolve"
    ):
        DocumentValidator({"properties": {"a": {"$ref": "#/$defs/nope"}}})


def test_format_checking(tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(
        tmp_path, "good.json", {"name": "x", "email": "x@example.org", "born": "2001-02-03"}
    )
    bad = write(
        tmp_path, "bad.json", {"name": "x", "email": "not-an-address", "born": "2001-02-30"}
    )
    code, out, _ = run_cli(capsys, "validate", "--schema", schema, good, bad)
    assert code == 1
    assert out.splitlines() == [
        f"{bad}: $.born: '2001-02-30' is not a 'date'",
        f"{bad}: $.email: 'not-an-address' is not a 'email'",
        "1 valid, 1 invalid",
    ]


def test_unchecked_format_is_announced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = write(tmp_path, "s.json", {"properties": {"x": {"format": "x-custom"}}})
    doc = write(tmp_path, "d.json", {"x": "anything"})
    code, out, err = run_cli(capsys, "validate", "--schema", schema, doc)
    assert (code, out) == (0, "1 valid, 0 invalid\n")
    warning = f"{schema}: format 'x-custom' is not checked (unknown format)"
    assert err == f"structgen validate: warning: {warning}\n"
    assert run_cli(capsys, "validate", "-q", "--schema", schema, doc) == (0, "", "")


def test_draft07_schema_follows_draft07_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Draft-07 ignores keywords beside $ref; 2020-12 applies them.
    body = {"definitions": {"int": {"type": "integer"}}, "$ref": "#/definitions/int", "minimum": 10}
    draft7 = write(
        tmp_path, "d7.json", {"$schema": "http://json-schema.org/draft-07/schema#", **body}
    )
    latest = write(tmp_path, "latest.json", body)
    five, text = write(tmp_path, "five.json", "5"), write(tmp_path, "text.json", '"5"')
    assert run_cli(capsys, "validate", "-q", "--schema", draft7, five)[0] == 0
    code, out, _ = run_cli(capsys, "validate", "-q", "--schema", draft7, text)
    assert (code, out) == (1, f"{text}: $: '5' is not of type 'integer'\n")
    code, out, _ = run_cli(capsys, "validate", "-q", "--schema", latest, five)
    assert (code, out) == (1, f"{five}: $: 5 is less than the minimum of 10\n")


def test_unknown_dialect_and_usage_errors(
    tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = write(tmp_path, "odd.json", {"$schema": "https://example.com/my-dialect"})
    doc = write(tmp_path, "d.json", {})
    code, _, err = run_cli(capsys, "validate", "--schema", odd, doc)
    assert code == 2 and "unknown dialect 'https://example.com/my-dialect'" in err
    code, _, err = run_cli(capsys, "validate", "--schema", str(tmp_path / "nope.json"), doc)
    assert code == 2 and "cannot read" in err and "nope.json" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", doc])  # --schema missing
    assert exit_info.value.code == 2
    capsys.readouterr()


# --------------------------------------------------------------------------- check-schema


def test_check_schema(tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    draft7 = write(
        tmp_path,
        "d7.json",
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
    )
    bad = write(
        tmp_path,
        "bad.json",
        {"type": "object", "properties": {"n": {"minLength": -1}}, "required": "n"},
    )
    dangling = write(tmp_path, "dangling.json", {"items": {"$ref": "#/$defs/missing"}})
    assert run_cli(capsys, "check-schema", schema, draft7) == (0, "2 valid, 0 invalid\n", "")

    code, out, err = run_cli(capsys, "check-schema", schema, bad, dangling)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"{bad}: #/properties/n/minLength: -1 is less than the minimum of 0",
        f"{bad}: #/required: 'n' is not of type 'array'",
        f"{dangling}: #/items/$ref: $ref '#/$defs/missing' does not resolve "
        "(no value at that JSON pointer)",
        "1 valid, 2 invalid",
    ]

    broken = write(tmp_path, "broken.json", "{\n  ]")
    code, out, err = run_cli(capsys, "check-schema", "-q", schema, broken, bad)
    assert code == 2
    assert err == (
        f"structgen check-schema: error: {broken}:2:3: invalid JSON: "
        "Expecting property name enclosed in double quotes\n"
    )
    assert out.splitlines()[0].startswith(f"{bad}: #/properties/n/minLength")


# --------------------------------------------------------------------------- ECMA-262 patterns

# (pattern, string, whether ECMA-262 `RegExp(pattern, "u").test(string)`): expectations from the
# spec, not from running a regex engine. Python's re differs on every row marked "re:".
ECMA_SEARCHES = [
    (r"^\d$", "3", True),
    (r"^\d$", "\u0663", False),  # re: \d is Unicode; ECMA \d is [0-9] (ARABIC-INDIC DIGIT THREE)
    (r"^\w+$", "caf\u00e9", False),  # re: \w is Unicode; ECMA \w is [A-Za-z0-9_]
    (r"^\s$", "\ufeff", True),  # re: no; ECMA WhiteSpace includes ZWNBSP
    (r"^a$", "a", True),
    (r"^a$", "a\n", False),  # re: $ also matches before a final newline
    (r"^.$", "\r", False),  # re: . matches \r; ECMA excludes every LineTerminator
    (r"^.$", "\u2028", False),
    (r"^[^]$", "\n", True),  # re: syntax error; ECMA [^] is any character
    (r"\p{L}+", "\u00e9", True),  # re: syntax error
    (r"^\p{Letter}+$", "Stra\u00dfe", True),
    (r"^\P{L}$", "x", False),
    (r"^\cJ$", "\n", True),  # re: syntax error; \cJ is U+000A
    (r"^\cJ$", "J", False),
    (r"^\u{1F600}$", "\U0001f600", True),  # re: syntax error
    (r"b", "abc", True),  # no anchor: a search, not a full match
    (r"^b", "abc", False),
    (r"c$|^x", "abc", True),
    (r"(^a|b$)+", "xab", True),
    (r"^a(?=b)", "ab", True),  # lookahead
    (r"^a(?=b)", "ac", False),
    (r"^(?=.*\d)\w+$", "ab\u00e71", False),  # re: \w takes the c-cedilla
    (r"^(?=.*\d)\w+$", "abc1", True),
    (r"^(?!a)[\w]+$", "\u00e9t\u00e9", False),  # re: [\w] takes the accented letters
    (r"^(?!a)[\w]+$", "ete", True),
    (r"(?<=\p{L})x", "\u00e9x", True),  # re: syntax error (\p); lookbehind
    (r"(?<=\p{L})x", "1x", False),
    (r"^(a)\1$", "aa", True),  # backreference
    (r"\bis\b", "this is", True),
    (r"a]", "xa]", True),  # Annex B: a lone ] is a literal (as the compiler reads it)
    (r"^[\d-x]+$", "1-x", True),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), ECMA_SEARCHES)
def test_patterns_follow_ecma_262(pattern: str, text: str, expected: bool) -> None:
    assert check_schema({"pattern": pattern}) == []
    assert DocumentValidator({"type": "string", "pattern": pattern}).is_valid(text) is expected


def test_pattern_properties_follow_ecma_262() -> None:
    digit_keys = DocumentValidator(
        {"patternProperties": {r"^\d$": {"type": "integer"}}, "additionalProperties": False}
    )
    assert digit_keys.is_valid({"3": 1})
    assert [str(issue) for issue in digit_keys.issues({"\u0663": 1, "3": "x"}, source="d")] == [
        "d: $: '\u0663' does not match any of the regexes: '^\\\\d$'",
        "d: $[\"3\"]: 'x' is not of type 'integer'",
    ]
    for dialect in ("https://json-schema.org/draft/2020-12/schema",
                    "https://json-schema.org/draft/2019-09/schema"):  # fmt: skip
        letters = DocumentValidator(
            {"$schema": dialect, "patternProperties": {r"^\p{L}+$": True},
             "unevaluatedProperties": False}  # fmt: skip
        )
        assert letters.is_valid({"\u00e9t\u00e9": 1})
        assert [str(issue) for issue in letters.issues({"\u00e9": 1, "a\n": 2}, source="d")] == [
            "d: $: Unevaluated properties are not allowed ('a\\n' was unexpected)"
        ]


def test_ecma_only_pattern_passes_check_schema_and_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = write(
        tmp_path,
        "s.json",
        {"properties": {"name": {"type": "string", "pattern": r"^\p{Letter}+$"},
                        "re": {"format": "regex"}}},  # fmt: skip
    )
    assert run_cli(capsys, "check-schema", schema) == (0, "1 valid, 0 invalid\n", "")
    good = write(tmp_path, "good.json", {"name": "Zo\u00eb", "re": r"\cJ\p{Lu}"})
    bad = write(tmp_path, "bad.json", {"name": "Zo\u00eb1", "re": "(?<x"})
    code, out, err = run_cli(capsys, "validate", "--schema", schema, good, bad)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"{bad}: $.name: 'Zo\u00eb1' does not match '^\\\\p{{Letter}}+$'",
        f"{bad}: $.re: '(?<x' is not a 'regex' (invalid ECMA-262 regex '(?<x': Invalid token "
        "at named capture group identifier)",
        "1 valid, 1 invalid",
    ]


def test_malformed_ecma_pattern_is_reported_with_its_pointer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = write(
        tmp_path,
        "s.json",
        {"properties": {"a": {"pattern": "("}, "b": {"pattern": r"\p{Letter"}},
         "patternProperties": {"[": {}}},  # fmt: skip
    )
    code, out, err = run_cli(capsys, "check-schema", schema)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"{schema}: #/patternProperties: '[' is not a 'regex' "
        "(invalid ECMA-262 regex '[': Unbalanced bracket)",
        f"{schema}: #/properties/a/pattern: '(' is not a 'regex' "
        "(invalid ECMA-262 regex '(': Unbalanced parenthesis)",
        f"{schema}: #/properties/b/pattern: '\\\\p{{Letter' is not a 'regex' "
        "(invalid ECMA-262 regex '\\\\p{Letter': Invalid property name)",
        "0 valid, 1 invalid",
    ]


def test_bad_patterns_are_schema_errors_with_their_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # draft-04's metaschema does not say that patternProperties keys are regexes: checked anyway
    schema = write(
        tmp_path,
        "s.json",
        {"$schema": "http://json-schema.org/draft-04/schema#", "patternProperties": {"(": {}}},
    )
    doc = write(tmp_path, "d.json", {"x": "a"})
    code, out, err = run_cli(capsys, "validate", "--schema", schema, doc)
    assert (code, out) == (2, "")
    assert err == (
        f"structgen validate: error: invalid schema {schema} (draft-04):\n"
        f"  {schema}: #/patternProperties/(: invalid ECMA-262 regex '(': Unbalanced parenthesis\n"
    )
    assert check_schema({"patternProperties": {"(": {}}, "properties": {"x": {"pattern": "a{"}}},
                        draft="4") == [
        Issue("<schema>", "#/patternProperties/(",
              "invalid ECMA-262 regex '(': Unbalanced parenthesis"),
    ]  # fmt: skip


def test_lone_surrogates_are_reported_not_crashed_on() -> None:
    validator = DocumentValidator({"pattern": "a", "patternProperties": {"b": False}})
    assert validator.is_valid("xa") and validator.is_valid({"c": 1})
    issues = [str(issue) for issue in validator.issues("\ud800a", source="d")]
    assert issues == [
        "d: $: invalid ECMA-262 regex 'a': cannot be searched in '\\ud800a', which holds a lone "
        "surrogate"
    ]
    assert not validator.is_valid({"\udc00": 1})


@pytest.mark.parametrize(
    ("pattern", "text"),
    [(r"^(?=.*\d)\w+$", "ab\u00e71"), (r"^(?!a)[\w]+$", "\u00e9t\u00e9")],
)
def test_validate_rejects_what_ecma_rejects_through_the_cli(
    tmp_path: Path, pattern: str, text: str
) -> None:
    schema = write(tmp_path, "s.json", {"pattern": pattern})
    doc = write(tmp_path, "doc.json", json.dumps(text))
    run = subprocess.run(
        [sys.executable, "-m", "structgen.cli.main", "validate", "--schema", schema, doc],
        capture_output=True, text=True, encoding="utf-8", cwd=REPO, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert run.stdout.splitlines() == [
        f"{doc}: $: {text!r} does not match {pattern!r}",
        "0 valid, 1 invalid",
    ]


def test_iri_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    validator = DocumentValidator(
        {"properties": {"i": {"format": "iri"}, "r": {"format": "iri-reference"}}}
    )
    assert validator.unchecked_formats == ()
    iri = "http://\u4f8b\u3048.jp/\u30d1\u30b9?q=\u00fc"
    assert validator.is_valid({"i": iri, "r": iri}) and validator.is_valid({"r": "//\u4f8b/x"})
    assert [str(issue) for issue in validator.issues(
        {"i": "http://exa mple.com", "r": "http://exa mple.com"}, source="d"
    )] == [
        "d: $.i: 'http://exa mple.com' is not a 'iri'",
        "d: $.r: 'http://exa mple.com' is not a 'iri-reference'",
    ]  # fmt: skip
    assert not validator.is_valid({"i": "//\u4f8b/x"})  # a relative reference is not an IRI


# --------------------------------------------------------------------------- library


def test_library_helpers() -> None:
    assert json_path(["a", 0, "b c", "d.e", "_x1"]) == '$.a[0]["b c"]["d.e"]._x1'
    assert json_pointer(["properties", "a/b", "c~d", 0]) == "#/properties/a~1b/c~0d/0"
    assert json_pointer([]) == "#"
    assert check_schema(True) == [] and check_schema({"type": "integer"}) == []
    for error_type in (JSONFileError, InvalidSchemaError, SchemaReferenceError):
        assert issubclass(error_type, StructgenError) and issubclass(error_type, ValueError)
    with pytest.raises(JSONFileError, match=r"^doc:4:6: invalid JSON"):
        parse_json('{"a": 1,\n "b" 2}\n', source="doc", line=3)  # positions shift by the line
    with pytest.raises(
        JSONFileError, match=r"^f:1:8: not valid UTF-8 \(byte 0xff at byte offset 7\)"
    ):
        parse_json(b'{"a": "\xff"}', source="f")
    assert parse_json(b'\xef\xbb\xbf{"a": "\\u2028"}') == {"a": "\u2028"}


# --------------------------------------------------------------------------- real processes


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def test_subprocess_exit_codes(tmp_path: Path, schema: str) -> None:
    good_schema = write(tmp_path, "good.json", {"type": "integer"})
    command = [sys.executable, "-m", "structgen.cli"]
    done = subprocess.run(
        [*command, "validate", "--schema", schema, "-"],
        input='{"name": "x", "age": -1}',
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == "<stdin>: $.age: -1 is less than the minimum of 0\n0 valid, 1 invalid\n"
    bad_schema = write(tmp_path, "bad.json", {"type": 12})
    done = subprocess.run(
        [*command, "check-schema", good_schema, bad_schema],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(
        f"{bad_schema}: #/type: 12 is not valid under any of the given schemas"
    )


def test_commands_never_import_torch_or_transformers(tmp_path: Path, schema: str) -> None:
    doc = write(tmp_path, "d.json", {"name": "x"})
    script = (
        "import sys\n"
        "from structgen.cli.main import main\n"
        f"codes = (main(['validate', '-q', '--schema', {schema!r}, {doc!r}]),\n"
        f"         main(['check-schema', '-q', {schema!r}]))\n"
        "heavy = sorted(m for m in ('torch', 'transformers') if m in sys.modules)\n"
        "print(codes, heavy)\n"
        "sys.exit(0 if codes == (0, 0) and not heavy else 1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "(0, 0) []\n"
