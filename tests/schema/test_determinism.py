"""The schema compiler gives the same grammar, warnings and error messages in every process.

Each case is compiled in three subprocesses with different ``PYTHONHASHSEED`` values (so that
set iteration over strings changes) and several times in one process, on fresh copies of the
schema after freeing many small objects in a shuffled order (so that the ``id()`` order of the
schema's and the compiler's objects changes): the
terminals and rules (in their order), the warnings (in their order) and the error message must
all be the same. The cases are schemas whose compile once depended on ``id()`` order (the
conjuncts of a schema node were sorted by the ``repr`` of their ``id()``): the number of
warnings, the order of the branches named in a warning and the grammar's rules changed from
run to run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from structgen.schema import SchemaError, schema_to_grammar

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"

# Two keys' value schemas meet on the key "a" (properties and patternProperties), each an anyOf:
# the warnings name one branch of each, in an order that must not depend on where they live.
_MEETING_ANY_OFS = {
    "type": "object",
    "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
    "patternProperties": {"^a": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}},
}

CASES: dict[str, Any] = {
    "allOfPProp9": DATA / "not-multiples" / "allOfPProp9.json",
    "o64859": DATA / "determinism" / "o64859.json",
    "meeting-anyOfs": _MEETING_ANY_OFS,
}

OPTIONS: dict[str, dict[str, Any]] = {
    "defaults": {},  # what MaskBench runs with (whitespace='flexible', property_order='any')
    "lenient-ordered-compact": {
        "lenient": True,
        "property_order": "schema",
        "whitespace": "compact",
    },
}


def _schema(case: str, *, backwards: bool = False) -> Any:
    """A fresh copy of ``case``; ``backwards``: its subschemas built last to first, so that
    their ``id()`` order is (most often) the reverse of the text's."""
    source = CASES[case]
    value = json.loads(source.read_text(encoding="utf-8")) if isinstance(source, Path) else source
    return _built_backwards(value) if backwards else copy.deepcopy(value)


def _built_backwards(value: Any) -> Any:
    if isinstance(value, dict):
        made = {key: _built_backwards(value[key]) for key in reversed(list(value))}
        return {key: made[key] for key in value}
    if isinstance(value, list):
        return [_built_backwards(item) for item in reversed(value)][::-1]
    return value


def outcome(case: str, options: str, *, backwards: bool = False) -> dict[str, Any]:
    """What a compile of ``case`` under ``options`` shows: a digest of the terminals and rules
    in their order, the warnings in their order, or the error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            schema = _schema(case, backwards=backwards)
            grammar = schema_to_grammar(schema, **OPTIONS[options])
        except SchemaError as error:
            return {"error": f"{type(error).__name__}: {error}", "warned": _texts(caught)}
    listing = {
        "terminals": [
            [t.name, t.pattern, t.literal, t.leftmost] for t in grammar.terminals.values()
        ],
        "rules": [[rule.lhs, *rule.rhs] for rule in grammar.rules],
        "start": grammar.start,
        "ignore": list(grammar.ignore),
    }
    text = json.dumps(listing, ensure_ascii=True)
    return {
        "grammar": hashlib.sha256(text.encode("ascii")).hexdigest(),
        "fingerprint": grammar.fingerprint(),
        "rules": len(grammar.rules),
        "warnings": list(grammar.warnings),
        "warned": _texts(caught),
    }


def _texts(caught: list[warnings.WarningMessage]) -> list[str]:
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def _all_outcomes() -> dict[str, dict[str, Any]]:
    return {f"{case} {options}": outcome(case, options) for case in CASES for options in OPTIONS}


def _in_subprocess(seed: str) -> dict[str, dict[str, Any]]:
    script = (
        "import json; from tests.schema.test_determinism import _all_outcomes; "
        "print(json.dumps(_all_outcomes()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_the_same_in_processes_with_different_hash_seeds() -> None:
    first, *others = (_in_subprocess(seed) for seed in ("0", "1", "4242"))
    assert set(first) == {f"{c} {o}" for c in CASES for o in OPTIONS}
    for other in others:
        for key, seen in first.items():
            assert other[key] == seen, key


@pytest.mark.parametrize("options", sorted(OPTIONS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_on_every_compile_in_one_process(case: str, options: str) -> None:
    first = outcome(case, options)
    for seed in range(6):
        _scatter_heap(seed)
        assert outcome(case, options, backwards=seed % 2 == 0) == first, seed


def _scatter_heap(seed: int) -> None:
    """Free many small dicts in a shuffled order, so that the next ones (a schema's, and those
    the compiler makes) get addresses, hence ``id()`` s, in an order of ``seed``'s choosing."""
    blocks = [{"block": i} for i in range(20_000)]
    random.Random(seed).shuffle(blocks)
    blocks.clear()


def test_dropped_branch_pairs_are_named_in_one_order() -> None:
    """The dropped combinations of two anyOf branches are named the same way every time, and
    exactly those whose types do not meet (string × integer, string × boolean, integer ×
    boolean) are dropped."""
    seen = outcome("meeting-anyOfs", "defaults")
    dropped = [w for w in seen["warnings"] if w.endswith("is unsatisfiable: dropped")]
    pairs = []
    for message in dropped:
        named = message.removesuffix(" is unsatisfiable: dropped").split(" and ")
        assert all(part.startswith("anyOf branch #/") for part in named), message
        pairs.append(tuple(part.removeprefix("anyOf branch ") for part in named))
    types = {
        "#/properties/a/anyOf/0": "string",
        "#/properties/a/anyOf/1": "integer",
        "#/patternProperties/^a/anyOf/0": "integer",
        "#/patternProperties/^a/anyOf/1": "boolean",
    }
    assert sorted(sorted(types[p] for p in pair) for pair in pairs) == [
        ["boolean", "integer"],
        ["boolean", "string"],
        ["integer", "string"],
    ]
    orders = {tuple(p.split("/")[1] for p in pair) for pair in pairs}
    assert len(orders) == 1, f"the branches are named in different orders: {dropped}"
