"""Objects whose conditions tie more keys than a set of keys seen can track: the product of
minimal per-group machines (:mod:`structgen.schema.presence_classes`) accepts a serialised
object exactly when ``jsonschema`` says it is valid, and the machine itself accepts exactly the
move sequences whose final key set a brute-force check accepts."""

from __future__ import annotations

import copy
import itertools
import json
import time
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, Draft7Validator, validators

from structgen.errors import LimitExceededError
from structgen.schema import SchemaWarning, UnsupportedSchemaError, schema_to_grammar
from structgen.schema.presence_classes import Conjunct, class_machine
from tests.test_schema_grammar import accepts, compiled

DATA = Path(__file__).resolve().parent.parent / "data" / "presence-classes"


def _filespec() -> dict:
    """filespec-schema without its ``uniqueItems`` (an array family of its own)."""
    schema = json.loads((DATA / "filespec-schema.json").read_text(encoding="utf-8"))
    schema = copy.deepcopy(schema)
    del schema["properties"]["files"]["uniqueItems"]
    return schema


@cache
def _compiled(text: str):
    return compiled(json.loads(text))


_FILE_KEYS = [
    "pattern", "aql", "build", "bundle", "limit", "offset", "exclusions", "props",
    "targetProps", "excludeProps", "recursive", "regexp", "archiveEntries",
    "excludeArtifacts", "includeDeps", "target", "flat", "other",
]  # fmt: skip
_FILE_VALUES = {
    "aql": {"items.find": {"repo": "r"}},
    "limit": 3,
    "offset": 0,
    "exclusions": ["*.md5"],
    "recursive": "true",
    "excludeArtifacts": "false",
    "includeDeps": "true",
    "flat": "false",
}


def _file(keys: list[str]) -> dict:
    return {k: _FILE_VALUES.get(k, "x") for k in keys}


def test_filespec_compiles_under_the_default_limit_quickly():
    started = time.perf_counter()
    _compiled(json.dumps(_filespec(), sort_keys=True))
    assert time.perf_counter() - started < 5.0


@settings(deadline=None)  # the first example compiles the schema
@given(files=st.lists(st.lists(st.sampled_from(_FILE_KEYS), unique=True, max_size=9), max_size=2))
def test_filespec_files_against_jsonschema(files):
    schema = _filespec()
    constraint = _compiled(json.dumps(schema, sort_keys=True))
    document = {"files": [_file(keys) for keys in files]}
    assert accepts(constraint, document) == Draft7Validator(schema).is_valid(document), document


def test_filespec_known_objects():
    schema = _filespec()
    constraint = _compiled(json.dumps(schema, sort_keys=True))
    oracle = Draft7Validator(schema)
    cases = [
        ["pattern"], ["pattern", "aql"], ["aql", "props"], ["build", "bundle", "limit"],
        ["build", "bundle", "limit", "offset"], ["excludeArtifacts", "bundle"],
        ["excludeArtifacts", "build"], [], ["aql", "exclusions", "props", "targetProps",
        "excludeProps", "recursive", "regexp", "archiveEntries"],
    ]  # fmt: skip
    for keys in cases:
        document = {"files": [_file(keys)]}
        assert accepts(constraint, document) == oracle.is_valid(document), keys


def _chain_schema() -> dict:
    """Twelve of fourteen keys in three groups tied by dependencies, one dependency on a value
    class (a strict key): past the set machine's limit, a product of three small machines."""
    names = [f"k{i}" for i in range(14)]
    dependencies: dict = {
        names[i]: {"not": {"required": [names[i + 1], names[i + 2]]}} for i in range(0, 9, 3)
    }
    dependencies["k13"] = {"required": ["k12"]}
    dependencies["k11"] = {"required": ["k12"]}
    dependencies["k1"] = {"properties": {"k3": {"type": "integer"}}}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {name: {"type": ["integer", "string"]} for name in names},
        "additionalProperties": False,
        "dependencies": dependencies,
        "anyOf": [{"required": ["k0"]}, {"required": ["k5"]}],
    }


@settings(deadline=None)
@given(
    members=st.dictionaries(
        st.sampled_from([f"k{i}" for i in range(14)] + ["z"]),
        st.sampled_from([1, "s"]),
        max_size=8,
    )
)
def test_chained_dependencies_against_jsonschema(members):
    schema = _chain_schema()
    constraint = _compiled(json.dumps(schema, sort_keys=True))
    assert accepts(constraint, members) == Draft7Validator(schema).is_valid(members), members


def test_many_dependent_required_keys_are_exact_now():
    """Past the set machine's limit, dependentRequired was unsupported; now it is exact."""
    names = [f"p{i}" for i in range(14)]
    schema = {
        "type": "object",
        "properties": {name: {"type": "integer"} for name in names},
        "dependentRequired": {names[i]: [names[i + 1]] for i in range(0, 13, 3)},
        "required": ["p0"],
    }
    constraint = _compiled(json.dumps(schema, sort_keys=True))
    oracle = validators.validator_for(schema)(schema)
    for size in range(0, 4):
        for keys in itertools.combinations(names[:8], size):
            document = dict.fromkeys(keys, 1)
            assert accepts(constraint, document) == oracle.is_valid(document), document


# -- the machine against brute force ------------------------------------------------------------
def _brute(conjuncts, moves, sequence) -> bool:
    seen, used = 0, 0
    for index in sequence:
        adds, strict = moves[index]
        if strict & used:
            return False
        used |= adds
        seen |= adds
    return all(c.holds(seen) for c in conjuncts)


def _runs(machine, sequence) -> bool:
    state = machine.start
    for index in sequence:
        targets = [t for i, t in machine.transitions.get(state, []) if i == index]
        if not targets:
            return False
        state = targets[0]
    return state in machine.final


_CONJUNCT_KINDS = ["some", "none", "implies", "not_all"]


@st.composite
def _problems(draw):
    bits = 6
    conjuncts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(_CONJUNCT_KINDS))
        a = 1 << draw(st.integers(0, bits - 1))
        group = sum(1 << b for b in draw(st.sets(st.integers(0, bits - 1), min_size=1, max_size=3)))
        if kind == "some":
            conjuncts.append(Conjunct(a, lambda s, a=a: bool(s & a)))
        elif kind == "none":
            conjuncts.append(Conjunct(a, lambda s, a=a: not s & a))
        elif kind == "implies":
            conjuncts.append(Conjunct(a | group, lambda s, a=a, g=group: not s & a or g & ~s == 0))
        else:
            conjuncts.append(Conjunct(group, lambda s, g=group: bool(g & ~s)))
    moves = []
    for bit in range(bits):
        strict = draw(st.booleans())
        moves.append((1 << bit, (1 << bit) if strict else 0))
    moves.append((0, 0))  # a region key: changes nothing
    return conjuncts, moves


@pytest.mark.parametrize("max_subsets", [4096, 4])
@given(problem=_problems())
def test_machine_matches_brute_force(problem, max_subsets):
    """Whole groups minimised, or (``max_subsets=4``) one machine per conjunct and the product
    minimised."""
    conjuncts, moves = problem
    machine = class_machine(conjuncts, moves, limit=4096, pointer="#", max_subsets=max_subsets)
    for length in range(0, 4):
        for sequence in itertools.product(range(len(moves)), repeat=length):
            assert _runs(machine, sequence) == _brute(conjuncts, moves, sequence), sequence


def test_independent_groups_stay_small():
    """Twelve keys in six independent pairs, each "not both": 3^6 classes, not 2^12 sets."""
    conjuncts = [Conjunct(3 << (2 * i), lambda s, g=3 << (2 * i): g & ~s != 0) for i in range(6)]
    moves = [(1 << b, 0) for b in range(12)]
    machine = class_machine(conjuncts, moves, limit=4096, pointer="#")
    assert len(machine.transitions) == 3**6
    with pytest.raises(LimitExceededError, match="#/here"):
        class_machine(conjuncts, moves, limit=100, pointer="#/here")


def test_one_group_past_the_limit_falls_back_as_before():
    """dependentRequired tying fourteen keys in one group: unsupported (lenient: a warning and
    the keys in schema order), as before the product machines."""
    names = [f"p{i}" for i in range(14)]
    schema = {
        "type": "object",
        "properties": {name: {"type": "integer"} for name in names},
        "dependentRequired": {names[i]: [names[i + 1]] for i in range(13)},
    }
    with pytest.raises(UnsupportedSchemaError, match="dependentRequired"):
        schema_to_grammar(schema)
    with pytest.warns(SchemaWarning):
        schema_to_grammar(schema, lenient=True)


_FMRIPREP_KEYS = {
    "bids_dir": "d",
    "output_dir": "o",
    "analysis_level": "group",
    "func_preproc_desc": "x",
    "func_preproc_dirname": "x",
    "read_from_derivatives": "r",
    "older_fmriprep": st.booleans(),
    "fmriprep_args": "a",
    "fmriprep_workdir": "w",
    "ignore_fieldmaps": st.booleans(),
    "no_SDC": st.booleans(),
    "n_cpus": 2,
}


@st.composite
def _fmriprep_objects(draw):
    keys = draw(st.sets(st.sampled_from(sorted(_FMRIPREP_KEYS))))
    out = {}
    for key in sorted(keys):
        value = _FMRIPREP_KEYS[key]
        out[key] = draw(value) if isinstance(value, st.SearchStrategy) else value
    return out


@settings(deadline=None)  # the first example compiles the schema
@given(document=_fmriprep_objects())
def test_one_group_of_many_keys_is_a_minimised_product(document):
    """Github_hard/o38435: dependencies tie thirteen keys and flags in one group (8192 sets):
    one machine per conjunct, their product minimised."""
    schema = json.loads((DATA / "o38435.json").read_text(encoding="utf-8"))
    constraint = _compiled(json.dumps(schema, sort_keys=True))
    assert accepts(constraint, document) == Draft4Validator(schema).is_valid(document), document


def test_a_branch_that_never_holds_is_dropped_inside_not():
    schema = {"not": {"oneOf": [{"not": {}}, {"anyOf": [False, {"enum": [False, 3]}]}]}}
    constraint = _compiled(json.dumps(schema, sort_keys=True))
    oracle = validators.validator_for(schema)(schema)
    for document in [False, True, 3, 4, "x", None, [], {}]:
        assert accepts(constraint, document) == oracle.is_valid(document), document
