"""Schema inputs (issue 10, findings 14–16): text is text, files come as paths and are read by
one function (BOM accepted, non-UTF-8 a named error), and the CLI converts its path arguments;
``structgen example | head -1`` ends like any Unix tool whose reader went away."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from structgen.cli.main import EXIT_BROKEN_PIPE, build_parser, main
from structgen.generation import generate
from structgen.runtime.compiler import compile_json_schema
from structgen.schema import SchemaError, schema_to_grammar
from structgen.schema.loading import load_schema, read_schema_file
from tests.helpers.synthetic_vocab import synthetic_vocabulary

REPO = Path(__file__).resolve().parents[1]
SECRET = "s3cr3t-value-0451"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A JSON file that is not a schema, holding a value no error may echo."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"password": SECRET, "type": SECRET}), encoding="utf-8")
    return path


def test_a_string_naming_a_file_is_text_not_a_file(secret_file: Path) -> None:
    with pytest.raises(SchemaError, match="never read as a file") as caught:
        load_schema(str(secret_file))
    assert SECRET not in str(caught.value)
    with pytest.raises(SchemaError) as caught:
        compile_json_schema(str(secret_file), synthetic_vocabulary())
    assert SECRET not in str(caught.value)
    with pytest.raises(SchemaError, match="never read as a file"):
        schema_to_grammar("/etc/passwd")


def test_reading_errors_do_not_echo_file_contents(secret_file: Path) -> None:
    """(A schema passed as a path on purpose is still quoted where the metaschema rejects it.)"""
    (secret_file.parent / "list.json").write_text(json.dumps([SECRET]), encoding="utf-8")
    with pytest.raises(SchemaError, match="object or a boolean") as caught:
        load_schema(secret_file.parent / "list.json")
    assert SECRET not in str(caught.value)
    (secret_file.parent / "bad.json").write_text('{"x": "' + SECRET + '" "y"}', encoding="utf-8")
    with pytest.raises(SchemaError, match=r"bad\.json:1:\d+: invalid JSON") as caught:
        load_schema(secret_file.parent / "bad.json")
    assert SECRET not in str(caught.value)


def test_files_come_as_paths_or_path_keyword(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"type": "integer"}', encoding="utf-8")
    assert load_schema(path) == {"type": "integer"}
    assert load_schema(path=path) == load_schema(path=str(path)) == {"type": "integer"}
    assert load_schema('{"type": "integer"}') == {"type": "integer"}
    with pytest.raises(SchemaError, match="not both"):
        load_schema({"type": "integer"}, path=path)
    with pytest.raises(SchemaError, match="is a directory"):
        load_schema(tmp_path)


def test_bom_prefixed_schema_works_for_generation_and_validation(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf{"type": "string", "maxLength": 3}')
    assert load_schema(path) == {"type": "string", "maxLength": 3}
    assert load_schema("\ufeff" + '{"type": "string"}') == {"type": "string"}
    assert (
        schema_to_grammar(path).fingerprint()
        == schema_to_grammar({"type": "string", "maxLength": 3}).fingerprint()
    )
    doc = tmp_path / "doc.json"
    doc.write_text('"abc"', encoding="utf-8")
    assert main(["validate", "-q", "--schema", str(path), str(doc)]) == 0


def test_non_utf8_schema_is_a_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"description": "caf\xe9", "type": "string"}')
    with pytest.raises(
        SchemaError, match=r"latin1\.json:1:21: not valid UTF-8 \(byte 0xe9 at byte offset 20\)"
    ):
        read_schema_file(path)
    for argv in (
        ["validate", "--schema", str(path), str(path)],
        ["check-schema", str(path)],
        ["example", "--schema", str(path)],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "byte offset 20" in err and "latin1.json" in err and "Traceback" not in err


def test_cli_schema_arguments_are_paths() -> None:
    parser = build_parser()
    for argv in (
        ["generate", "--schema", "s.json", "prompt"],
        ["validate", "--schema", "s.json", "doc.json"],
        ["example", "--schema", "s.json"],
    ):
        assert isinstance(parser.parse_args(argv).schema, Path)
    assert all(isinstance(p, Path) for p in parser.parse_args(["check-schema", "a", "b"]).schemas)


def test_cli_stdin_is_still_read_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema", "-", "-"]) == 2
    assert "read only once" in capsys.readouterr().err
    assert main(["check-schema", "-", "-"]) == 2


def test_example_into_a_closed_pipe_exits_141(tmp_path: Path) -> None:
    schema = tmp_path / "int.json"
    schema.write_text('{"type": "integer"}', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "structgen.cli", "example", "--schema", str(schema),
         "--count", "200000", "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # `| head -1`
    code = process.wait(timeout=300)
    err = process.stderr.read().decode()
    process.stderr.close()
    assert json.loads(first) is not None
    assert code == EXIT_BROKEN_PIPE, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_generate_reads_schema_paths_before_any_model(tmp_path: Path) -> None:
    """The schema is read (once) and refused before a model would be loaded."""
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"description": "caf\xe9"}')
    with pytest.raises(SchemaError, match="byte offset 20"):
        generate("p", schema=path, model=object())
    with pytest.raises(SchemaError, match="never read as a file"):
        generate("p", schema=str(path), model=object())
