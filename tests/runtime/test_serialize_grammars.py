"""Grammars and JSON Schemas through the byte form: the restored constraint gives the same
masks as the original at every step of random valid walks (bit for bit), whether it was saved
right after compiling or after decoding had built more of it; pickling and the disk cache use
the same form."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import pytest

import structgen
from structgen.errors import SerializationError, StructgenError
from structgen.grammar.bundled import available
from structgen.runtime.compiled import CompiledGrammar
from structgen.schema.errors import SchemaWarning
from tests.helpers.maskbench_sample import load_sample
from tests.helpers.synthetic_vocab import synthetic_vocabulary
from tests.runtime.walks import assert_same_masks

VOCAB = synthetic_vocabulary()
DATA = Path(__file__).resolve().parents[1] / "data" / "peer-suites"
GRAMMAR_FILES = sorted((DATA / "llama.cpp-grammars").glob("*.gbnf")) + sorted(
    (DATA / "lark-examples").glob("*.lark")
)
SAMPLE = {f"{case.subset}/{case.name}": case.schema for case in load_sample()}


def _round_trip(compiled: CompiledGrammar, vocab=VOCAB, **walks) -> CompiledGrammar:
    blob = compiled.to_bytes()
    restored = CompiledGrammar.from_bytes(blob, vocab)
    assert restored.kind == compiled.kind and restored.source == compiled.source
    assert restored.warnings == compiled.warnings
    assert restored.to_bytes() == blob  # a fixed point (stored terminals saved as they were read)
    assert assert_same_masks(compiled, restored, **walks) > 0
    return restored


@pytest.mark.parametrize("name", available())
@pytest.mark.parametrize("precompute", [True, False])
def test_bundled_grammars_round_trip(name, precompute):
    compiled = structgen.compile_grammar(name, VOCAB, precompute=precompute, cache=False)
    _round_trip(compiled)


@pytest.mark.parametrize("path", GRAMMAR_FILES, ids=lambda p: p.name)
def test_peer_suite_grammar_files_round_trip(path):
    compiled = structgen.compile_grammar(path, VOCAB, cache=False)
    _round_trip(compiled, walks=3, steps=20)


@pytest.mark.parametrize("name", ["json", "python_expr"])
def test_saved_after_decoding_keeps_the_work(name):
    compiled = structgen.compile_grammar(name, VOCAB, precompute=False, cache=False)
    fresh = structgen.compile_grammar(name, VOCAB, precompute=False, cache=False)
    states, size = compiled.num_states, len(compiled.to_bytes())
    assert_same_masks(compiled, fresh, seed=7)  # the original builds lexer states and walks
    assert compiled.num_states > states and len(compiled.to_bytes()) > size
    restored = CompiledGrammar.from_bytes(compiled.to_bytes(), VOCAB)
    assert restored.num_states == compiled.num_states  # lexer states come back, numbered alike
    assert_same_masks(compiled, restored, seed=7)
    assert_same_masks(compiled, restored, seed=8)  # and what neither had built yet


def test_child_walks_shared_across_parents_change_no_mask_and_survive_a_round_trip(monkeypatch):
    # python_expr: terminals end inside tokens everywhere, so many parents find the same
    # boundaries from the same lexer state: one child walk serves all of them
    shared = structgen.compile_grammar("python_expr", VOCAB, precompute=False, cache=False)
    assert_same_masks(shared, shared, seed=3, walks=8)
    engine = shared.automaton
    assert len(set(engine._walk_ids.values())) < len(engine._walk_ids)  # aliases were made
    restored = CompiledGrammar.from_bytes(shared.to_bytes(), VOCAB)
    assert restored.automaton._walk_ids == engine._walk_ids
    assert restored.automaton._child_walks == engine._child_walks
    assert_same_masks(shared, restored, seed=4)
    # the oracle: an engine that shares no child walk gives the same masks
    from structgen.engines.cfg import engine as engine_module

    fresh_keys = iter(range(10**9))
    monkeypatch.setattr(engine_module, "walk_start_key", lambda nodes: next(fresh_keys))
    unshared = structgen.compile_grammar("python_expr", VOCAB, precompute=False, cache=False)
    assert_same_masks(unshared, shared, seed=3, walks=8)
    assert_same_masks(unshared, restored, seed=5)
    walks = unshared.automaton._walk_ids
    assert len(set(walks.values())) == len(walks)  # (none shared there)


@pytest.mark.parametrize("key", sorted(SAMPLE))
def test_maskbench_sample_schemas_round_trip(key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaWarning)
        try:
            compiled = structgen.compile_json_schema(SAMPLE[key], VOCAB, cache=False)
        except StructgenError as error:  # a refusal stays a refusal, and names its reason
            assert not isinstance(error, SerializationError) and str(error)
            return
    _round_trip(compiled, walks=2, steps=20)


def test_schema_round_trip_on_llama3(llama3_vocab):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 12},
            "age": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}},
        },
        "required": ["name"],
    }
    compiled = structgen.compile_json_schema(schema, llama3_vocab, cache=False)
    restored = _round_trip(compiled, llama3_vocab, walks=2, steps=15)
    pickled = pickle.dumps(compiled)
    assert len(pickled) < len(compiled.to_bytes()) + len(pickle.dumps(llama3_vocab)) + 4096
    assert_same_masks(restored, pickle.loads(pickled), walks=1, steps=10)


def test_grammar_blob_refuses_another_vocabulary():
    blob = structgen.compile_grammar("arithmetic", VOCAB, cache=False).to_bytes()
    with pytest.raises(SerializationError, match="another vocabulary"):
        CompiledGrammar.from_bytes(blob, synthetic_vocabulary(padding=1))
    damaged = bytearray(blob)
    damaged[len(blob) // 3] ^= 0xFF
    with pytest.raises(SerializationError, match="checksum"):
        CompiledGrammar.from_bytes(bytes(damaged), VOCAB)


# -- the disk cache, for grammars and schemas ------------------------------------------------

SCHEMA = {"type": "object", "properties": {"b": {"type": "integer"}, "a": {"type": "string"}}}


def test_grammar_cache_hit_for_every_way_of_naming_it(tmp_path):
    text = (structgen.grammar.bundled.path_of("arithmetic")).read_text()
    first = structgen.compile_grammar("arithmetic", VOCAB, cache_dir=tmp_path)
    assert not first.from_cache
    hit = structgen.compile_grammar("arithmetic", VOCAB, cache_dir=tmp_path)
    assert hit.from_cache and hit.source == first.source
    assert_same_masks(first, hit)
    copy = tmp_path / "copy.lark"
    copy.write_text(text)
    same = structgen.compile_grammar(copy, VOCAB, cache_dir=tmp_path)  # same rules: same key
    assert same.from_cache and "copy" in same.source  # labelled as this call named it
    assert not structgen.compile_grammar(
        "arithmetic", VOCAB, cache_dir=tmp_path, max_ignore_run=2
    ).from_cache
    assert not structgen.compile_grammar(
        "arithmetic", VOCAB, cache_dir=tmp_path, precompute=False
    ).from_cache


def test_schema_cache_key_is_canonical_json(tmp_path):
    first = structgen.compile_json_schema(SCHEMA, VOCAB, cache_dir=tmp_path)
    assert not first.from_cache
    reordered = json.loads(json.dumps(dict(reversed(list(SCHEMA.items())))))
    as_text = json.dumps(SCHEMA, indent=4)
    path = tmp_path / "schema.json"
    path.write_text(as_text)
    for same in (SCHEMA, reordered, as_text, path):
        hit = structgen.compile_json_schema(same, VOCAB, cache_dir=tmp_path)
        assert hit.from_cache
    assert_same_masks(first, hit)
    changed = {**SCHEMA, "required": ["a"]}
    assert not structgen.compile_json_schema(changed, VOCAB, cache_dir=tmp_path).from_cache


@pytest.mark.parametrize(
    "options", [{"whitespace": "compact"}, {"max_items": 1000}, {"property_order": "schema"}]
)
def test_schema_cache_key_covers_the_options(tmp_path, options):
    structgen.compile_json_schema(SCHEMA, VOCAB, cache_dir=tmp_path)
    assert not structgen.compile_json_schema(
        SCHEMA, VOCAB, cache_dir=tmp_path, **options
    ).from_cache
    assert structgen.compile_json_schema(SCHEMA, VOCAB, cache_dir=tmp_path, **options).from_cache


def test_a_schema_hit_warns_as_the_compile_did(tmp_path):
    schema = {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}
    with pytest.warns(SchemaWarning) as missed:
        first = structgen.compile_json_schema(schema, VOCAB, lenient=True, cache_dir=tmp_path)
    with pytest.warns(SchemaWarning) as hit:
        again = structgen.compile_json_schema(schema, VOCAB, lenient=True, cache_dir=tmp_path)
    assert again.from_cache and not first.from_cache
    assert [str(w.message) for w in hit] == [str(w.message) for w in missed]
    assert [w.filename for w in hit] == [w.filename for w in missed]
    assert again.warnings == first.warnings and first.warnings
