"""The automata the package ships (structgen.schema.seeds, structgen/vocab/seeds): every seed is
there and equal to a fresh build (else: ``make seeds``), none is left over, and they are read
when the disk cache has no entry — never when the cache is switched off or a file is damaged."""

from __future__ import annotations

import numpy as np
import pytest

from structgen.schema import other_keys, seeds, strings
from structgen.schema.compiler import whitespace_run
from structgen.schema.format_automata import load_format_dfa
from structgen.schema.other_keys import free_dfa, free_dfa_key, key_close
from structgen.vocab import dfa_cache
from structgen.vocab.dfa_cache import SEED_DIR, load_byte_dfa, seed_byte_dfa

STALE = "stale or missing seeds: run `make seeds` (python -m structgen.schema.seeds)"


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("STRUCTGEN_NO_TERMINAL_CACHE", raising=False)
    return tmp_path / "cache"


def test_every_seed_is_shipped_and_equals_a_fresh_build(empty_cache):
    for key, sources, build in seeds.seeds():
        shipped = load_byte_dfa(key, sources)
        assert shipped is not None, f"{key}: {STALE}"
        built = build()
        assert np.array_equal(shipped.transitions, built.transitions), f"{key}: {STALE}"
        assert np.array_equal(shipped.accepting, built.accepting), f"{key}: {STALE}"


def test_every_format_seed_is_shipped_and_equals_a_fresh_build(empty_cache):
    names = set()
    for name, limit, build in seeds.format_seeds():
        names.add(name)
        shipped = load_format_dfa(name, limit)
        assert shipped is not None, f"format {name}: {STALE}"
        built = build()
        for field in ("cuts", "interval_class", "transitions", "accepting"):
            assert np.array_equal(getattr(shipped, field), getattr(built, field)), STALE
        assert load_format_dfa(name, limit - 1) is None  # another limit: not seeded
    assert {"date-time", "email", "hostname", "uri"} <= names


def test_a_schema_with_an_email_compiles_from_the_seed(empty_cache, monkeypatch):
    from structgen.regex.codepoint_dfa import CodePointDFA
    from structgen.validation.formats import format_node

    node = format_node("email")
    monkeypatch.setattr(strings, "_MINIMAL", type(strings._MINIMAL)())  # as in a new process
    built = []
    original = CodePointDFA.from_node

    def counting(tree, *args, **kwargs):
        built.append(tree)
        return original(tree, *args, **kwargs)

    monkeypatch.setattr(CodePointDFA, "from_node", staticmethod(counting))
    strings.string_language(0, None, [], [("email", "#")], max_states=20_000, max_size=10**6,
                            unsupported=[], warnings=[])  # fmt: skip
    email = strings.minimal_dfa(node, 20_000)
    assert all(tree is not node for tree in built)  # read from the package, not built
    assert email.accepts("a@b.co") and not email.accepts("a@")
    assert not (empty_cache / "formats").exists()  # nothing written either


def test_no_file_in_the_seed_folder_is_left_over(tmp_path):
    written = {path.name for path in seeds.write_seeds(tmp_path / "fresh")}
    assert written == {path.name for path in SEED_DIR.iterdir()}, STALE


def test_the_no_cache_switch_turns_the_seeds_off(empty_cache, monkeypatch):
    key, sources, _ = next(seeds.seeds())
    monkeypatch.setenv("STRUCTGEN_NO_TERMINAL_CACHE", "1")
    assert load_byte_dfa(key, sources) is None


def test_a_damaged_seed_reads_as_a_miss(empty_cache, tmp_path, monkeypatch):
    key, sources, build = next(seeds.seeds())
    folder = tmp_path / "seeds"
    path = seed_byte_dfa(key, sources, build(), folder)
    monkeypatch.setattr(dfa_cache, "SEED_DIR", folder)
    assert load_byte_dfa(key, sources) is not None
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert load_byte_dfa(key, sources) is None
    path.write_bytes(b"not zlib")
    assert load_byte_dfa(key, sources) is None


def test_a_seed_of_another_builder_is_never_read(empty_cache):
    key, sources, _ = next(seeds.seeds())
    assert load_byte_dfa(key, [*sources, __file__]) is None  # other sources: another name


@pytest.mark.parametrize("limit", seeds.SEEDED_WHITESPACE_LIMITS)
def test_a_new_process_gets_the_free_key_dfa_without_building_it(empty_cache, monkeypatch, limit):
    close = key_close(whitespace_run(limit))
    monkeypatch.setattr(other_keys, "_free_dfas", {})

    def no_build(_close):
        raise AssertionError("built although a seed is shipped")

    monkeypatch.setattr(other_keys, "build_free_dfa", no_build)
    found = free_dfa(close)
    assert found.num_states > 1
    assert not (empty_cache / "terminals").exists()  # read from the package, nothing written
    assert load_byte_dfa(*free_dfa_key(close)) is not None
