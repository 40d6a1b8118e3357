"""Terminal collisions of Lark grammars, against lark's own collision check as the oracle.

lark (with interegular installed) reports two regex terminals of one priority that share a
string; ``strict=True`` makes that an error. structgen reports the same pairs as one
:class:`GrammarWarning`, with a shortest shared text.
"""

from __future__ import annotations

import logging
import re
import warnings

import lark
import pytest
from lark.exceptions import LexError

from structgen.grammar import GrammarWarning, grammar_from_gbnf, grammar_from_lark
from structgen.grammar.analysis import LexerTerminal, terminal_collisions
from structgen.grammar.bundled import available, path_of

KEYWORD_IN_NAME = """
start: (NAME | IF)+
NAME: /[a-z]+/
IF: "if"
%ignore " "
"""
REGEX_KEYWORD = """
start: (NAME | KW)+
NAME: /[a-z]+/
KW: /if|else/
%ignore " "
"""
REGEX_KEYWORD_WITH_PRIORITY = REGEX_KEYWORD.replace("KW: /", "KW.2: /")
DISJOINT = """
start: (NAME | NUMBER)+
NAME: /[a-z]+/
NUMBER: /[0-9]+/
%ignore " "
"""
TWO_COLLISIONS = """
start: (WORD | HEX | NUM)+
WORD: /[a-f]+/
HEX: /[0-9a-f]+/
NUM: /[0-9]+/
"""


def _lark_collides(text: str, **options) -> bool:
    """Whether lark's strict lexer refuses ``text`` for a terminal collision."""
    try:
        lark.Lark(text, parser="lalr", lexer="basic", strict=True, **options)
    except LexError as error:
        assert "Collision" in str(error)
        return True
    return False


def _lark_collision_pairs(text: str, **options) -> set[frozenset[str]]:
    """The pairs lark's (non-strict) lexer logs as colliding."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep()
    level = lark.logger.level
    lark.logger.addHandler(handler)
    lark.logger.setLevel(logging.WARNING)
    try:
        lark.Lark(text, parser="earley", lexer="basic", **options)
    finally:
        lark.logger.removeHandler(handler)
        lark.logger.setLevel(level)
    found = (re.match(r"Collision between Terminals (\w+) and (\w+)", m) for m in records)
    return {frozenset(match.groups()) for match in found if match is not None}


def _load(text: str, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grammar = grammar_from_lark(text, **options)
    messages = [str(w.message) for w in caught if issubclass(w.category, GrammarWarning)]
    return grammar, messages


@pytest.mark.parametrize(
    ("text", "collides"),
    [
        (KEYWORD_IN_NAME, False),  # a string inside a regex is a keyword: lark's lexer decides
        (REGEX_KEYWORD, True),
        (REGEX_KEYWORD_WITH_PRIORITY, False),
        (DISJOINT, False),
        (TWO_COLLISIONS, True),
    ],
)
def test_collision_warning_agrees_with_larks_strict_lexer(text, collides):
    assert _lark_collides(text) == collides
    grammar, messages = _load(text)
    collision_messages = [m for m in messages if "terminal collision" in m]
    assert bool(collision_messages) == collides
    assert [m for m in grammar.warnings if "terminal collision" in m] == collision_messages


def test_the_warning_names_the_pair_and_a_shortest_shared_text():
    with pytest.warns(
        GrammarWarning,
        match=r"1 terminal collision with no priority to decide \(KW and NAME both match 'if'\)"
        r".*KW\.2",
    ):
        grammar_from_lark(REGEX_KEYWORD)


def test_all_pairs_are_reported_as_lark_reports_them():
    grammar, messages = _load(TWO_COLLISIONS)
    assert len(messages) == 1  # one warning per grammar, however many pairs
    assert "2 terminal collisions" in messages[0]
    kinds = [LexerTerminal(name) for name in grammar.terminals]
    found = {frozenset((c.first, c.second)) for c in terminal_collisions(grammar, kinds)}
    # WORD ⊂ HEX and NUM ⊂ HEX; WORD and NUM share nothing.
    assert found == {frozenset({"WORD", "HEX"}), frozenset({"HEX", "NUM"})}
    assert found == _lark_collision_pairs(TWO_COLLISIONS)
    for collision in terminal_collisions(grammar, kinds):
        first, second = grammar.terminals[collision.first], grammar.terminals[collision.second]
        assert re.fullmatch(first.pattern, collision.example, re.ASCII)
        assert re.fullmatch(second.pattern, collision.example, re.ASCII)
        assert len(collision.example) == 1  # shortest: one character is shared


def test_equal_strings_collide_and_distinct_strings_do_not():
    grammar, _ = _load('start: A | B | C\nA: "x"\nB: "x"\nC: "y"\n')
    kinds = [LexerTerminal(name, 0, True) for name in grammar.terminals]
    assert [(c.first, c.second, c.example) for c in terminal_collisions(grammar, kinds)] == [
        ("A", "B", "x")
    ]


def test_gbnf_grammars_are_not_checked():
    # GBNF has no lexer (every split is the grammar's), so overlapping classes are not a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", GrammarWarning)
        grammar = grammar_from_gbnf('root ::= [a-f]+ | [0-9a-f]+ | "a"')
    assert not grammar.warnings


@pytest.mark.parametrize("name", [n for n in available() if path_of(n).suffix == ".lark"])
def test_bundled_grammars_warn_exactly_where_lark_finds_collisions(name):
    path = path_of(name)
    text = path.read_text(encoding="utf-8")
    grammar, messages = _load(text, source_path=path)
    collision_messages = [m for m in messages if "terminal collision" in m]
    assert len(collision_messages) <= 1  # never a flood
    expected = _lark_collision_pairs(text, source_path=str(path))
    parser = lark.Lark(text, parser="earley", lexer="dynamic_complete", source_path=str(path))
    kinds = [LexerTerminal(t.name, t.priority, t.pattern.type == "str") for t in parser.terminals]
    found = {frozenset((c.first, c.second)) for c in terminal_collisions(grammar, kinds)}
    assert found == expected
    assert bool(collision_messages) == bool(expected)
