"""Format automata kept per process and on disk (structgen.schema.strings.minimal_dfa,
structgen.schema.format_automata): what comes back is the automaton built from the format's
regex, a damaged file is ignored, and a schema's strings still agree with the validator."""

from __future__ import annotations

import numpy as np
import pytest

from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.schema import strings
from structgen.schema.format_automata import load_format_dfa, store_format_dfa
from structgen.schema.strings import minimal_dfa, minimized, string_language
from structgen.validation.formats import format_node
from structgen.vocab import dfa_cache

LIMIT = 20_000


def _same(a: CodePointDFA, b: CodePointDFA) -> bool:
    return all(
        np.array_equal(getattr(a, field), getattr(b, field))
        for field in ("cuts", "interval_class", "transitions", "accepting")
    )


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty disk cache, and no seeds (the package's are tested in test_seeds.py)."""
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("STRUCTGEN_NO_TERMINAL_CACHE", raising=False)
    monkeypatch.setattr(dfa_cache, "SEED_DIR", tmp_path / "no seeds")
    return tmp_path


def test_a_stored_format_automaton_loads_back_the_same(cache_dir):
    built = CodePointDFA.from_node(format_node("hostname"), max_states=LIMIT).minimized()
    assert load_format_dfa("hostname", LIMIT) is None
    store_format_dfa("hostname", LIMIT, built)
    assert _same(load_format_dfa("hostname", LIMIT), built)
    assert load_format_dfa("hostname", LIMIT - 1) is None  # the limit is part of the key


def test_a_damaged_file_is_ignored(cache_dir):
    built = CodePointDFA.from_node(format_node("date"), max_states=LIMIT).minimized()
    store_format_dfa("date", LIMIT, built)
    (path,) = (cache_dir / "formats").iterdir()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert load_format_dfa("date", LIMIT) is None


def test_the_no_cache_switch_turns_the_disk_off(cache_dir, monkeypatch):
    monkeypatch.setenv("STRUCTGEN_NO_TERMINAL_CACHE", "1")
    built = CodePointDFA.from_node(format_node("date"), max_states=LIMIT).minimized()
    store_format_dfa("date", LIMIT, built)
    assert not (cache_dir / "formats").exists()


@pytest.mark.parametrize("name", ["email", "uri", "hostname"])
def test_a_slow_format_is_built_once_per_process_and_is_the_minimal_automaton(cache_dir, name):
    string_language(0, None, [], [(name, "#")], max_states=LIMIT, max_size=10**6,
                    unsupported=[], warnings=[])  # fmt: skip
    node = format_node(name)
    strings._MINIMAL.pop(id(node), None)  # as in a new process
    first = minimal_dfa(node, LIMIT)
    assert minimal_dfa(node, LIMIT) is first
    assert minimized(first) is first
    assert _same(first, CodePointDFA.from_node(node, max_states=LIMIT).minimized())
    assert _same(load_format_dfa(name, LIMIT), first)  # kept for the next process too
