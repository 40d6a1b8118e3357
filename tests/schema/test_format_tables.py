"""The shipped byte tables of JSON strings of known formats (``structgen.schema.format_tables``).

Oracles: the RFC examples of ``tests/test_schema_formats.py`` (valid and invalid decoded
strings) through random JSON encodings of each (every escape form, or only ``json.dumps``'s in
canonical mode), ``json.loads`` for anything a table accepts, and the lazy JSON-string automaton
the table replaces, state for state along random byte strings. Schemas with a plain ``format``
compile to the shared table; other settings or other closes fall back to building the string.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import structgen
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import ByteDFA, compile_byte_dfa
from structgen.regex.lazy_product import JsonStringAutomaton
from structgen.regex.nodes import char
from structgen.schema import format_tables
from structgen.schema.format_tables import build_format_table, format_table
from structgen.schema.options import SchemaOptions
from structgen.schema.to_grammar import schema_to_grammar
from structgen.validation.formats import format_node
from tests.helpers.json_encodings import PRINTABLE, encodings
from tests.test_schema_formats import EXAMPLES

LIMIT = SchemaOptions().max_regex_states
FORMATS = sorted(name for name in EXAMPLES if format_node(name) is not None)


def _accepts(table: ByteDFA, data: bytes) -> bool:
    state = 0
    for byte in data:
        state = int(table.transitions[state, byte])
        if state < 0:
            return False
    return bool(table.accepting[state])


@pytest.mark.parametrize("canonical", [False, True])
@pytest.mark.parametrize("name", FORMATS)
def test_the_shipped_table_accepts_exactly_the_encodings_of_the_format(name, canonical):
    table = format_table(name, canonical=canonical, max_states=LIMIT)
    assert table is not None, "not shipped: run `make seeds`"
    valid, invalid = EXAMPLES[name]
    for expected, texts in ((True, valid), (False, invalid)):
        for seed, text in enumerate(texts):
            for data in encodings(text, seed, canonical):
                assert _accepts(table, data) == expected, (name, canonical, data)
    if canonical:  # an escape json.dumps never writes is refused
        text = next(t for t in valid if any(c in PRINTABLE for c in t))
        c = next(c for c in text if c in PRINTABLE)
        escaped = json.dumps(text).replace(c, f"\\u{ord(c):04x}", 1).encode()
        assert not _accepts(table, escaped)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["uri", "date-time", "ipv4", "uuid"]),
    canonical=st.booleans(),
    data=st.lists(
        st.sampled_from([b"a", b"1", b":", b"/", b".", b"-", b"T", b"Z", b"\\", b"u00", b"2f",
                         b"41", b"\\/", b'"', b"\xc3\xa9", b"%", b"@", b"?", b"#"]),
        max_size=14,
    ).map(b"".join),
)  # fmt: skip
def test_the_table_moves_like_the_lazy_automaton_it_replaces(name, canonical, data):
    """Along any bytes: dead in one exactly when dead in the other, accepting alike; what the
    table accepts is a JSON string of the format."""
    table = format_table(name, canonical=canonical, max_states=LIMIT)
    language = CodePointDFA.from_node(format_node(name), max_states=LIMIT).minimized()
    lazy = JsonStringAutomaton(language, 0, None, compile_byte_dfa(char('"')), canonical=canonical)
    state, lazy_state = 0, 0
    for byte in b'"' + data + b'"':
        state = int(table.transitions[state, byte])
        lazy_state = int(lazy.row(lazy_state)[byte])
        assert (state < 0) == (lazy_state < 0)
        if state < 0:
            return
        assert bool(table.accepting[state]) == lazy.accepts(lazy_state)
    if table.accepting[state]:
        assert language.accepts(json.loads(b'"' + data + b'"'))


def test_a_plain_format_string_compiles_to_the_shared_table():
    grammar = schema_to_grammar({"type": "string", "format": "uri"})
    tables = [t.automaton for t in grammar.terminals.values() if t.automaton is not None]
    assert tables == [format_table("uri", canonical=False, max_states=LIMIT)]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "uri", "maxLength": 30},  # (bounded: built as before)
        {"type": "object", "propertyNames": {"format": "ipv4"}},  # (a key: another close)
    ],
)
def test_other_strings_of_a_format_are_built_as_before(schema):
    tables = [
        format_table(n, canonical=c, max_states=LIMIT) for n in FORMATS for c in (False, True)
    ]
    assert all(table is not None for table in tables)
    grammar = schema_to_grammar(schema)
    automata = [t.automaton for t in grammar.terminals.values() if t.automaton is not None]
    assert automata and not any(a is table for a in automata for table in tables)


def test_no_table_for_other_settings_means_the_string_is_built(monkeypatch):
    monkeypatch.setattr(format_tables, "_tables", {})
    options = SchemaOptions(max_regex_states=LIMIT - 1)
    assert format_table("uri", canonical=False, max_states=LIMIT - 1) is None
    grammar = schema_to_grammar({"type": "string", "format": "uri"}, options=options)
    assert all(
        not isinstance(t.automaton, ByteDFA) or t.automaton.num_states < 100
        for t in grammar.terminals.values()
        if t.automaton is not None
    )


def test_the_build_is_the_minimal_table_of_the_lazy_automaton():
    built = build_format_table("date", False, LIMIT)
    shipped = format_table("date", canonical=False, max_states=LIMIT)
    assert np.array_equal(built.transitions, shipped.transitions)
    assert np.array_equal(built.accepting, shipped.accepting)
    with pytest.raises(ValueError, match="not known"):
        build_format_table("no-such-format", False, LIMIT)


def test_a_format_schema_round_trips_through_the_byte_form():
    from tests.helpers.synthetic_vocab import synthetic_vocabulary
    from tests.runtime.walks import assert_same_masks

    vocab = synthetic_vocabulary()
    schema = {
        "type": "object",
        "properties": {
            "site": {"type": "string", "format": "uri"},
            "when": {"type": "string", "format": "date-time"},
        },
        "required": ["site", "when"],
    }
    compiled = structgen.compile_json_schema(schema, vocab, cache=False)
    restored = type(compiled).from_bytes(compiled.to_bytes(), vocab)
    assert assert_same_masks(compiled, restored, walks=2, steps=40) > 0
