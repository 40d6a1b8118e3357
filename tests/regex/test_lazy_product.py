"""The lazy JSON-string product (pattern DFA × length × JSON decoding) against independent oracles:
ECMA-262 search by ``regress``, ``len`` and ``json.loads`` for the language; an eager byte DFA of
the same language (built from the encoded regex) for state-by-state liveness; brute force for
the length window."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import regress
from hypothesis import given
from hypothesis import strategies as st

from structgen.errors import LimitExceededError
from structgen.regex import lazy_product
from structgen.regex.codepoint_dfa import CodePointDFA, search_language
from structgen.regex.dfa import DEAD, ByteAutomaton, compile_byte_dfa
from structgen.regex.ecma import parse_ecma_regex
from structgen.regex.lazy_product import JsonStringAutomaton
from structgen.regex.lengths import LengthWindow
from structgen.regex.nodes import ANY_CHAR, char, concat, repeat
from structgen.schema.json_strings import encode
from tests.helpers.automaton_walks import accepts
from tests.helpers.json_encodings import PRINTABLE, encodings

PATTERNS = [
    r"^(?:\S+\s+){0,3}\S+$",
    r"^[a-c]*x?$",
    r"ab",
    r"^(?:a|é|😀)+$",
    r"^[^a]*$",
    r"^\d{1,3}(?:\.\d{1,2})?$",
    r"[\u00e0-\u00ff]",
    r"^$|^x",
    r"^[\ud83d\ude00-\ud83d\ude4f]{2}",
]
ALPHABET = ["a", "b", "c", "x", " ", "\t", "\n", '"', "\\", "/", "\x01", "1", ".", "é", "ÿ",
            "\u2028", "😀", "😎", "\U0010ffff", "\x7f",
            # the leads E0, ED, F0, F4 at the edges of their valid ranges
            "\u0800", "\u0fff", "\ud000", "\ud7ff", "\U00010000", "\U0003ffff",
            "\U00100000"]  # fmt: skip


def _core(pattern: str) -> CodePointDFA:
    return CodePointDFA.from_node(search_language(parse_ecma_regex(pattern))).minimized()


def _automaton(pattern: str, low: int, high: int | None, canonical: bool = False):
    return JsonStringAutomaton(
        _core(pattern), low, high, compile_byte_dfa(char('"')), canonical=canonical
    )


def _expected(pattern: str, low: int, high: int | None, text: str) -> bool:
    found = regress.Regex(pattern, "u").find(text) is not None
    return found and low <= len(text) and (high is None or len(text) <= high)


bounds = st.tuples(st.integers(0, 6), st.one_of(st.none(), st.integers(0, 6))).map(
    lambda b: (b[0], None if b[1] is None else b[0] + b[1])
)


@given(
    pattern=st.sampled_from(PATTERNS),
    bounds=bounds,
    canonical=st.booleans(),
    text=st.lists(st.sampled_from(ALPHABET), max_size=12).map("".join),
    seed=st.integers(0, 1000),
)
def test_accepts_exactly_the_encodings_of_the_constrained_strings(
    pattern, bounds, canonical, text, seed
):
    low, high = bounds
    automaton = _automaton(pattern, low, high, canonical)
    expected = _expected(pattern, low, high, text)
    for data in encodings(text, seed, canonical):
        assert accepts(automaton, data) == expected, (pattern, bounds, text, data)


@given(
    pattern=st.sampled_from(PATTERNS),
    bounds=bounds,
    canonical=st.booleans(),
    pieces=st.lists(
        st.sampled_from(["a", "x", " ", "1", ".", '"', "\\", "\\u", "\\ud83d", "\\ude00", "\\u00e9",
                         "00", "D8", "dc", "é", "😀", "\\n", "\\/", "\\x", "\x01"]),
        max_size=10,
    ),  # fmt: skip
    junk=st.binary(max_size=3),
)
def test_accepts_nothing_outside_the_language(pattern, bounds, canonical, pieces, junk):
    low, high = bounds
    automaton = _automaton(pattern, low, high, canonical)
    data = b'"' + "".join(pieces).encode() + junk + b'"'
    if not accepts(automaton, data):
        return
    text = json.loads(data)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    assert _expected(pattern, low, high, text)
    if canonical:
        for c in PRINTABLE:
            assert f"\\u{ord(c):04x}".encode() not in data.lower()


def _explore(automaton: ByteAutomaton, limit: int = 200_000) -> list[int]:
    """Every state reachable from the start (rows asked for each)."""
    seen, stack = {0}, [0]
    while stack:
        state = stack.pop()
        for target in automaton.row(state).tolist():
            if target >= 0 and target not in seen:
                seen.add(target)
                stack.append(target)
        assert len(seen) < limit
    return sorted(seen)


def _eager(pattern: str, low: int, high: int | None, canonical: bool):
    core = _core(pattern)
    bounded = core.intersect(CodePointDFA.from_node(repeat(ANY_CHAR, low, high))).minimized()
    node = concat(char('"'), encode(bounded.to_node(), canonical=canonical), char('"'))
    return compile_byte_dfa(node, max_states=200_000)


@pytest.mark.parametrize("canonical", [False, True])
@pytest.mark.parametrize(
    "pattern,low,high",
    [
        (r"^(?:\S+\s+){0,2}\S+$", 1, 5),
        (r"^[a-c]*x?$", 2, None),
        (r"^(?:a|é|😀)+$", 0, 3),
        (r"^[^a]*$", 3, 4),
        (r"[\u00e0-\u00ff]", 0, 2),
        (r"^[\ud83d\ude00-\ud83d\ude4f]{2}", 2, 3),
        # classes that split the valid ranges of the leads E0 and F4, or leave them whole
        (r"^[\u0900-\u097f]+$", 1, 3),
        (r"^[^\u0fff\udbff\udfff]*$", 0, 2),
    ],
)
@pytest.mark.parametrize("kept", [None, 0])
@pytest.mark.parametrize("block_after", [None, 1, 3])
def test_every_discovered_state_is_live_and_rows_match_an_eager_product(
    pattern, low, high, canonical, kept, block_after, monkeypatch
):
    if kept is not None:  # boundary ids forgotten at every new count: rows must not change
        monkeypatch.setattr(lazy_product, "_BOUNDARY_IDS_KEPT", kept)
    if block_after is not None:  # boundary rows as blocks (all of a count at once) early
        monkeypatch.setattr(lazy_product, "BLOCK_AFTER_ROWS", block_after)
    automaton = _automaton(pattern, low, high, canonical)
    eager = _eager(pattern, low, high, canonical)
    # Walk both in lock-step: the same bytes are allowed everywhere and acceptance agrees, so
    # (the eager DFA being trimmed) every lazy state reached can still reach acceptance.
    pairs, stack = {(0, 0)}, [(0, 0)]
    while stack:
        lazy, exact = stack.pop()
        assert automaton.accepts(lazy) == bool(eager.accepting[exact])
        row, eager_row = automaton.row(lazy), eager.transitions[exact]
        assert ((row >= 0) == (eager_row >= 0)).all(), (lazy, np.flatnonzero(row != eager_row))
        for byte in np.flatnonzero(row >= 0).tolist():
            pair = (int(row[byte]), int(eager_row[byte]))
            if pair not in pairs:
                pairs.add(pair)
                stack.append(pair)
    states = _explore(automaton)
    if block_after is None:
        assert len(states) == automaton.num_states
    else:  # a block numbers the states its rows name, reached or not: each can still finish
        assert _every_numbered_state_is_live(automaton)


def _every_numbered_state_is_live(automaton: JsonStringAutomaton) -> bool:
    """Whether every state numbered so far (and every state their rows name) can reach
    acceptance."""
    rows: dict[int, list[int]] = {}
    while len(rows) < automaton.num_states:
        for state in range(len(rows), automaton.num_states):
            rows[state] = [t for t in automaton.row(state).tolist() if t >= 0]
    live = {state for state in rows if automaton.accepts(state)}
    changed = True
    while changed:
        grown = {state for state, targets in rows.items() if live.intersection(targets)}
        changed = not grown <= live
        live |= grown
    return len(live) == len(rows)


def test_liveness_invariant_on_a_product_too_large_to_build_eagerly():
    automaton = _automaton(r"^(?:\S+\s+){0,49}\S+$", 1, 500)
    rng = random.Random(7)
    words = ["a", "bb", "é", "😀", "\\u00e9", "\\ud83d\\ude00", "\\t", " "]
    for _ in range(12):
        data = b'"' + "".join(rng.choice(words) for _ in range(rng.randint(0, 400))).encode()
        state = 0
        for byte in data:
            following = int(automaton.row(state)[byte])
            if following == DEAD:
                break
            state = following
        # From wherever the walk stopped, a shortest completion exists (the state is live).
        frontier, seen, found = [state], {state}, automaton.accepts(state)
        while frontier and not found:
            nxt = []
            for current in frontier:
                for target in set(automaton.row(current).tolist()) - {DEAD}:
                    if target not in seen:
                        seen.add(target)
                        nxt.append(target)
                        found = found or automaton.accepts(target)
            frontier = nxt[:2000]
        assert found
    assert accepts(automaton, json.dumps("abcdefghi " * 49 + "x").encode())  # 50 words, 491 chars
    assert not accepts(automaton, json.dumps("abcdefghij " * 45 + "y" * 10).encode())  # 505 chars
    assert not accepts(automaton, json.dumps("w " * 50 + "x").encode())  # 51 words


def test_payload_round_trip_keeps_numbers_and_rows():
    automaton = _automaton(r"^(?:\S+\s+){0,3}\S+$", 1, 40, canonical=True)
    texts = ["one two", "é 😀 x", "a\tb c d", "x" * 40]
    for text in texts[:2]:
        for data in encodings(text, 1, True):
            accepts(automaton, data)
    meta, arrays = automaton.payload()
    meta = json.loads(json.dumps(meta))
    arrays = {name: np.array(array) for name, array in arrays.items()}
    restored = JsonStringAutomaton.from_payload(meta, arrays)
    assert restored.num_states == automaton.num_states
    for state in range(automaton.num_states):
        assert (restored.row(state) == automaton.row(state)).all()
        assert restored.accepts(state) == automaton.accepts(state)
    for text in texts:
        for data in encodings(text, 2, True):
            assert accepts(restored, data) == accepts(automaton, data)
    assert restored.num_states == automaton.num_states
    assert restored.fingerprint() == automaton.fingerprint()


def test_closing_text_and_emptiness():
    close = compile_byte_dfa(concat(char('"'), char(":")))
    automaton = JsonStringAutomaton(_core("^a+$"), 2, 3, close)
    assert accepts(automaton, b'"aa":') and not accepts(automaton, b'"aa"')
    assert not accepts(automaton, b'"a":') and not accepts(automaton, b'"aaaa":')
    assert JsonStringAutomaton(_core("^a$"), 2, 3, close).is_empty()
    with pytest.raises(Exception, match="must start with"):
        JsonStringAutomaton(_core("^a$"), 0, 1, compile_byte_dfa(char("x")))


def _brute_live(dfa: CodePointDFA, low: int, high: int | None, state: int, count: int) -> bool:
    horizon = (high if high is not None else low + dfa.num_states + 1) - count
    current = {state}
    for length in range(max(horizon, -1) + 1):
        if any(dfa.accepting[q] for q in current) and length >= low - count:
            return True
        current = {int(t) for q in current for t in dfa.transitions[q] if t >= 0}
    return False


@given(pattern=st.sampled_from(PATTERNS), bounds=bounds)
def test_length_window_agrees_with_brute_force(pattern, bounds):
    low, high = bounds
    dfa = _core(pattern)
    window = LengthWindow(dfa.transitions, dfa.accepting, low, high, max_cells=1 << 20)
    for state in range(dfa.num_states):
        for count in range(0, (high if high is not None else low) + 2):
            expected = _brute_live(dfa, low, high, state, count)
            assert window.live(state, window.clamp(count)) == expected, (state, count)


def test_length_window_refuses_a_huge_table():
    dfa = _core(r"^(?:\S+\s+){0,49}\S+$")
    with pytest.raises(LimitExceededError, match="length table"):
        LengthWindow(dfa.transitions, dfa.accepting, 0, 10**6, max_cells=1 << 20)


@pytest.mark.parametrize("pattern", PATTERNS[:3])
def test_bounded_strings_of_one_pattern_share_one_twin_that_walks_like_them(pattern):
    """``free_twin``: strings of one pattern with different bounds get the same unbounded twin
    (its rows and walks are then made once); within the slack, the twin's state reads every
    short text exactly as the bounded state does."""
    first, second = _automaton(pattern, 0, 60), _automaton(pattern, 1, 90)
    other_pattern = _automaton(r"^z+$", 0, 60)
    body = _reach(first, b'"')
    twin, twin_state, slack = first.free_twin(body)
    assert second.free_twin(_reach(second, b'"a'))[0] is twin
    assert other_pattern.free_twin(_reach(other_pattern, b'"'))[0] is not twin
    rng = random.Random(0)
    for _ in range(200):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 6)))
        data = json.dumps(text, ensure_ascii=False)[1:].encode()[: min(slack, 12)]
        assert _reads(first, body, data) == _reads(twin, twin_state, data), (pattern, data)


def _reach(automaton, data: bytes) -> int:
    state = 0
    for byte in data:
        state = int(automaton.row(state)[byte])
        assert state != DEAD
    return state


def _reads(automaton, state: int, data: bytes) -> tuple[bool, bool]:
    """Whether ``data`` stays alive from ``state``, and whether it ends accepting."""
    for byte in data:
        state = int(automaton.row(state)[byte])
        if state == DEAD:
            return False, False
    return True, automaton.accepts(state)
