"""The scripts in ``examples/`` run and print what their README says.

``validate_pipeline.sh`` needs no model; one model-based example (the cheapest) runs end to end
and its output is checked with pydantic and ``jsonschema``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PERSON = json.loads((EXAMPLES / "schemas" / "person.json").read_text(encoding="utf-8"))


def structgen_command() -> str:
    """The ``structgen`` script of the interpreter running the tests."""
    script = Path(sys.executable).with_name("structgen")
    found = str(script) if script.exists() else shutil.which("structgen")
    assert found, "the structgen command is not installed next to the interpreter"
    return found


def test_validate_pipeline_script():
    done = subprocess.run(
        ["sh", str(EXAMPLES / "validate_pipeline.sh")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "STRUCTGEN": structgen_command()},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[1] == "1 valid, 0 invalid"
    assert json.loads(lines[2]) == {"name": "a", "born": 1000, "occupation": ""}
    # Five random instances as JSON Lines, each valid against the schema.
    start = lines.index(
        "2. five random instances as JSON Lines, validated line by line (-q: problems only):"
    )
    people = [json.loads(line) for line in lines[start + 1 : start + 6]]
    validator = Draft202012Validator(PERSON)
    assert all(validator.is_valid(person) for person in people)
    assert len({json.dumps(p, sort_keys=True) for p in people}) == 5
    assert lines[start + 6] == "all 5 valid"
    text = done.stdout
    assert (
        "bad.json: $: 'occupation' is a required property\n"
        "bad.json: $.born: 3000 is greater than the maximum of 2025\n"
        "bad.json: $.name: '' should be non-empty\n"
        "0 valid, 1 invalid\n"
        "exit status 1\n"
    ) in text
    assert "one.json: ok\n" in text and "bad.json: rejected\n" in text
    assert text.endswith(
        "structgen example: error: the schema is unsatisfiable: #: no number satisfies the "
        "bounds (at #)\nexit status 2\n"
    )


def load_example(name: str):
    """Import ``examples/<name>.py`` (its ``main()`` runs only as ``__main__``)."""
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the string annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_extract_pydantic_example_end_to_end():
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "extract_pydantic.py"), "--max-new-tokens", "60"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        # One torch thread: on a small shared CPU, more threads only fight each other.
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    first, last = done.stdout.strip().splitlines()
    assert first.startswith("Person instance: Person(name=")
    person_class = load_example("extract_pydantic").Person
    person = person_class.model_validate_json(last)  # pydantic's verdict
    Draft202012Validator(person_class.model_json_schema()).validate(json.loads(last))
    assert 1000 <= person.born <= 2025
    assert person.occupation in ("mathematician", "writer", "engineer", "scientist", "other")
