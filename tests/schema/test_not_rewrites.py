"""``not`` read through De Morgan: ``not`` of ``anyOf``, of ``allOf``, of ``not``, and of several
independent scalar keywords becomes complements the normaliser reads one keyword at a time; the
compiled matcher accepts a serialised instance exactly when ``jsonschema`` says it is valid."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import validators

from structgen.schema import SchemaWarning, UnsupportedSchemaError
from tests.test_schema_grammar import accepts, compiled

DATA = Path(__file__).resolve().parent.parent / "data" / "schema-conditions"

SCHEMAS = [
    # MaskBench Handwritten/length.json: lengths intersected, two of them under not
    json.loads((DATA / "length.json").read_text(encoding="utf-8")),
    {"not": {"type": "string", "minLength": 2, "maxLength": 4}},
    {"type": "string", "not": {"anyOf": [{"pattern": "^a"}, {"pattern": "b$"}]}},
    {"not": {"allOf": [{"minimum": 3}, {"maximum": 5}]}},
    {"not": {"not": {"type": "string", "minLength": 2}}},
    {"type": "integer", "not": {"anyOf": [{"multipleOf": 2}, {"minimum": 10}]}},
    {"type": "object", "properties": {"a": {"not": {"anyOf": [{"const": 1}, {"type": "string"}]}}}},
    # nots beside other keywords of the same location, nested in allOf
    {"type": ["string", "number"], "maxLength": 3,
     "allOf": [{"not": {"type": "number", "minimum": 0, "maximum": 9}},
               {"not": {"type": "string", "pattern": "x", "minLength": 2}}]},
]  # fmt: skip

_SCALARS = [
    None, True, False, -1, 0, 2, 3, 4, 4.5, 5, 6, 9, 10, 11, 12, 2.5, "", "a", "ab", "abc",
    "abcd", "abcde", "ba", "xb", "axb", "x", "xx", "xyz", "1234", [], [1], {},
]  # fmt: skip
_documents = _SCALARS + [{"a": v} for v in _SCALARS] + [{"b": 1}, {"a": 1, "b": 2}]
_instances = st.one_of(
    st.sampled_from(_SCALARS),
    st.text(alphabet="abx", max_size=6),
    st.integers(-3, 14),
    st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(_SCALARS), max_size=2),
)


def _agree(schema, documents) -> None:
    constraint = compiled(schema)
    oracle = validators.validator_for(schema)(schema)
    for document in documents:
        assert accepts(constraint, document) == oracle.is_valid(document), (schema, document)


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
def test_rewritten_not_agrees_with_jsonschema(index):
    _agree(SCHEMAS[index], _documents)


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
@given(documents=st.lists(_instances, min_size=1, max_size=6))
def test_rewritten_not_on_drawn_instances(index, documents):
    _agree(SCHEMAS[index], documents)


def test_nots_that_leave_no_type_are_unsatisfiable():
    """``not`` of two number bounds leaves numbers only, of a pattern and a length strings
    only: together nothing, which jsonschema agrees with and the compiler says."""
    from structgen.schema import UnsatisfiableSchemaError

    schema = {"allOf": [{"not": {"minimum": 0, "maximum": 9}},
                        {"not": {"pattern": "x", "minLength": 2}}]}  # fmt: skip
    oracle = validators.validator_for(schema)(schema)
    assert not any(oracle.is_valid(d) for d in _documents)
    with pytest.raises(UnsatisfiableSchemaError):
        compiled(schema)


def test_a_part_that_stays_unreadable_is_refused_at_its_place():
    """``not`` of an anyOf holding an object enum: the branch's complement is what cannot be
    read, and the error says so rather than compiling something else."""
    schema = {"not": {"anyOf": [{"const": {"a": 1}}, {"type": "string"}]}}
    with pytest.raises(UnsupportedSchemaError, match="not"):
        compiled(schema)


def test_rewritten_branches_that_cannot_hold_are_no_warning():
    """The complement's anyOf is the compiler's: a branch of it that the schema's other
    keywords rule out (strings shorter than 0) is nobody's mistake."""
    from structgen.runtime.compiler import compile_json_schema
    from tests.test_schema_grammar import VOCAB

    with warnings.catch_warnings():
        warnings.simplefilter("error", SchemaWarning)
        compile_json_schema({"type": "string", "not": {"minLength": 0, "maxLength": 2}}, VOCAB)
