"""Examples of terminals that carry a byte automaton instead of a regex
(:mod:`structgen.schema.example_automata`, used by :mod:`structgen.schema.example`).

Oracles: ``jsonschema`` for instances, Python's ``re`` for patterns; minimal lengths are
compared with the regex path (:class:`structgen.schema.example._RegexTexts`), a separate
implementation over the regex AST.
"""

from __future__ import annotations

import functools
import json
import random
import re

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.errors import ConfigurationError, LimitExceededError
from structgen.regex import parse_regex, regex_to_dfa
from structgen.regex.dfa import DEAD, ByteDFA
from structgen.schema import example as example_module
from structgen.schema.example import ExampleGenerator, _RegexTexts, example_instance
from structgen.schema.example_automata import AutomatonTexts
from structgen.schema.to_grammar import schema_to_grammar
from tests.helpers.regex_strategies import regexes

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODE_PATTERN = "^[a-z]+x[0-9]+$"
CODE = {"type": "string", "pattern": CODE_PATTERN, "minLength": 3, "maxLength": 150}


def automaton_terminals(schema) -> list[str]:
    """Names of the terminals of ``schema``'s grammar read through an automaton alone."""
    grammar = schema_to_grammar(schema)
    return [
        name
        for name, terminal in grammar.terminals.items()
        if terminal.automaton is not None and terminal.node is None
    ]


def assert_valid(schema, value) -> None:
    jsonschema.Draft202012Validator(schema).validate(value)


def table(rows: dict[int, dict[str, int]], accepting: set[int], size: int) -> ByteDFA:
    """A hand-made ByteDFA: ``rows[state][char] = next state``."""
    transitions = np.full((size, 256), DEAD, dtype=np.int32)
    for state, moves in rows.items():
        for char, target in moves.items():
            transitions[state, ord(char)] = target
    return ByteDFA(transitions, np.array([s in accepting for s in range(size)]))


class LazyView:
    """A ByteDFA seen as a lazy automaton: it fails when asked about a state it has not named
    yet (in a row of a state asked about before), as a lazy product would."""

    def __init__(self, dfa: ByteDFA) -> None:
        self.dfa = dfa
        self.named = {0}
        self.rows_asked = 0

    def row(self, state: int) -> np.ndarray:
        assert state in self.named, f"row of state {state}, never named"
        self.rows_asked += 1
        row = self.dfa.row(state)
        self.named.update(row[row >= 0].tolist())
        return row

    def accepts(self, state: int) -> bool:
        assert state in self.named, f"acceptance of state {state}, never named"
        return self.dfa.accepts(state)


# ------------------------------------------------------------------ schemas (the reported bug)


def test_a_long_bounded_pattern_takes_the_automaton_path_and_gets_valid_instances():
    assert automaton_terminals(CODE), "the schema no longer compiles to an automaton terminal"
    minimal = example_instance(CODE)
    assert minimal == "ax0"  # letters first, like the regex path's minimal instance
    generator = ExampleGenerator(CODE)
    values = [generator.instance(seed) for seed in range(16)]
    for value in [minimal, *values]:
        assert_valid(CODE, value)
        assert re.fullmatch("[a-z]+x[0-9]+", value), value
        assert 3 <= len(value) <= 150
    assert len(set(values)) >= 10  # random, not the minimal one again and again
    assert values == [example_instance(CODE, seed=seed) for seed in range(16)]  # reproducible


def test_an_object_property_read_through_an_automaton():
    schema = {
        "type": "object",
        "properties": {"code": CODE, "count": {"type": "integer", "minimum": 1}},
        "required": ["code", "count"],
        "additionalProperties": False,
    }
    assert automaton_terminals(schema)
    assert example_instance(schema) == {"code": "ax0", "count": 1}
    for seed in range(12):
        value = example_instance(schema, seed=seed)
        assert_valid(schema, value)
        assert re.fullmatch(CODE_PATTERN, value["code"])


def test_long_strings_without_a_pattern():
    schema = {"type": "string", "minLength": 70, "maxLength": 200}
    assert automaton_terminals(schema)
    assert example_instance(schema) == "a" * 70
    for seed in range(8):
        value = example_instance(schema, seed=seed)
        assert_valid(schema, value)
        assert 70 <= len(value) <= 200


WORDS = ["a", "b", "x", "0", "9", "é", "-", r"\.", "[a-c]", "[0-9]", "[xyz]", "[^a-z]"]
REPEATS = ["", "", "+", "?", "*", "{2}", "{1,3}"]


@st.composite
def small_patterns(draw, depth: int = 2) -> str:
    """A regex that means the same to ``re`` and to ECMA-262 (jsonschema's ``pattern``)."""
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(WORDS)) + draw(st.sampled_from(REPEATS))
    parts = draw(st.lists(small_patterns(depth - 1), min_size=1, max_size=3))
    body = "|".join(parts) if draw(st.booleans()) else "".join(parts)
    return f"(?:{body}){draw(st.sampled_from(REPEATS))}"


@SETTINGS
@given(pattern=small_patterns(), seed=st.integers(0, 2**32))
def test_long_bounded_patterns_get_valid_instances(pattern, seed):
    # Each pattern drawn matches a string of at most 72 characters, so the schema is
    # satisfiable; the tail makes the length bound one the compiler counts lazily (a language
    # like (?:xx)+ alone would get a bounded regex instead).
    repeated = f"(?:{pattern})+-[a-z0-9]+"
    schema = {"type": "string", "pattern": f"^{repeated}$", "maxLength": 90}
    assert automaton_terminals(schema)
    generator = ExampleGenerator(schema)
    for value in (generator.instance(), generator.instance(seed)):
        assert_valid(schema, value)
        assert re.fullmatch(repeated, value) and len(value) <= 90, (pattern, value)


# ------------------------------------------------------------------ AutomatonTexts directly


def test_shortest_and_samples_of_a_small_dfa():
    dfa = regex_to_dfa("ab+c")
    texts = AutomatonTexts()
    assert texts.shortest(dfa) == "abc"
    assert texts.min_length(dfa) == 3
    samples = [texts.sample(dfa, random.Random(seed)) for seed in range(40)]
    for text in samples:
        assert re.fullmatch("ab+c", text), text
    assert any(len(text) > 3 for text in samples)


def test_lengths_count_code_points_and_friendly_bytes_come_first():
    texts = AutomatonTexts()
    wide = regex_to_dfa("ééé|abcd")  # 6 bytes against 4: shorter in code points
    assert texts.min_length(wide) == 3
    assert texts.shortest(wide) == "ééé"
    assert texts.shortest(regex_to_dfa("[0-9a-z]x")) == "ax"  # letters before digits
    assert texts.shortest(regex_to_dfa("[^a-z]")) == "0"  # then digits
    assert texts.shortest(regex_to_dfa("[\\x00-\\x1f!]")) == "!"  # controls last
    assert texts.shortest(regex_to_dfa("[日ü]")) == "ü"  # friendly non-ASCII in order
    assert texts.min_length(regex_to_dfa("a?")) == 0
    assert texts.shortest(regex_to_dfa("a?")) == ""


def test_samples_stay_printable_and_utf8():
    dfa = regex_to_dfa("[^\\x00-\\x1f\\x7f]{1,40}")
    texts = AutomatonTexts()
    for seed in range(30):
        text = texts.sample(dfa, random.Random(seed))
        assert re.fullmatch("[^\\x00-\\x1f\\x7f]{1,40}", text), text
        assert dfa.fullmatch(text.encode("utf-8"))
        assert not any(0x80 <= ord(c) <= 0x9F for c in text), text  # no C1 controls


def test_only_states_already_reached_are_asked_about():
    view = LazyView(regex_to_dfa("(?:ab|cd)+[0-9]{2,5}z?"))
    texts = AutomatonTexts()
    assert texts.shortest(view) == "ab00"
    for seed in range(20):
        assert re.fullmatch("(?:ab|cd)+[0-9]{2,5}z?", texts.sample(view, random.Random(seed)))
    assert view.rows_asked > 0


def test_an_automaton_with_a_dead_end_still_gives_accepted_texts():
    # Untrimmed: "b" leads to a state that is neither accepting nor has any move.
    dfa = table({0: {"a": 1, "b": 2}}, accepting={1}, size=3)
    texts = AutomatonTexts()
    assert texts.shortest(dfa) == "a"
    assert {texts.sample(dfa, random.Random(seed)) for seed in range(30)} == {"a"}


def test_an_automaton_that_accepts_nothing():
    dfa = table({0: {"a": 1}}, accepting=set(), size=2)
    texts = AutomatonTexts()
    assert texts.min_length(dfa) == float("inf")
    with pytest.raises(ConfigurationError, match="STR_9 accepts no text"):
        texts.shortest(dfa, label="STR_9")


@SETTINGS
@given(pattern=regexes(), seed=st.integers(0, 2**32))
def test_texts_of_random_regexes(pattern, seed):
    dfa = regex_to_dfa(pattern)
    texts = AutomatonTexts()
    shortest = texts.shortest(dfa)
    sampled = texts.sample(dfa, random.Random(seed))
    for text in (shortest, sampled):
        assert re.fullmatch(pattern, text, re.ASCII), (pattern, text)
    expected = _RegexTexts().min_length(parse_regex(pattern))
    assert len(shortest) == texts.min_length(dfa) == expected, (pattern, shortest)
    assert len(sampled) >= len(shortest)


# ------------------------------------------------------------------ the search limit


def test_the_search_limit_names_the_automaton():
    texts = AutomatonTexts(max_states=10)
    with pytest.raises(LimitExceededError, match=r"shortest text of terminal T_1 .*limit of 10"):
        texts.min_length(regex_to_dfa("a{30}"), label="terminal T_1 <a lot of a>")
    assert AutomatonTexts(max_states=31).min_length(regex_to_dfa("a{30}")) == 30
    with pytest.raises(ConfigurationError, match="max_states must be a positive int"):
        AutomatonTexts(max_states=0)


def test_the_search_limit_through_the_generator_names_the_terminal(monkeypatch):
    schema = {"type": "string", "minLength": 100, "maxLength": 200}
    (name,) = automaton_terminals(schema)
    small = functools.partial(AutomatonTexts, max_states=50)
    monkeypatch.setattr(example_module, "AutomatonTexts", small)
    with pytest.raises(LimitExceededError, match=rf"terminal {name} <JSON string: .*limit of 50"):
        ExampleGenerator(schema)


def test_the_generator_output_is_json_text():
    generator = ExampleGenerator(CODE)
    assert json.loads(generator.text()) == "ax0"
    assert generator.text() == '"ax0"'
