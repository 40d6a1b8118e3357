"""String schemas whose pattern × length × format product passes the eager limit compile to one
lazy terminal and mean exactly what the validator (ECMA patterns, formats, ``len``) says."""

from __future__ import annotations

import json
import random
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.regex.lazy_product import JsonStringAutomaton
from structgen.runtime.compiler import compile_json_schema
from structgen.schema import schema_to_grammar
from structgen.validation import make_validator
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()

WORDS = r"^(?:\S+\s+){0,9}\S+$"
SCHEMAS = [
    {"type": "string", "pattern": WORDS, "maxLength": 120, "minLength": 3},
    {"type": "string", "pattern": r"^(?:\S+\s+){0,49}\S+$", "maxLength": 500},
    {"type": "string", "pattern": "^[a-z]", "maxLength": 1100},
    {"type": "string", "pattern": "x$", "minLength": 1100},
    {"type": "string", "format": "date", "pattern": "-0[1-9]-", "maxLength": 3000},
]
PIECES = ["a", "bc", " ", "\t", "é", "😀", "x", "-", "0", "1", "2020-01-05", "\n", '"', "\\"]


def _compile(schema):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_json_schema(schema, VOCAB)


_COMPILED: dict[int, object] = {}


def _compiled(index: int):
    if index not in _COMPILED:
        _COMPILED[index] = _compile(SCHEMAS[index])
    return _COMPILED[index]


def _accepts(compiled, text: str) -> bool:
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(len(text)))
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
def test_the_product_is_one_lazy_terminal(index):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grammar = schema_to_grammar(SCHEMAS[index])
    lazy = [t for t in grammar.terminals.values() if t.automaton is not None]
    assert len(lazy) == 1 and isinstance(lazy[0].automaton, JsonStringAutomaton)
    assert lazy[0].automaton.fingerprint() in lazy[0].pattern


@settings(deadline=None)  # the first example of each schema compiles it
@given(
    index=st.integers(0, len(SCHEMAS) - 1),
    pieces=st.lists(st.sampled_from(PIECES), max_size=30),
    repeat=st.sampled_from([1, 1, 10, 60, 160]),
    ascii_only=st.booleans(),
)
def test_accepts_what_the_validator_accepts(index, pieces, repeat, ascii_only):
    schema = SCHEMAS[index]
    text = "".join(pieces) * repeat
    document = json.dumps(text, ensure_ascii=ascii_only)
    expected = make_validator(schema).is_valid(text)
    assert _accepts(_compiled(index), document) == expected, (schema, text[:80])


@pytest.mark.parametrize(
    "index,text,expected",
    [
        (0, "one two three", True),
        (0, "ab", False),  # below minLength
        (0, "w " * 10 + "x", False),  # 11 words
        (1, "abcdefghi " * 49 + "x", True),
        (1, "abcdefghij " * 45 + "y" * 10, False),  # 505 characters
        (2, "q" + "é" * 1099, True),
        (2, "q" + "é" * 1100, False),
        (3, "é" * 1099 + "x", True),
        (3, "é" * 1098 + "x", False),
        (4, "2024-02-29", True),
        (4, "2024-02-30", False),
        (4, "2024-12-01", False),
    ],
)
def test_the_bounds_hold_at_their_edges(index, text, expected):
    assert make_validator(SCHEMAS[index]).is_valid(text) == expected
    assert _accepts(_compiled(index), json.dumps(text)) == expected
    assert _accepts(_compiled(index), json.dumps(text, ensure_ascii=False)) == expected


def test_small_products_stay_eager():
    grammar = schema_to_grammar({"type": "string", "pattern": "^[a-z]+$", "maxLength": 20})
    assert all(t.automaton is None for t in grammar.terminals.values())
