"""A listed name's key terminal from per-character pieces (structgen.schema.literal_keys): the
very node and regex text of the general path (``quoted`` + ``to_regex_text``), for any name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from structgen.regex.ast import CharSet
from structgen.regex.nodes import EMPTY, char, concat, literal, repeat
from structgen.regex.text import to_regex_text
from structgen.schema.json_strings import quoted
from structgen.schema.literal_keys import KeyTail, literal_key, literal_name

_WS = CharSet.chars(" \t\n\r")


def _tail(limit: int):
    ws = repeat(_WS, 0, limit) if limit else concat()
    return concat(ws, char(":"), ws)


@given(
    name=st.text(max_size=8),
    canonical=st.booleans(),
    limit=st.sampled_from([0, 1, 32]),
)
def test_node_and_text_are_those_of_the_general_path(name, canonical, limit):
    tail = _tail(limit)
    expected = concat(quoted(literal(name), canonical=canonical), tail)
    built = literal_key(name, canonical, KeyTail(tail))
    assert built is not None
    node, text = built
    assert node == expected
    assert text == to_regex_text(expected)


def test_special_characters_spell_like_the_general_path():
    for name in ['a"b', "back\\slash", "a/b", "tab\t", "\x00", "caf\u00e9", "\U0001f600", ""]:
        for canonical in (False, True):
            tail = _tail(2)
            node, text = literal_key(name, canonical, KeyTail(tail))
            expected = concat(quoted(literal(name), canonical=canonical), tail)
            assert (node, text) == (expected, to_regex_text(expected))


def test_a_lone_surrogate_is_left_to_the_general_path():
    assert literal_key("a\ud800", False, KeyTail(_tail(1))) is None


def test_literal_name_reads_only_single_strings():
    assert literal_name(literal("id")) == "id"
    assert literal_name(char("x")) == "x"
    assert literal_name(EMPTY) == ""
    assert literal_name(CharSet.chars("ab")) is None
    assert literal_name(concat(char("a"), repeat(char("b"), 0, 2))) is None
