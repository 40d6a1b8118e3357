"""A bounded string's root walks taken from its twin equal the walks computed in full.

A state of a string with ``maxLength`` (and maybe ``minLength``, a pattern) walks the trie like
its twin without the upper bound when no token reaches the bound; where long tokens do (runs
of dashes or spaces of up to 128 bytes in Llama-3), the twin's walk is kept for the rest and
those tokens and boundaries are read one by one (``_clipped_twin_walk``). Oracle: the plain
trie walk over the bounded automaton's own rows, state by state, for states reached by random
JSON encodings cut at random bytes (inside escapes and UTF-8 sequences, below ``minLength``,
near ``maxLength``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.engines.cfg import engine as engine_module
from structgen.engines.cfg.engine import GrammarEngine
from structgen.kernels import trie_walk
from structgen.regex.dfa import DEAD
from structgen.regex.lazy_product import JsonStringAutomaton
from structgen.schema.to_grammar import schema_to_grammar

STRINGS = [
    {"type": "string", "maxLength": 70},
    {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"^(?:\S+\s+){0,9}\S+$"},
    {"type": "string", "minLength": 3, "maxLength": 80, "pattern": r"^[a-z /*=-]+$"},
    {"type": "string", "minLength": 30, "maxLength": 120},
]
TEXT = st.lists(
    st.sampled_from(list('ab -/*="\\\n') + ["é", "東", "😀", "-" * 40, " " * 33]), max_size=12
).map("".join)


@pytest.fixture(scope="module")
def engines(llama3_vocab):
    trie_walk._wait_for_numba()  # the lazy walks the twins and plain walks use
    built = []
    for schema in STRINGS:
        engine = GrammarEngine(schema_to_grammar(schema), llama3_vocab, lazy=True)
        terminal = next(
            t
            for t in range(engine.num_real_terminals)
            if isinstance(engine.terminals[t], JsonStringAutomaton)
        )
        built.append((engine, terminal))
    return built


def _states(automaton: JsonStringAutomaton, data: bytes) -> list[int]:
    """Every state ``data`` passes through (stopping where it dies)."""
    state, seen = 0, [0]
    for byte in data:
        state = int(automaton.row(state)[byte])
        if state == DEAD:
            break
        seen.append(state)
    return seen


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(STRINGS) - 1), text=TEXT, repeat=st.integers(1, 12))
def test_twin_and_clipped_walks_equal_the_plain_walk(engines, index, text, repeat):
    engine, terminal = engines[index]
    automaton = engine.terminals[terminal]
    data = json.dumps(text * repeat, ensure_ascii=False).encode()
    compared = 0
    for state in _states(automaton, data):
        twin = engine._twin_of(automaton, state)
        if twin is None:
            continue
        twin_automaton, twin_state, slack = twin
        words, nodes, reach = engine._twin_walk(twin_automaton, twin_state)
        if reach > slack:
            clipped = engine._clipped_twin_walk(automaton, state, words, nodes, slack)
            if clipped is None:  # too many long tokens past the slack: a plain walk, as below
                continue
            words, nodes = clipped
        lexer_state = engine.lexer.state_of(terminal, state)
        plain = np.zeros(engine.num_words, dtype=np.int32)
        events, _ = engine._walk(plain, lexer_state, np.array([0], dtype=np.int32))
        np.testing.assert_array_equal(words, plain, err_msg=f"tokens from {automaton._keys[state]}")
        np.testing.assert_array_equal(nodes, np.unique(events), err_msg="boundaries")
        compared += 1
    assert compared or len(data) < 3 or index == 3  # (minLength 30: a short text never gets far)


def test_long_strings_take_their_walks_from_the_twin(engines, monkeypatch):
    """The string of words (``maxLength`` 100, shorter than Llama-3's longest tokens) walks
    every state of a document from its twin: no plain walk of a bounded state."""
    engine, terminal = engines[1]
    automaton = engine.terminals[terminal]
    monkeypatch.setattr(engine_module, "_shared_walks", type(engine_module._shared_walks)())
    plain: list[int] = []
    real_new_walk = GrammarEngine._new_walk
    monkeypatch.setattr(
        GrammarEngine,
        "_new_walk",
        lambda self, key, *a, **k: plain.append(key[2]) or real_new_walk(self, key, *a, **k),
    )
    data = json.dumps("Scalable and flexible ---- " + "x" * 40).encode()
    states = _states(automaton, data)
    for state in states[1:-1]:  # after the opening quote, before the closing one
        engine._root_walk_id(engine.lexer.state_of(terminal, state))
    assert plain == []
