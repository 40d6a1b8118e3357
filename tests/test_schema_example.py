"""``structgen.schema.example_instance`` and ``structgen example``: instances without a model.

The oracle is ``jsonschema`` itself (with its format checker), never our own validator; the
JSON Schema Test Suite's own labels check the schemas we call unsatisfiable.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from structgen.cli.main import main
from structgen.errors import ConfigurationError, LimitExceededError
from structgen.regex import parse_regex, regex_to_dfa
from structgen.schema import (
    SchemaError,
    SchemaWarning,
    UnsatisfiableSchemaError,
    UnsupportedSchemaError,
    example_instance,
)
from structgen.schema.example import ExampleGenerator, NoExampleError, _RegexTexts
from structgen.validation import check_schema
from tests.helpers.regex_strategies import regexes
from tests.helpers.schema_conformance import file_id, suite_files
from tests.helpers.schema_strategies import instances, schemas

ROOT = Path(__file__).resolve().parent.parent
PERSON = ROOT / "examples" / "schemas" / "person.json"
EXACT = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def oracle_errors(schema, value) -> list[str]:
    """What ``jsonschema`` (formats asserted) finds wrong with ``value``.

    Patterns Python's ``re`` cannot read (ECMA-262 only: ``\\p{…}``, ``\\cX``) go through
    ``structgen.validation`` instead, which runs jsonschema with ECMA pattern semantics.
    """
    cls = validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    try:
        return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
    except re.error:
        from structgen.validation import DocumentValidator

        return [str(issue) for issue in DocumentValidator(schema).issues(value)]


def assert_valid(schema, value) -> None:
    errors = oracle_errors(schema, value)
    assert not errors, f"{json.dumps(value)} is invalid against {json.dumps(schema)}: {errors}"


def derive_quietly(schema, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaWarning)
        return ExampleGenerator(schema, **options)


# ------------------------------------------------------------------------------ the library


def test_minimal_instances_are_the_shortest_values():
    assert example_instance({"type": "string", "minLength": 3}) == "aaa"
    assert example_instance({"type": "integer", "minimum": 5, "multipleOf": 7}) == 7
    assert example_instance({"enum": ["long text", 10, None]}) == 10
    assert example_instance(PERSON) == {"name": "a", "born": 1000, "occupation": ""}
    assert example_instance(True) == 0


def test_seeds_are_reproducible_varied_and_valid():
    schema = json.loads(PERSON.read_text())
    generator = ExampleGenerator(schema)
    values = [generator.instance(seed) for seed in range(12)]
    for value in values:
        assert_valid(schema, value)
    assert len({json.dumps(v, sort_keys=True) for v in values}) >= 8
    assert values == [example_instance(schema, seed=seed) for seed in range(12)]
    assert any("languages" in v for v in values) and any("languages" not in v for v in values)


def test_recursive_schema_stays_bounded():
    tree = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["value", "children"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/node",
    }
    assert example_instance(tree) == {"value": 0, "children": []}
    generator = ExampleGenerator(tree, max_depth=20, max_nodes=200)
    texts = [json.dumps(generator.instance(seed)) for seed in range(20)]
    assert max(len(text) for text in texts) < 20_000
    assert any('"children": [{' in text for text in texts)  # random ones do nest
    for text in texts:
        assert_valid(tree, json.loads(text))


def test_long_chains_do_not_recurse():
    schema = {"type": "array", "minItems": 900, "items": {"type": "boolean"}}
    value = example_instance(schema, seed=1)
    assert len(value) >= 900
    assert_valid(schema, value)


def test_unsatisfiable_and_unsupported_schemas_raise_clearly():
    with pytest.raises(UnsatisfiableSchemaError, match="no number satisfies the bounds"):
        example_instance({"type": "integer", "minimum": 5, "maximum": 3})
    with pytest.raises(UnsatisfiableSchemaError, match=r"#/allOf/1 is false"):
        example_instance({"allOf": [True, False]})
    with pytest.raises(UnsupportedSchemaError, match=r"uniqueItems at #/uniqueItems"):
        example_instance({"uniqueItems": True})
    with pytest.raises(SchemaError, match=r"at #/type"):
        example_instance({"type": "strnig"})
    with pytest.raises(ConfigurationError, match="max_depth must be a positive int"):
        example_instance({}, max_depth=0)


def test_an_approximate_grammar_is_retried_never_returned_invalid():
    items = {"type": "integer", "minimum": 1, "maximum": 2}  # not an enum: uniqueItems inexact
    schema = {"type": "array", "minItems": 2, "uniqueItems": True, "items": items}
    generator = derive_quietly(schema, lenient=True)
    assert generator.grammar.warnings
    assert json.loads(generator.text()) == [1, 1]  # the minimal derivation is not valid…
    value = generator.instance()  # …so other seeds are tried
    assert sorted(value) == [1, 2]
    assert_valid(schema, value)
    impossible = {**schema, "minItems": 3}
    with pytest.raises(NoExampleError, match=r"approximate: .*uniqueItems.*non-unique"):
        derive_quietly(impossible, lenient=True, max_attempts=5).instance()


def test_an_ecma_only_pattern_gets_an_instance():
    # \p{Letter} is ECMA-262, not Python re: validation runs it with ECMA semantics.
    for seed in (None, 1, 2):
        value = example_instance({"type": "string", "pattern": "^\\p{Letter}+$"}, seed=seed)
        assert value and all(unicodedata.category(c).startswith("L") for c in value), value


@EXACT
@given(schema=schemas(), seed=st.integers(0, 2**32), data=st.data())
def test_examples_of_generated_schemas_validate(schema, seed, data):
    try:
        generator = derive_quietly(schema)
    except UnsatisfiableSchemaError:
        # Then no candidate drawn towards the schema may validate.
        for _ in range(5):
            candidate = instances(data.draw, schema)
            assert oracle_errors(schema, candidate), f"{candidate!r} validates {schema}"
        return
    except UnsupportedSchemaError as error:
        assert re.search(r"[a-zA-Z]+ at #", str(error)), str(error)
        return
    for value in (generator.instance(), generator.instance(seed)):
        assert_valid(schema, value)


@EXACT
@given(pattern=regexes(), seed=st.integers(0, 2**32))
def test_regex_strings_match_the_regex_and_its_dfa(pattern, seed):
    import random

    node = parse_regex(pattern)
    texts = _RegexTexts()
    dfa = regex_to_dfa(pattern)
    shortest = texts.shortest(node)
    sampled = texts.sample(node, random.Random(seed))
    for text in (shortest, sampled):
        assert re.fullmatch(pattern, text, re.ASCII), (pattern, text)
        assert dfa.fullmatch(text.encode("utf-8")), (pattern, text)
    assert len(shortest) == texts.min_length(node) <= len(sampled)


SUITE_FILES = suite_files("draft2020-12")


@pytest.mark.parametrize("path", SUITE_FILES, ids=[file_id(p) for p in SUITE_FILES])
def test_suite_schemas_get_valid_examples(path):
    """Every suite schema that compiles gets valid instances (minimal and seeded); one we call
    unsatisfiable has no valid test instance; one the validator cannot use is refused."""
    for group in json.loads(path.read_text(encoding="utf-8")):
        schema, label = group["schema"], group["description"]
        try:
            generator = derive_quietly(schema)
        except UnsatisfiableSchemaError:
            assert not any(test["valid"] for test in group["tests"]), label
            continue
        except NoExampleError as error:
            assert "the validator cannot check" in str(error), label
            assert check_schema(schema), label
            continue
        except (UnsupportedSchemaError, SchemaError, LimitExceededError) as error:
            assert re.search(r"at #|\$ref", str(error)), (label, str(error))
            continue
        for seed in (None, 1, 2):
            assert_valid(schema, generator.instance(seed))


# ------------------------------------------------------------------------------ the command


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["example", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_schema(tmp_path: Path, schema) -> str:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    return str(path)


def test_cli_prints_one_valid_instance(capsys):
    code, out, err = run_cli(capsys, "--schema", str(PERSON))
    assert (code, err) == (0, "")
    assert json.loads(out) == {"name": "a", "born": 1000, "occupation": ""}
    assert out.count("\n") == 1


def test_cli_indent_and_seed(capsys):
    code, out, _ = run_cli(capsys, "--schema", str(PERSON), "--seed", "7", "--indent", "2")
    assert code == 0
    assert out.startswith("{\n  ")
    assert json.loads(out) == example_instance(PERSON, seed=7)


def test_cli_count_gives_json_lines(capsys):
    code, out, _ = run_cli(capsys, "--schema", str(PERSON), "--count", "5", "--seed", "10")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 5
    values = [json.loads(line) for line in lines]
    assert values == [example_instance(PERSON, seed=seed) for seed in range(10, 15)]
    schema = json.loads(PERSON.read_text())
    for value in values:
        assert_valid(schema, value)


def test_cli_unsatisfiable_schema_exits_2(capsys, tmp_path):
    path = write_schema(tmp_path, {"type": "integer", "minimum": 5, "maximum": 3})
    code, out, err = run_cli(capsys, "--schema", path)
    assert (code, out) == (2, "")
    unsatisfiable = r"structgen example: error: the schema is unsatisfiable: .*no number satisfies"
    assert re.fullmatch(unsatisfiable + r".*\n", err), err


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"type": "strnig"}', r"invalid JSON Schema .*\(at #/type\)"),
        ('{"type": ', r"invalid JSON: Expecting value"),
        ("[1, 2]", r"a JSON Schema is an object or a boolean, got list"),
    ],
)
def test_cli_bad_schema_is_one_line(capsys, tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, "--schema", str(path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and re.search(message, err), err


def test_cli_unsupported_keyword_suggests_lenient(capsys, tmp_path):
    items = {"type": "integer", "minimum": 1, "maximum": 2}  # not an enum: uniqueItems inexact
    schema = {"type": "array", "minItems": 2, "uniqueItems": True, "items": items}
    path = write_schema(tmp_path, schema)
    code, out, err = run_cli(capsys, "--schema", path)
    assert (code, out) == (2, "")
    assert "uniqueItems at #/uniqueItems" in err and "pass --lenient" in err
    code, out, err = run_cli(capsys, "--schema", path, "--lenient")
    assert code == 0 and sorted(json.loads(out)) == [1, 2]
    assert "warning: not enforced (lenient): uniqueItems" in err


def test_cli_indent_with_count_is_refused(capsys):
    code, out, err = run_cli(capsys, "--schema", str(PERSON), "--count", "2", "--indent", "2")
    assert (code, out) == (2, "")
    assert "--indent needs --count 1" in err


def test_cli_reads_the_schema_from_stdin_and_loads_no_model():
    script = (
        "import sys\n"
        "from structgen.cli.main import main\n"
        "code = main(['example', '--schema', '-', '--count', '2'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))\n"
        "print(heavy, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=PERSON.read_text(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "[]"
    assert len(done.stdout.splitlines()) == 2
