"""The unlisted-keys terminal built from the names' trie (structgen.schema.other_keys): the same
language as the regex it replaces (compiled by the regex library, compared state by state),
the same accepted documents (jsonschema as the oracle), and the regex path kept where a name
has a character the trie cannot take alone."""

from __future__ import annotations

import json
import random
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from structgen.regex.ast import CharSet
from structgen.regex.dfa import ByteDFA, compile_byte_dfa
from structgen.regex.nodes import char, concat, repeat
from structgen.runtime.compiler import compile_json_schema
from structgen.schema import schema_to_grammar
from structgen.schema.json_strings import encode, quoted
from structgen.schema.other_keys import PLAIN_NAME_CHARACTERS, free_dfa, other_keys_dfa
from structgen.schema.strings import all_strings_except, encoded_strings_except, excluded_names
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()
_WS = CharSet.chars(" \t\n\r")


def _close(limit: int):
    ws = repeat(_WS, 0, limit) if limit else concat()
    return concat(char('"'), ws, char(":"), ws)


def _regex_dfa(names: list[str], limit: int) -> ByteDFA:
    ws = repeat(_WS, 0, limit) if limit else concat()
    node = concat(quoted(all_strings_except(names), canonical=True), ws, char(":"), ws)
    return compile_byte_dfa(node)


def _difference(a: ByteDFA, b: ByteDFA) -> bytes | None:
    """A shortest byte string on which the two DFAs differ (accepting, or a live move), or
    None when they have the same language (both trimmed: a live state can still accept)."""
    seen = {(0, 0)}
    frontier: list[tuple[int, int, bytes]] = [(0, 0, b"")]
    while frontier:
        following = []
        for x, y, path in frontier:
            if bool(a.accepting[x]) != bool(b.accepting[y]):
                return path
            rows = a.transitions[x], b.transitions[y]
            if not np.array_equal(rows[0] >= 0, rows[1] >= 0):
                byte = int(np.flatnonzero((rows[0] >= 0) != (rows[1] >= 0))[0])
                return path + bytes([byte])
            for byte in np.flatnonzero(rows[0] >= 0).tolist():
                pair = (int(rows[0][byte]), int(rows[1][byte]))
                if pair not in seen:
                    seen.add(pair)
                    following.append((*pair, path + bytes([byte])))
        frontier = following
    return None


_NAME = st.text(alphabet=st.sampled_from(sorted("ab_-. ~Z9")), max_size=5)


@given(names=st.lists(_NAME, max_size=6), limit=st.sampled_from([0, 1, 3]))
def test_the_trie_dfa_has_the_language_of_the_regex(names, limit):
    mine = other_keys_dfa(names, _close(limit))
    assert mine is not None
    assert _difference(mine, _regex_dfa(names, limit)) is None


@given(names=st.lists(_NAME, max_size=6))
def test_the_directly_encoded_complement_is_the_encoding_of_the_complement(names):
    direct = compile_byte_dfa(encoded_strings_except(names))
    walked = compile_byte_dfa(encode(all_strings_except(names), canonical=True))
    assert _difference(direct, walked) is None


@pytest.mark.parametrize(
    "names",
    [["id", "name", "description", "type", "properties", "required"], ["a", "ab", "abc"],
     ["driver", "drivers"], ["", "x"], [], ["same", "same"]],
)  # fmt: skip
def test_on_schema_like_names_it_is_minimal_like_the_regex_dfa(names):
    mine = other_keys_dfa(names, _close(2))
    reference = _regex_dfa(names, 2)
    assert _difference(mine, reference) is None
    # Equal subtries merged: no more states than the minimal DFA (plus the free start's
    # twin when no name starts anywhere).
    assert mine.num_states <= reference.num_states + (1 if not any(names) else 0)


@pytest.mark.parametrize("odd", ["a/b", 'say "hi"', "back\\slash", "caf\u00e9", "tab\there"])
def test_names_with_escapable_or_non_ascii_characters_are_left_to_the_regex(odd):
    assert not set(odd) <= PLAIN_NAME_CHARACTERS
    assert other_keys_dfa(["ok", odd], _close(1)) is None


def test_the_free_dfa_is_memoised_per_closing_text():
    assert free_dfa(_close(2)) is free_dfa(_close(2))
    assert free_dfa(_close(2)) is not free_dfa(_close(1))


def test_excluded_names_recognises_only_the_node_it_made():
    node = all_strings_except(["a", "b"])
    assert excluded_names(node) == ("a", "b")
    assert excluded_names(all_strings_except(["a", "b"])) == ("a", "b")
    assert excluded_names(concat(char("a"))) is None


def _accepts(compiled, text: str) -> bool:
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(len(text)))
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


@pytest.mark.parametrize("names", [["id", "name"], ["a/b", "x"]])
def test_documents_with_other_keys_agree_with_jsonschema(names):
    schema = {
        "type": "object",
        "properties": {name: {"type": "integer"} for name in names},
        "additionalProperties": {"type": "string"},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = compile_json_schema(schema, VOCAB, cache=False)
    validator = Draft202012Validator(schema)
    instances = [{}, {names[0]: 1}, {names[0]: "s"}, {"other": "s"}, {"other": 1},
                 {names[1]: 2, "zz": "q"}, {names[0] + "x": "s"}, {names[0][:-1]: "s"},
                 {"": "s"}, {"caf\u00e9": "s"}, {"a\"b": "s"}]  # fmt: skip
    for instance in instances:
        for text in (json.dumps(instance), json.dumps(instance, ensure_ascii=False)):
            assert _accepts(compiled, text) == validator.is_valid(instance), text


def test_the_terminal_keeps_its_regex_for_readers_of_the_grammar():
    grammar = schema_to_grammar({"type": "object", "properties": {"id": {"type": "integer"}}})
    keys = [t for t in grammar.terminals.values() if t.automaton is not None]
    assert any(t.pattern.startswith('<JSON key: any string but ["id"]') for t in keys)
    for terminal in keys:
        assert terminal.node is not None
        assert _difference(terminal.automaton, compile_byte_dfa(terminal.node)) is None
