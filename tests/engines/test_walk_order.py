"""Token masks of the lazy grammar engine do not depend on what was computed before them.

Lexer rows are filled only where walks go, walks are cached, a root walk may be computed as a
difference from another state's walk, and a bounded string far from its bounds walks like its
unbounded twin. Oracles: an eager engine (rows filled ahead of time from the start states, a
lazy terminal's as far as a token reaches; every walk plain and its own) along documents whose
tokens cross lexeme boundaries inside strings (quotes, braces, backslashes, non-ASCII, long
runs); and, state by state, the plain trie walk against the difference walk.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from structgen.bitmask import allocate_token_bitmask
from structgen.engines.cfg import engine as engine_module
from structgen.engines.cfg.engine import GrammarEngine
from structgen.grammar.analysis import TerminalCollisionWarning
from structgen.grammar.loading import load_grammar
from structgen.kernels import numba_cpu, trie_walk
from structgen.schema.to_grammar import schema_to_grammar

SCHEMA = {
    "type": "object",
    "properties": {
        "chargePointVendor": {"type": "string", "maxLength": 40},
        "chargePointModel": {"type": "string"},
        "notes": {"type": "string", "minLength": 2, "maxLength": 400},
        "code": {
            "type": "string",
            "pattern": "^[a-z]+( [a-z]+)*$",
            "minLength": 3,
            "maxLength": 600,
        },
        "firmware": {"type": "object", "properties": {"version": {"type": "string"}}},
        "count": {"type": "integer"},
    },
    "required": ["chargePointVendor"],
}

DOCUMENTS = [
    {"chargePointVendor": '{"vendor": "x"}', "chargePointModel": 'say "hi" \\ {}'},
    {"chargePointModel": "déjà vu — 東京", "chargePointVendor": "a", "count": 12},
    {"chargePointVendor": "", "other key": '{"k": ["v"]}', "firmware": {"version": '"1.0"'}},
    {"chargePointVendor": '"quoted"', "chargePoint": "almost a key", "count": -3},
    {"chargePointVendor": "v", "notes": "x" * 150 + " " * 70 + "y" * 170 + "z" * 7},
    {
        "chargePointVendor": "v",
        "code": ("international lorem ipsum dolor sit amet " * 15)[:597].strip(),
        "notes": '{"a": 1}' * 30,
    },
]


@pytest.fixture(autouse=True)
def numba_walks():
    """Difference walks and lazy row discovery run in numba (loaded before the test)."""
    trie_walk._wait_for_numba()


def _plain(engine: GrammarEngine) -> GrammarEngine:
    """``engine`` computing every walk itself: no difference walks, no twins (and, with
    :func:`_unshared`, no walk taken from another state with the same future)."""
    engine._reference_for = lambda state: None
    engine._twin_of = lambda automaton, state: None
    return engine


def _unshared(monkeypatch) -> None:
    monkeypatch.setattr(engine_module, "_shared_walk", lambda key, owner, trie: None)
    monkeypatch.setattr(engine_module, "_share_walk", lambda *arguments: None)


def _masks(engine: GrammarEngine, documents: list) -> list:
    out = []
    for document in documents:
        matcher = engine.matcher()
        bitmask = allocate_token_bitmask(1, engine.vocab.size)
        text = json.dumps(document, ensure_ascii=False).encode()
        for token in engine.trie.greedy_tokenize(text):
            matcher.fill_next_token_bitmask(bitmask)
            out.append(bitmask[0].copy())
            assert matcher.advance(token), f"{text!r}: token {token} refused"
    return out


def test_lazy_masks_equal_eager_masks_whatever_was_walked_first(llama3_vocab, monkeypatch):
    # No walk shared with other engines of this process: every walk is computed here.
    monkeypatch.setattr(engine_module, "_shared_walks", type(engine_module._shared_walks)())
    grammar = schema_to_grammar(SCHEMA)
    with monkeypatch.context() as unshared:
        _unshared(unshared)
        eager = _plain(GrammarEngine(grammar, llama3_vocab))
        eager.precompute()
        expected = _masks(eager, DOCUMENTS)
        flipped = _masks(eager, DOCUMENTS[::-1])
    twins: list[int] = []
    real_twin_walk = GrammarEngine._twin_walk
    monkeypatch.setattr(
        GrammarEngine, "_twin_walk", lambda self, *a: twins.append(1) or real_twin_walk(self, *a)
    )
    futures: list[int] = []  # root walks taken from a state of another key with the same future
    real_install = GrammarEngine._install_walk
    monkeypatch.setattr(
        GrammarEngine,
        "_install_walk",
        lambda self, key, terminal, *a: (
            (futures.append(1) if hasattr(self.terminals[terminal], "future") else None)
            or real_install(self, key, terminal, *a)
        ),
    )
    lazy = GrammarEngine(grammar, llama3_vocab, lazy=True)
    forward = _masks(lazy, DOCUMENTS)
    assert len(twins) > 20  # the long strings' middles walked as their unbounded twins
    assert len(futures) >= 3  # e.g. the whitespace after each key's colon, walked once
    reverse = _masks(GrammarEngine(grammar, llama3_vocab, lazy=True), DOCUMENTS[::-1])
    assert len(expected) == len(forward) > 150
    for step, (want, got) in enumerate(zip(expected, forward)):
        np.testing.assert_array_equal(got, want, err_msg=f"mask {step}")
    for step, (want, got) in enumerate(zip(flipped, reverse)):
        np.testing.assert_array_equal(got, want, err_msg=f"mask {step} (documents reversed)")


def test_difference_walks_equal_plain_walks(llama3_vocab, monkeypatch):
    monkeypatch.setattr(engine_module, "_shared_walks", type(engine_module._shared_walks)())
    engine = GrammarEngine(schema_to_grammar(SCHEMA), llama3_vocab, lazy=True)
    _masks(engine, DOCUMENTS)
    lexer = engine.lexer
    compared = 0
    for state in range(lexer.num_states):
        reference = engine._reference_for(state)
        if reference is None:
            continue
        words, grouped = engine._difference_walk(state, reference)
        plain_words = np.zeros(engine.num_words, dtype=np.int32)
        nodes, states = engine._walk(plain_words, state, np.array([0], dtype=np.int32))
        plain_grouped = engine._group_events(nodes, states)
        np.testing.assert_array_equal(words, plain_words, err_msg=f"tokens from state {state}")
        assert sorted(grouped) == sorted(plain_grouped), f"boundary groups from state {state}"
        for group, group_nodes in plain_grouped.items():
            np.testing.assert_array_equal(grouped[group], group_nodes)
        compared += 1
    assert compared >= 10  # keys that may be any string, string bodies, their prefixes


WORDS = r"""
start: (KEYWORD | WORD | NUMBER)+
KEYWORD: "select" | "from" | "where"
WORD: /[ -~]+/
NUMBER: /[0-9]+(\.[0-9]+)?/
"""
"""A grammar whose difference walks stop at accepting states: after ``s``, a keyword and a
word are both alive (a word is complete), while the reference (a word alone) loops."""

WORD_TEXTS = ["select x from y where 12.5", "fromage 7 wherever selection", "s" * 40]


@pytest.mark.parametrize("source", ["schema", "words"])
def test_difference_walks_resume_where_rows_were_missing(llama3_vocab, monkeypatch, source):
    """The same, on a lexer whose rows are not filled yet: each difference walk stops where a
    row is missing and resumes there once it is filled (several rounds), and must still equal
    the plain walk of a lexer that had every row."""
    monkeypatch.setattr(engine_module, "_shared_walks", type(engine_module._shared_walks)())
    rounds: list[int] = []
    kernel = numba_cpu.walk_trie_difference
    monkeypatch.setattr(
        numba_cpu, "walk_trie_difference", lambda *a: rounds.append(1) or kernel(*a)
    )
    if source == "schema":
        grammar = schema_to_grammar(SCHEMA)
        filled = GrammarEngine(grammar, llama3_vocab, lazy=True)
        _masks(filled, DOCUMENTS)
    else:
        with pytest.warns(TerminalCollisionWarning):  # (the overlap is the point)
            grammar = load_grammar(WORDS, syntax="lark")
        filled = GrammarEngine(grammar, llama3_vocab, lazy=True)
        for text in WORD_TEXTS:
            config = filled.initial
            for byte in text.encode():
                filled.mask(config)
                config = filled.step(config, byte)
    resumed = 0
    for state in range(filled.lexer.num_states):
        reference = filled._reference_for(state)
        if reference is None:
            continue
        fresh = GrammarEngine(grammar, llama3_vocab, lazy=True)
        own = fresh.lexer._intern(frozenset(filled.lexer.members[state]))
        theirs = fresh.lexer._intern(frozenset(filled.lexer.members[reference]))
        before = len(rounds)
        words, grouped = fresh._difference_walk(own, theirs)
        resumed += len(rounds) - before > 1
        plain_words = np.zeros(filled.num_words, dtype=np.int32)
        nodes, states = filled._walk(plain_words, state, np.array([0], dtype=np.int32))
        plain = filled._group_events(nodes, states)
        np.testing.assert_array_equal(words, plain_words, err_msg=f"tokens from state {state}")
        # Groups are numbered per lexer: compared by the terminals they complete.
        got = {fresh.lexer.accepting_sets[g]: n.tolist() for g, n in grouped.items()}
        want = {filled.lexer.accepting_sets[g]: n.tolist() for g, n in plain.items()}
        assert got == want, f"boundaries from state {state}"
    assert resumed >= 2  # walks that stopped at missing rows and went on from there
