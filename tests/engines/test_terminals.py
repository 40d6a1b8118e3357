"""Terminal automata: built on first use, memoised per process, slow ones kept on disk."""

from __future__ import annotations

import numpy as np
import pytest

from structgen.engines.cfg import terminals as terminals_module
from structgen.engines.cfg.terminals import terminal_automaton
from structgen.ir import Terminal
from structgen.regex.concat_automaton import ConcatAutomaton
from structgen.regex.glued import GluedDFA
from structgen.regex.nodes import char, concat
from structgen.regex.parser import parse_regex

DATE = Terminal("DATE", r'"[0-9]{4}-(?:0[1-9]|1[0-2])-[0-9]{2}"')


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty disk cache and empty process memos (a new process, as far as terminals go)."""
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("STRUCTGEN_NO_TERMINAL_CACHE", raising=False)
    monkeypatch.setattr(terminals_module, "STORE_AFTER_SECONDS", 0.0)
    terminals_module._memo.clear()
    return tmp_path


def _same(left, right) -> bool:
    return np.array_equal(left.transitions, right.transitions) and np.array_equal(
        left.accepting, right.accepting
    )


def test_a_slow_terminal_is_read_back_from_disk(fresh, monkeypatch):
    first = terminal_automaton(DATE, "test", 100_000)
    assert list((fresh / "terminals").glob("*.sga"))
    terminals_module._memo.clear()

    def no_compile(*_args):
        raise AssertionError("compiled again instead of read from disk")

    monkeypatch.setattr(terminals_module, "_compile", no_compile)
    again = terminal_automaton(DATE, "test", 100_000)
    assert _same(first, again)
    assert again.fullmatch(b'"2024-02-30"') and not again.fullmatch(b'"2024-13-01"')


def test_a_damaged_entry_is_compiled_again(fresh):
    first = terminal_automaton(DATE, "test", 100_000)
    (entry,) = (fresh / "terminals").glob("*.sga")
    data = bytearray(entry.read_bytes())
    data[-1] ^= 0xFF
    entry.write_bytes(bytes(data))
    terminals_module._memo.clear()
    assert _same(first, terminal_automaton(DATE, "test", 100_000))


@pytest.mark.parametrize(
    ("tail", "kind"),
    [
        ('" *:', GluedDFA),  # every part's ending is disjoint from the next part's start
        ('c*" *:', ConcatAutomaton),  # [a-c]{0,3} may go on with c where the tail may start
    ],
)
def test_lazy_concatenation_accepts_what_the_regex_does(fresh, tail, kind):
    node = concat(char('"'), parse_regex("[a-c]{0,3}"), parse_regex(tail))
    lazy = terminal_automaton(Terminal("KEY", "k", node=node), "test", 1000, lazy=True)
    assert isinstance(lazy, kind)
    eager = terminal_automaton(Terminal("KEY2", "k2", node=node), "test", 1000)
    texts = [b'"":', b'"abc"  :', b'"abca":', b'"a"', b'"b" :x', b'"cc":', b'"acccc":', b'"bcc" :']
    for text in texts:
        state = 0
        for byte in text:
            state = int(lazy.row(state)[byte]) if state >= 0 else state
        assert (state >= 0 and lazy.accepts(state)) == eager.fullmatch(text), text


def test_a_large_part_of_a_lazy_concatenation_is_read_back_from_disk(fresh, monkeypatch):
    """A format's or a pattern's body inside a string terminal (a concatenation part) is kept
    on disk like a slow terminal: the next process reads the same DFA instead of compiling."""
    months = r"(?:0[1-9]|1[0-2]|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)"
    node = concat(char('"'), parse_regex(f"[0-9]{{4}}-{months}"), char('"'))
    monkeypatch.setattr(terminals_module, "STORED_PART_SIZE", 32)
    compiled: list[int] = []
    real_compile = terminals_module.compile_byte_dfa
    monkeypatch.setattr(
        terminals_module,
        "compile_byte_dfa",
        lambda part, **kw: compiled.append(1) or real_compile(part, **kw),
    )
    terminals_module._part_memo.clear()
    first = terminal_automaton(Terminal("WHEN", "w", node=node), "test", 10_000, lazy=True)
    assert len(list((fresh / "terminals").glob("*.sga"))) == 1  # the months; not the quotes
    built_first = len(compiled)
    terminals_module._memo.clear()
    terminals_module._part_memo.clear()
    again = terminal_automaton(Terminal("WHEN", "w", node=node), "test", 10_000, lazy=True)
    assert len(compiled) - built_first == built_first - 1  # the large part came from disk
    for old, new in zip(first.parts, again.parts):
        assert _same(old, new)
    for text, valid in [(b'"2024-02"', True), (b'"2024-march"', True), (b'"2024-13"', False)]:
        state = 0
        for byte in text:
            state = int(again.row(state)[byte]) if state >= 0 else state
        assert (state >= 0 and again.accepts(state)) is valid, text


def test_the_terminal_memo_keeps_its_tables_under_its_byte_budget(fresh, monkeypatch):
    """A long-lived process compiling schema after schema keeps its most recent terminals
    only up to MEMO_BYTES of tables (a glued key's table is a fifth of a megabyte)."""
    keys = [Terminal(f"KEY{i}", f'"key_number_{i:02d}" *:') for i in range(12)]
    one = terminal_automaton(keys[0], "test", 1000).transitions.nbytes
    monkeypatch.setattr(terminals_module, "MEMO_BYTES", 4 * one)
    built = [terminal_automaton(key, "test", 1000) for key in keys]
    assert len(terminals_module._memo) == 4
    assert terminals_module._memo._bytes <= 4 * one
    assert terminal_automaton(keys[-1], "test", 1000) is built[-1]  # (the newest are kept)
    assert terminal_automaton(keys[0], "test", 1000) is not built[0]  # (the oldest went)
