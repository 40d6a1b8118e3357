"""The grammar engine's trie walk (``numba_cpu.walk_trie_events``) against a plain oracle.

The oracle walks every path below every start node separately, so it sees each split of a
token into lexemes on its own; the kernel merges them per (trie node, lexer state) and must
report exactly the same allowed tokens and the same distinct events.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from structgen.kernels.numba_cpu import walk_trie_events
from structgen.vocab import Vocabulary
from structgen.vocab.trie import build_trie

ALPHABET = b"abc"


def _oracle(trie, transitions, accepting, state, starts):
    paths = {0: b""}
    for node in range(1, trie.num_nodes):
        parent = node - 1
        while trie.node_depth[parent] != trie.node_depth[node] - 1:
            parent -= 1
        paths[node] = paths[parent] + bytes([int(trie.node_byte[node])])
    tokens, events = set(), set()
    for start in starts:
        for node in range(start + 1, int(trie.subtree_end[start])):
            current = state
            for byte in paths[node][len(paths[start]) :]:
                current = int(transitions[current, byte])
                if current < 0:
                    break
            if current < 0:
                continue
            tokens.update(trie.token_ids[trie.token_ptr[node] : trie.token_ptr[node + 1]].tolist())
            if accepting[current] and trie.subtree_end[node] > node + 1:
                events.add((node, current))
    return tokens, events


def _warm_up() -> None:
    """Compile the kernel before hypothesis times its examples (numba JITs on first call)."""
    trie = build_trie(Vocabulary([b"a"], name="walk-warm-up"))
    walk_trie_events(
        np.full((1, 256), -1, np.int32), np.zeros(1, np.bool_), 0, np.array([0], np.int32),
        trie.node_byte, trie.node_depth, trie.subtree_end, trie.token_ptr, trie.token_ids,
        np.zeros(1, np.int32), np.empty(1, np.int32), np.empty(1, np.int32),
    )  # fmt: skip


_warm_up()


@st.composite
def _cases(draw):
    words = draw(
        st.sets(
            st.binary(min_size=1, max_size=6).map(lambda b: bytes(ALPHABET[x % 3] for x in b)),
            min_size=1,
            max_size=30,
        )
    )
    vocab = Vocabulary(sorted(words), name=f"walk-{sorted(words)!r}")
    states = draw(st.integers(1, 4))
    transitions = np.full((states, 256), -1, dtype=np.int32)
    for source in range(states):
        for byte in ALPHABET:
            transitions[source, byte] = draw(st.integers(-1, states - 1))
    accepting = np.array(
        draw(st.lists(st.booleans(), min_size=states, max_size=states)), dtype=np.bool_
    )
    trie = build_trie(vocab)
    starts = sorted(draw(st.sets(st.integers(0, trie.num_nodes - 1), min_size=1, max_size=8)))
    return vocab, trie, transitions, accepting, draw(st.integers(0, states - 1)), starts


@given(_cases(), st.integers(1, 3))
def test_walk_matches_path_by_path_oracle(case, capacity):
    vocab, trie, transitions, accepting, state, starts = case
    expected_tokens, expected_events = _oracle(trie, transitions, accepting, state, starts)
    nodes = np.array(starts, dtype=np.int32)
    while True:  # too small event arrays are reported (-1), never overrun
        words = np.zeros((vocab.size + 31) // 32, dtype=np.int32)
        event_node = np.full(capacity, -7, dtype=np.int32)
        event_state = np.full(capacity, -7, dtype=np.int32)
        count = walk_trie_events(
            transitions, accepting, state, nodes, trie.node_byte, trie.node_depth, trie.subtree_end,
            trie.token_ptr, trie.token_ids, words, event_node, event_state,
        )  # fmt: skip
        if count >= 0:
            break
        capacity *= 2
    allowed = {t for t in range(vocab.size) if (int(words[t >> 5]) >> (t & 31)) & 1}
    assert allowed == expected_tokens
    events = list(zip(event_node[:count].tolist(), event_state[:count].tolist()))
    assert len(events) == len(set(events))  # one event per distinct (node, state)
    assert set(events) == expected_events
