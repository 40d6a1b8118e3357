"""The product lexer takes a small terminal table in one block (every one-member row at
once): the lexer it builds must be the one built row by row — the same members and
completed terminals after every byte string, whatever was numbered before the block."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.engines.cfg import lexer as lexer_module
from structgen.engines.cfg.lexer import ProductLexer
from structgen.kernels import trie_walk
from structgen.regex.codepoint_dfa import CodePointDFA, search_language
from structgen.regex.dfa import DEAD, compile_byte_dfa
from structgen.regex.ecma import parse_ecma_regex
from structgen.regex.glued import glue_parts
from structgen.regex.lazy_product import JsonStringAutomaton
from structgen.regex.nodes import char
from structgen.regex.parser import parse_regex

PATTERNS = [
    '"(?:a|\\\\u0061)(?:b|\\\\u0062)"[ ]*:',
    '"(?:a|\\\\u0061)c"[ ]*:',
    "[0-9]+",
    '"[a-c]*"',
]


TEXTS = st.lists(
    st.binary(max_size=9) | st.text('"abc09 :\\u6', max_size=9).map(str.encode),
    min_size=1,
    max_size=10,
)
"""Byte strings the lexers are traced along: arbitrary bytes, and text of the keys' alphabet."""


def _terminals():
    """Keys and a string as glued tables (a quote, then the rest), a number as one table."""
    out = []
    for pattern in PATTERNS:
        if not pattern.startswith('"'):
            out.append(compile_byte_dfa(parse_regex(pattern)))
            continue
        (glued,) = glue_parts([compile_byte_dfa(parse_regex(p)) for p in ('"', pattern[1:])])
        out.append(glued)
    return out


def _lazy_string():
    """``"[a-c]*"`` as a lazy JSON string (not a table: its rows are asked for one by one)."""
    letters = CodePointDFA.from_node(search_language(parse_ecma_regex("^[a-c]*$"))).minimized()
    return JsonStringAutomaton(letters, 0, None, compile_byte_dfa(char('"')))


def _completed(terminals, alive: set) -> tuple[int, ...]:
    return tuple(sorted(t for t, q in alive if terminals[t].accepts(q)))


def _trace(lexer: ProductLexer, start: int, data: bytes) -> list:
    """(members, completed terminals) after each byte of ``data``."""
    state, seen = start, []
    for byte in data:
        lexer.ensure_row(state)
        state = int(lexer.transitions[state, byte])
        if state == DEAD:
            seen.append(None)
            break
        seen.append((set(lexer.members[state]), lexer.accepting_terminals[state]))
    return seen


@settings(deadline=None, max_examples=80)
@given(
    TEXTS,
    st.lists(st.integers(0, len(PATTERNS) - 1), min_size=1, max_size=4, unique=True),
)
def test_blocks_build_the_lexer_rows_one_by_one_would(texts, starts):
    terminals = _terminals()
    by_block = ProductLexer(terminals)
    by_row = ProductLexer(terminals)
    original = lexer_module.MAX_BLOCK_STATES
    for data in texts:
        for chosen in (frozenset(starts), frozenset(starts[:1])):
            lexer_module.MAX_BLOCK_STATES = original
            blocked = _trace(by_block, by_block.start_state(chosen), data)
            lexer_module.MAX_BLOCK_STATES = 0
            try:
                row_by_row = _trace(by_row, by_row.start_state(chosen), data)
            finally:
                lexer_module.MAX_BLOCK_STATES = original
            assert blocked == row_by_row, data
            # …and both are the product of the terminals walked one by one.
            for length, seen in enumerate(blocked, 1):
                alive = {(t, terminals[t].walk(0, data[:length])) for t in chosen}
                alive = {(t, q) for t, q in alive if q >= 0}
                assert seen == ((alive, _completed(terminals, alive)) if alive else None)


def test_a_key_set_takes_each_key_as_a_block_once_the_keys_part():
    terminals = _terminals()
    lexer = ProductLexer(terminals)
    trace = _trace(lexer, lexer.start_state(frozenset(range(len(PATTERNS)))), b'"ab" :')
    assert trace[-1] == ({(0, terminals[0].walk(0, b'"ab" :'))}, (0,))
    assert set(lexer._blocks) == {0}  # (only "a then b" is left of the keys: its table, at once)
    assert lexer.num_states >= terminals[0].num_states


COUNTED = ["[a-c]{0,300}x", "b{0,400}y"]  # tables of 302 and 402 states (over 256)


@settings(deadline=None, max_examples=40)
@given(data=st.text("abcxy", max_size=12).map(str.encode))
def test_large_tables_are_blocks_within_the_budget_and_rows_past_it(data):
    terminals = [compile_byte_dfa(parse_regex(p)) for p in COUNTED]
    assert all(t.num_states > lexer_module.SMALL_BLOCK_STATES for t in terminals)
    both = frozenset(range(len(COUNTED)))
    traces, blocked = [], []
    for budget in (10**6, 350, 0):  # both tables, the first only, none
        lexer = ProductLexer(terminals)
        original = lexer_module.MAX_BLOCKED_STATES
        lexer_module.MAX_BLOCKED_STATES = budget
        try:
            for start in (both, frozenset([0]), frozenset([1])):
                traces.append(_trace(lexer, lexer.start_state(start), data))
        finally:
            lexer_module.MAX_BLOCKED_STATES = original
        blocked.append(set(lexer._blocks))
        assert lexer._blocked_large <= budget
    assert traces[0:3] == traces[3:6] == traces[6:9], data
    assert blocked[2] == set()  # no budget: row by row
    assert blocked[1] <= {0, 1} and sum(terminals[t].num_states for t in blocked[1]) <= 350


@settings(deadline=None, max_examples=60)
@given(
    TEXTS,
    st.lists(st.integers(0, len(PATTERNS)), min_size=2, max_size=4, unique=True),
    st.booleans(),
    st.sampled_from([1, 2, lexer_module.LAZY_REGION_STATES]),
)
def test_numba_rows_of_several_members_equal_the_python_rows(texts, starts, blocks, region):
    """The rows of several-member states built in numba (column classes and one-member
    targets read from the lexer's table of one-member ids, kept in step as states are
    numbered one by one or in blocks, a lazy member's in a region moved as it outgrows it)
    are the rows the Python pass builds."""
    trie_walk._wait_for_numba()
    terminals = [_lazy_string(), *_terminals()]  # (the lazy region first: others follow it)
    by_kernel, by_python = ProductLexer(terminals), ProductLexer(terminals)
    kernels = trie_walk._numba_product_row
    assert kernels is not None
    calls: list[int] = []
    counted = (lambda *a: calls.append(1) or kernels[0](*a), kernels[1])
    original = lexer_module.MAX_BLOCK_STATES
    original_region = lexer_module.LAZY_REGION_STATES
    lexer_module.MAX_BLOCK_STATES = original if blocks else 0
    lexer_module.LAZY_REGION_STATES = region
    try:
        for data in [*texts, b'"ab']:
            for chosen in (frozenset(starts), frozenset(starts[:1])):
                trie_walk._numba_product_row = counted
                with_kernel = _trace(by_kernel, by_kernel.start_state(chosen), data)
                trie_walk._numba_product_row = None
                in_python = _trace(by_python, by_python.start_state(chosen), data)
                assert with_kernel == in_python, data
    finally:
        trie_walk._numba_product_row = kernels
        lexer_module.MAX_BLOCK_STATES = original
        lexer_module.LAZY_REGION_STATES = original_region
    assert calls  # (a start state of several terminals has several members)
    filled = by_kernel.transitions[: by_kernel.num_states, 0] != lexer_module.UNEXPLORED
    for state in np.flatnonzero(filled).tolist():
        # Each target holds exactly the members that byte leaves alive.
        members = by_kernel.members[state]
        for byte in (0x22, 0x61, 0x62, 0x63, 0x30, 0x20, 0x3A, 0x5C):
            alive = {(t, int(terminals[t].row(q)[byte])) for t, q in members}
            alive = {(t, q) for t, q in alive if q >= 0}
            target = int(by_kernel.transitions[state, byte])
            assert (set(by_kernel.members[target]) if target >= 0 else set()) == alive


def test_growth_allocates_without_huge_pages_and_restores_the_switch():
    """A grown row table is allocated with numpy's huge-page madvise off (its first touch
    inside a mask stalled on memory compaction), and the process-wide switch is set back,
    even when the growth fails."""
    switch = lexer_module._hugepage_switch()
    assert switch is not None  # numpy 2.x has it
    before = switch(True)
    seen = []
    try:
        with lexer_module._small_pages():
            seen.append(switch(False))  # the flag as _small_pages left it
        seen.append(switch(True))
        lexer = ProductLexer([compile_byte_dfa(parse_regex("[0-9]+"))])
        rows = lexer.transitions.shape[0]
        original = lexer._grow_to

        def grow_and_record(size: int, count: int) -> None:
            seen.append(switch(False))  # inside _grow: off
            switch(False)
            original(size, count)

        lexer._grow_to = grow_and_record
        lexer._grow()
        assert lexer.transitions.shape[0] == 2 * rows
        seen.append(switch(True))  # after _grow: back on
        with np.testing.assert_raises(RuntimeError):
            with lexer_module._small_pages():
                raise RuntimeError("a growth that fails")
        seen.append(switch(True))
    finally:
        switch(before)
    assert seen == [False, True, False, True, True]


def _explored(monkeypatch, reserve_past: int, reserved: int) -> ProductLexer:
    """A product lexer of two overlapping terminals (1,759 states) with its whole closure
    filled, its row table reserved past ``reserve_past`` rows, ``reserved`` rows at most."""
    monkeypatch.setattr(lexer_module, "RESERVE_PAST_STATES", reserve_past)
    monkeypatch.setattr(lexer_module, "RESERVED_STATES", reserved)
    patterns = ["(a|b)*a(a|b){5}", "[ab]{0,30}c"]
    lexer = ProductLexer([compile_byte_dfa(parse_regex(p)) for p in patterns])
    lexer.explore(lexer.start_state(frozenset({0, 1})))
    return lexer


def _same_lexers(lexer: ProductLexer, reference: ProductLexer) -> None:
    count = reference.num_states
    assert lexer.members == reference.members
    for name in ("transitions", "has_accepting", "accepting_group", "ready"):
        ours, theirs = getattr(lexer, name)[:count], getattr(reference, name)[:count]
        np.testing.assert_array_equal(ours, theirs)


def test_a_table_past_the_threshold_grows_inside_its_reservation(monkeypatch):
    """Past RESERVE_PAST_STATES the row table is a prefix of one reservation: growing it moves
    no row (the same memory before and after), and the lexer is the one copying growth makes."""
    reference = _explored(monkeypatch, reserve_past=1 << 30, reserved=1 << 18)
    assert reference._reserved is None
    addresses = []
    monkeypatch.setattr(lexer_module, "RESERVE_PAST_STATES", 300)
    original = ProductLexer._grow

    def grow_and_record(self):
        original(self)
        addresses.append(self.transitions.ctypes.data)

    monkeypatch.setattr(ProductLexer, "_grow", grow_and_record)
    lexer = _explored(monkeypatch, reserve_past=300, reserved=1 << 18)
    assert lexer.num_states > 4 * 300
    assert lexer._reserved is not None
    assert lexer._reserved.shape[0] == min(lexer.max_states, 1 << 18)
    assert lexer.transitions.ctypes.data == lexer._reserved.ctypes.data
    assert len(addresses) >= 3 and len(set(addresses[1:])) == 1  # (256 -> 512 moves in, then none)
    _same_lexers(lexer, reference)


def test_a_table_that_outgrows_its_reservation_goes_on_by_copies(monkeypatch):
    """A lexer allowed more states than the reservation holds grows by copying past it, with
    the same rows (and the reservation dropped)."""
    reference = _explored(monkeypatch, reserve_past=1 << 30, reserved=1 << 18)
    lexer = _explored(monkeypatch, reserve_past=300, reserved=700)
    assert lexer.num_states > 700
    assert lexer._reserved.shape[0] == 0
    assert lexer.transitions.shape[0] >= lexer.num_states
    _same_lexers(lexer, reference)
