"""The grammar engine's payload round trip, and lazy engines against eager ones.

Oracle: an engine compiled eagerly (every terminal built, every start state's closure explored,
every root walk done ahead of time) — a restored or lazy engine must give the same masks bit
for bit along random walks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from structgen.engines.cfg import engine as engine_module
from structgen.engines.cfg.engine import GrammarEngine
from structgen.engines.cfg.persist import DeferredAutomaton, engine_from_payload, grammar_payload
from structgen.errors import ConfigurationError
from structgen.grammar.loading import load_grammar
from structgen.kernels import trie_walk
from structgen.runtime.compiled import CompiledGrammar
from structgen.schema.to_grammar import schema_to_grammar
from tests.runtime.walks import assert_same_masks

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0},
        "kind": {"enum": ["cat", "dog", 3]},
        "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}},
        "ratio": {"type": "number"},
    },
    "required": ["name"],
}

LARK = r"""
start: expr
expr: term (("+" | "-") term)*
term: NUMBER | NAME | "(" expr ")"
NAME: /[a-z_]+/
NUMBER: /[0-9]+/
%ignore " "
"""


# Many keys with shared prefixes and an open object: the "any other key" terminal is large (a
# lazily determinised part) and the key-start state reaches many lexer states (the walk follows
# the trie instead of filling every row near it).
MANY_KEYS = {
    "type": "object",
    "properties": {
        f"{stem}_{suffix}": {"type": "integer"}
        for stem in ("alpha", "alps", "beta", "bet", "gamma", "game")
        for suffix in ("id", "name", "ident", "named", "x")
    },
}


def _grammars():
    return {
        "many_keys": schema_to_grammar(MANY_KEYS),
        "schema": schema_to_grammar(SCHEMA),
        "json": load_grammar("json"),
        "lark": load_grammar(LARK, syntax="lark"),
    }


def _wrap(engine: GrammarEngine) -> CompiledGrammar:
    return CompiledGrammar(automaton=engine, source="test", compile_seconds=0.0)


def _copy(meta: dict, arrays: dict) -> tuple[dict, dict]:
    """What a byte round trip leaves: JSON meta, arrays that share no memory."""
    return json.loads(json.dumps(meta)), {k: np.array(v, copy=True) for k, v in arrays.items()}


@pytest.fixture(params=["numpy", "numba"])
def explore(request, monkeypatch):
    """Lexer rows found by the numpy trie pass, or by the numba kernel (loaded first)."""
    if request.param == "numba":
        trie_walk._wait_for_numba()
    else:
        monkeypatch.setattr(engine_module, "numba_walk_ready", lambda: False)
    return request.param


@pytest.mark.parametrize("name", ["many_keys", "schema", "json", "lark"])
def test_lazy_engine_masks_equal_eager(name, explore, smollm2_vocab):
    grammar = _grammars()[name]
    eager = GrammarEngine(grammar, smollm2_vocab)
    eager.precompute()
    lazy = GrammarEngine(grammar, smollm2_vocab, lazy=True)
    assert not all(lazy.terminals.is_built(i) for i in range(len(lazy.terminals)))
    assert assert_same_masks(_wrap(eager), _wrap(lazy), walks=5, steps=25, seed=3) > 20


@pytest.mark.parametrize("name", ["many_keys", "schema", "json", "lark"])
@pytest.mark.parametrize("used", [False, True])
def test_payload_round_trip_gives_the_same_masks(name, used, smollm2_vocab):
    grammar = _grammars()[name]
    original = GrammarEngine(grammar, smollm2_vocab, lazy=True)
    original.mask(original.initial)
    if used:  # work done before the save travels with it
        assert_same_masks(_wrap(original), _wrap(original), walks=3, steps=15, seed=1)
    meta, arrays = _copy(*grammar_payload(original))
    restored = engine_from_payload(meta, arrays, smollm2_vocab)
    assert restored.lexer.num_states == original.lexer.num_states
    assert len(restored._walks) == len(original._walks)
    assert restored.lexer.members == original.lexer.members
    assert assert_same_masks(_wrap(original), _wrap(restored), walks=5, steps=25, seed=2) > 20


def test_restored_engine_needs_no_walk_for_saved_work(smollm2_vocab):
    grammar = _grammars()["schema"]
    original = GrammarEngine(grammar, smollm2_vocab, lazy=True)
    words, _ = original.mask(original.initial)
    restored = engine_from_payload(*_copy(*grammar_payload(original)), smollm2_vocab)
    walks_before = len(restored._walks)
    again, _ = restored.mask(restored.initial)
    assert np.array_equal(words, again)
    assert len(restored._walks) == walks_before


@pytest.mark.parametrize("name", ["many_keys", "schema", "json", "lark"])
def test_restored_grammar_is_the_saved_one(name, smollm2_vocab):
    grammar = _grammars()[name]
    original = GrammarEngine(grammar, smollm2_vocab, lazy=True)
    restored = engine_from_payload(*_copy(*grammar_payload(original)), smollm2_vocab)
    assert restored.grammar == grammar  # rules in order, terminals, start, ignore
    assert restored.grammar.fingerprint() == grammar.fingerprint()
    assert restored.terminal_names == original.terminal_names
    assert restored.earley.rules == original.earley.rules


def _stored_automata(engine: GrammarEngine) -> list[DeferredAutomaton]:
    terminals = engine.terminals
    found = [terminals._built[i] for i in range(len(terminals)) if terminals.is_built(i)]
    found += [t.automaton for t in engine.grammar.terminals.values() if t.automaton is not None]
    return [a for a in found if isinstance(a, DeferredAutomaton)]


def test_terminal_automata_are_rebuilt_only_when_decoding_needs_them(smollm2_vocab):
    """The first mask of a restored engine reads the saved lexer rows and walks: no terminal
    automaton is rebuilt; decoding further rebuilds those whose rows new lexer states need,
    and the masks stay those of the original."""
    grammar = _grammars()["many_keys"]
    original = GrammarEngine(grammar, smollm2_vocab, lazy=True)
    words, _ = original.mask(original.initial)
    restored = engine_from_payload(*_copy(*grammar_payload(original)), smollm2_vocab)
    stored = _stored_automata(restored)
    assert stored and not any(a.is_built for a in stored)
    again, _ = restored.mask(restored.initial)
    assert np.array_equal(words, again)
    assert not any(a.is_built for a in stored)
    assert assert_same_masks(_wrap(original), _wrap(restored), walks=4, steps=25, seed=4) > 20
    assert any(a.is_built for a in stored)


def test_a_second_save_keeps_what_was_never_rebuilt(smollm2_vocab):
    """Saving a restored engine stores its unused terminal automata as they were read: the
    byte form is a fixed point, and the engine read back from it masks alike."""
    original = GrammarEngine(_grammars()["many_keys"], smollm2_vocab, lazy=True)
    original.mask(original.initial)
    meta, arrays = _copy(*grammar_payload(original))
    restored = engine_from_payload(meta, arrays, smollm2_vocab)
    again_meta, again_arrays = _copy(*grammar_payload(restored))
    assert again_meta == meta
    assert sorted(again_arrays) == sorted(arrays)
    assert all(np.array_equal(again_arrays[k], arrays[k]) for k in arrays)
    third = engine_from_payload(again_meta, again_arrays, smollm2_vocab)
    assert assert_same_masks(_wrap(original), _wrap(third), walks=4, steps=25, seed=9) > 20


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m, a: a["grammar.rhs"].__setitem__(0, 10**6), "symbols it does not have"),
        (lambda m, a: a["grammar.lhs"].__setitem__(0, -1), "symbols it does not have"),
        (lambda m, a: a["grammar.rhs_counts"].__setitem__(0, 99), "do not add up"),
        (lambda m, a: m["grammar"]["symbols"].append(m["grammar"]["symbols"][0]), "distinct"),
    ],
)
def test_inconsistent_grammar_payloads_are_refused(edit, match, smollm2_vocab):
    engine = GrammarEngine(_grammars()["lark"], smollm2_vocab, lazy=True)
    meta, arrays = _copy(*grammar_payload(engine))
    edit(meta, arrays)
    with pytest.raises(ConfigurationError, match=match):
        engine_from_payload(meta, arrays, smollm2_vocab)


def test_payload_version_is_checked(smollm2_vocab):
    engine = GrammarEngine(_grammars()["lark"], smollm2_vocab, lazy=True)
    meta, arrays = _copy(*grammar_payload(engine))
    meta["payload_version"] = 999
    with pytest.raises(ConfigurationError, match="payload version"):
        engine_from_payload(meta, arrays, smollm2_vocab)


def test_engines_share_the_root_walks_of_common_terminals(smollm2_vocab, monkeypatch):
    """A second schema with the same string and number terminals walks the trie less than it
    holds walks, and its masks are still those of an engine that shares nothing."""
    first = {"type": "object", "properties": {"a": {"type": "string"}, "n": {"type": "number"}}}
    second = {"type": "object", "properties": {"b": {"type": "string"}, "m": {"type": "number"}}}
    engine_module._shared_walks.clear()
    kernel_walks = []
    real_walk = engine_module.walk_trie_events
    monkeypatch.setattr(
        engine_module, "walk_trie_events", lambda *a: kernel_walks.append(1) or real_walk(*a)
    )
    warm = GrammarEngine(schema_to_grammar(first), smollm2_vocab, lazy=True)
    assert_same_masks(_wrap(warm), _wrap(warm), walks=4, steps=20, seed=5)
    kernel_walks.clear()
    lazy = GrammarEngine(schema_to_grammar(second), smollm2_vocab, lazy=True)
    assert_same_masks(_wrap(lazy), _wrap(lazy), walks=4, steps=20, seed=6)
    assert len(kernel_walks) < len(lazy._walks)  # some walks came from the first engine
    engine_module._shared_walks.clear()
    lonely = GrammarEngine(schema_to_grammar(second), smollm2_vocab)
    lonely.precompute()
    engine_module._shared_walks.clear()
    assert assert_same_masks(_wrap(lonely), _wrap(lazy), walks=4, steps=20, seed=6) > 20


def test_packed_arrays_round_trip_and_refuse_damage():
    from structgen.engines.cfg.persist import pack, unpack

    arrays = {"t": np.arange(12, dtype=np.int32).reshape(3, 4), "a": np.array([True, False])}
    meta = {"parts": 2, "lazy": {"1": [1, 2]}}
    packed = pack(meta, arrays)
    assert packed.dtype == np.uint8 and packed.ndim == 1
    got_meta, got = unpack(packed)
    assert got_meta == meta and sorted(got) == ["a", "t"]
    assert all(np.array_equal(got[k], arrays[k]) and got[k].dtype == arrays[k].dtype for k in got)
    assert got["t"].flags.writeable
    for damaged in (packed[:-1], np.concatenate([packed, packed[:1]]), packed[:3]):
        with pytest.raises(ValueError):
            unpack(damaged)
