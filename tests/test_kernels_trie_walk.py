"""The numpy trie walk (``numpy_walk``) against the numba kernel it stands in for.

Both must give the same allowed-token words and the same events in the same order, on random
tries and automata (nested and dead start nodes, merging lexemes) and on a real vocabulary with
the lexer states of a real grammar. The dispatcher (``trie_walk``) must give the same results
whichever kernel serves a call.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.kernels import numba_cpu, numpy_walk, trie_walk
from structgen.vocab import Vocabulary
from structgen.vocab.trie import build_trie
from tests.helpers.vocab_fixtures import gguf_vocab

ALPHABET = b"abcd"


def _run(kernel, trie, transitions, accepting, state, nodes, words, capacity):
    event_node = np.full(capacity, -7, dtype=np.int32)
    event_state = np.full(capacity, -7, dtype=np.int32)
    count = kernel(
        transitions, accepting, state, nodes, trie.node_byte, trie.node_depth, trie.subtree_end,
        trie.token_ptr, trie.token_ids, words, event_node, event_state,
    )  # fmt: skip
    return count, event_node[: max(count, 0)], event_state[: max(count, 0)]


def _same_walk(trie, transitions, accepting, state, nodes, num_words, capacity):
    """Both kernels on one walk: equal results, and -1 from both when the arrays are short."""
    results = []
    for kernel in (numba_cpu.walk_trie_events, numpy_walk.walk_trie_events):
        words = np.zeros(num_words, dtype=np.int32)
        count, event_node, event_state = _run(
            kernel, trie, transitions, accepting, state, nodes, words, capacity
        )
        results.append((count, event_node.tolist(), event_state.tolist(), words))
    (count, nodes_a, states_a, words_a), (count_b, nodes_b, states_b, words_b) = results
    assert count == count_b
    if count >= 0:
        assert (nodes_a, states_a) == (nodes_b, states_b)
        np.testing.assert_array_equal(words_a, words_b)
    return count


def _warm_up() -> None:
    """Load the numba kernel before hypothesis times its examples."""
    trie = build_trie(Vocabulary([b"a"], name="numpy-walk-warm-up"))
    _run(numba_cpu.walk_trie_events, trie, np.full((1, 256), -1, np.int32), np.zeros(1, bool),
         0, np.array([0], np.int32), np.zeros(1, np.int32), 1)  # fmt: skip


_warm_up()


@st.composite
def _cases(draw):
    words = draw(
        st.sets(
            st.binary(min_size=1, max_size=7).map(lambda b: bytes(ALPHABET[x % 4] for x in b)),
            min_size=1,
            max_size=40,
        )
    )
    tokens = sorted(words)
    vocab = Vocabulary(tokens + tokens[:3], name="numpy-walk")  # shared bytes: several ids
    states = draw(st.integers(1, 6))
    transitions = np.full((states, 256), -1, dtype=np.int32)
    for source in range(states):
        for byte in ALPHABET:
            transitions[source, byte] = draw(st.integers(-1, states - 1))
    accepting = np.array(
        draw(st.lists(st.booleans(), min_size=states, max_size=states)), dtype=np.bool_
    )
    trie = build_trie(vocab)
    starts = sorted(draw(st.sets(st.integers(0, trie.num_nodes - 1), min_size=1, max_size=10)))
    state = draw(st.integers(0, states - 1))
    return vocab, trie, transitions, accepting, state, np.array(starts, dtype=np.int32)


@given(_cases(), st.integers(1, 4))
def test_numpy_walk_matches_numba(case, capacity):
    vocab, trie, transitions, accepting, state, nodes = case
    num_words = (vocab.size + 31) // 32
    while _same_walk(trie, transitions, accepting, state, nodes, num_words, capacity) < 0:
        capacity *= 2


def test_numpy_walk_matches_numba_on_a_real_vocabulary():
    from structgen.runtime.compiler import compile_grammar

    vocab = gguf_vocab("gpt2")
    grammar = r"""
        start: value
        ?value: object | array | STRING | NUMBER | "true" | "false" | "null"
        object: "{" [pair ("," pair)*] "}"
        pair: STRING ":" value
        array: "[" [value ("," value)*] "]"
        STRING: /"([^"\\]|\\.)*"/
        NUMBER: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/
        WORD: /[a-z]+/
        %ignore /[ \t\n]+/
    """
    engine = compile_grammar(grammar, vocab, precompute=True, cache=False).automaton
    trie, lexer = engine.trie, engine.lexer
    num_words = (vocab.size + 31) // 32
    checked_events = 0
    for state in range(lexer.num_states):
        lexer.explore_around(state, engine.walk_radius)
        count = _same_walk(
            trie, lexer.transitions, lexer.has_accepting, state, np.array([0], np.int32),
            num_words, trie.num_nodes,
        )  # fmt: skip
        checked_events += count
        if count:  # a child walk below the events, as the engine starts one
            _, nodes, _ = _run(
                numba_cpu.walk_trie_events, trie, lexer.transitions, lexer.has_accepting, state,
                np.array([0], np.int32), np.zeros(num_words, np.int32), trie.num_nodes,
            )  # fmt: skip
            below = np.unique(nodes).astype(np.int32)
            _same_walk(
                trie, lexer.transitions, lexer.has_accepting, int(lexer.start_state(
                    frozenset(range(engine.num_real_terminals)))), below, num_words,
                trie.num_nodes,
            )  # fmt: skip
    assert lexer.num_states > 5 and checked_events > 0


def test_dispatcher_gives_the_same_results_before_and_after_numba_loads():
    vocab = Vocabulary([b"ab", b"abc", b"b", b"ba", b"c"], name="dispatch")
    trie = build_trie(vocab)
    transitions = np.full((2, 256), -1, dtype=np.int32)
    transitions[0, ord("a")] = 1
    transitions[1, ord("b")] = 0
    transitions[0, ord("b")] = 0
    transitions[1, ord("c")] = 1
    accepting = np.array([True, False])
    nodes = np.array([0], dtype=np.int32)
    expected = _run(numba_cpu.walk_trie_events, trie, transitions, accepting, 0, nodes,
                    np.zeros(1, np.int32), 8)  # fmt: skip
    first = _run(trie_walk.walk_trie_events, trie, transitions, accepting, 0, nodes,
                 np.zeros(1, np.int32), 8)  # fmt: skip
    trie_walk.start_loading_numba().join()
    assert trie_walk.numba_walk_ready()
    second = _run(trie_walk.walk_trie_events, trie, transitions, accepting, 0, nodes,
                  np.zeros(1, np.int32), 8)  # fmt: skip
    for got in (first, second):
        assert got[0] == expected[0]
        assert got[1].tolist() == expected[1].tolist() and got[2].tolist() == expected[2].tolist()


def test_a_fresh_process_walks_in_numpy_first_and_exits_cleanly_while_numba_loads():
    code = (
        "import sys, numpy as np\n"
        "from structgen.kernels import trie_walk\n"
        "trie_walk.LOAD_AFTER_SECONDS = 0.0  # start loading numba at the first walk\n"
        "from structgen.vocab import Vocabulary\n"
        "from structgen.vocab.trie import build_trie\n"
        "t = build_trie(Vocabulary([b'a', b'ab'], name='fresh'))\n"
        "tr = np.full((1, 256), -1, np.int32); tr[0, 97] = 0; tr[0, 98] = 0\n"
        "w = np.zeros(1, np.int32); e = np.zeros(4, np.int32)\n"
        "n = trie_walk.walk_trie_events(tr, np.array([True]), 0, np.array([0], np.int32),\n"
        "    t.node_byte, t.node_depth, t.subtree_end, t.token_ptr, t.token_ids, w, e, e.copy())\n"
        "print(n, int(w[0]), trie_walk._loader is not None)\n"
    )
    env = {**os.environ, "STRUCTGEN_TRIE_WALK": "auto"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    count, word, loading = done.stdout.split()
    assert (int(count), int(word), loading) == (1, 0b11, "True")


BUDGET_SCRIPT = """
import numpy as np
from structgen.kernels import trie_walk
from structgen.vocab import Vocabulary
from structgen.vocab.trie import build_trie

trie_walk.LOAD_AFTER_SECONDS = 0.05
t = build_trie(Vocabulary([bytes([a, b]) for a in range(256) for b in range(0, 256, 8)]))
tr = np.zeros((1, 256), np.int32)
w = np.zeros(t.token_ids.max() // 32 + 1, np.int32)
e = np.zeros(t.num_nodes, np.int32)
seen = []
for _ in range(400):
    trie_walk.walk_trie_events(
        tr, np.array([False]), 0, np.array([0], np.int32), t.node_byte, t.node_depth,
        t.subtree_end, t.token_ptr, t.token_ids, w, e, e.copy(),
    )
    seen.append(trie_walk._loader is not None)
trie_walk.start_loading_numba().join()
print(seen[0], seen[-1], trie_walk.numba_walk_ready(), int((w == -1).all()))
"""


def test_numba_is_loaded_only_after_numpy_walks_cost_the_budget():
    env = {**os.environ, "STRUCTGEN_TRIE_WALK": "auto"}
    done = subprocess.run(
        [sys.executable, "-c", BUDGET_SCRIPT], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True", "1"]


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(-(2**31), 2**31 - 1) | st.just(0), max_size=80))
def test_take_words_moves_the_nonzero_words_out_and_zeroes_them(values):
    """numba's ``take_words`` against numpy's ``flatnonzero``: positions in order, values,
    and the scratch words left all zero."""
    words = np.array(values, dtype=np.int32)
    expected_index = np.flatnonzero(words)
    expected_bits = words[expected_index]
    index, bits = np.empty_like(words), np.empty_like(words)
    count = numba_cpu.take_words(words, index, bits)
    assert index[:count].tolist() == expected_index.tolist()
    assert bits[:count].tolist() == expected_bits.tolist()
    assert not words.any()


@settings(deadline=None, max_examples=60)
@given(
    st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=40),
    st.data(),
)
def test_or_words_is_numpys_sparse_or(values, data):
    """numba's ``or_words`` against ``words[index] |= bits`` (a child walk's distinct word
    positions, as ``take_words`` gives them)."""
    words = np.array(values, dtype=np.int32)
    positions = data.draw(st.sets(st.integers(0, len(values) - 1)).map(sorted))
    index = np.array(positions, dtype=np.int32)
    bits = np.array(
        data.draw(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=len(positions),
                           max_size=len(positions))),
        dtype=np.int32,
    )  # fmt: skip
    expected = words.copy()
    expected[index] |= bits
    numba_cpu.or_words(words, index, bits)
    assert words.tolist() == expected.tolist()


def _lazy_walk(kernel, trie, transitions, accepting, state, nodes, num_words, sizes):
    """One resumable walk's writes: (result, events, frontier count, frontier, words)."""
    event_capacity, frontier_capacity = sizes
    event_node = np.full(event_capacity, -7, dtype=np.int32)
    event_state = np.full(event_capacity, -7, dtype=np.int32)
    frontier_node = np.full(frontier_capacity, -7, dtype=np.int32)
    frontier_state = np.full(frontier_capacity, -7, dtype=np.int32)
    frontier_count = np.zeros(1, dtype=np.int64)
    words = np.zeros(num_words, dtype=np.int32)
    result = kernel(
        transitions, accepting, state, nodes, trie.node_byte, trie.node_depth,
        trie.subtree_end, trie.token_ptr, trie.token_ids, words, event_node, event_state, 1,
        -3, frontier_node, frontier_state, frontier_count, int(trie.node_depth.max()) + 2,
    )  # fmt: skip
    if result < 0:
        return (result,)
    return (
        result, event_node.tolist(), event_state.tolist(), int(frontier_count[0]),
        frontier_node.tolist(), frontier_state.tolist(), words.tolist(),
    )  # fmt: skip


@given(_cases(), st.data(), st.integers(1, 6), st.integers(0, 4))
def test_the_one_state_walk_writes_what_the_lazy_walk_writes(case, data, events, frontier):
    """``walk_trie_events_one`` against the walk with a state set per node (what
    ``walk_trie_events_lazy`` runs where start nodes nest) on start nodes that do not nest, over
    a lexer with missing rows (the frontier, also past its arrays' length)."""
    vocab, trie, transitions, accepting, state, nodes = case
    disjoint: list[int] = []
    for node in nodes.tolist():  # (sorted) keep the nodes outside the subtrees kept before
        if not disjoint or trie.subtree_end[disjoint[-1]] <= node:
            disjoint.append(node)
    missing = data.draw(st.sets(st.integers(0, len(transitions) - 1)))
    transitions = transitions.copy()
    transitions[sorted(missing), 0] = -3  # (no walk reads a missing row past its marker)
    starts = np.array(disjoint, dtype=np.int32)
    num_words = (vocab.size + 31) // 32
    sizes = (events, frontier)
    one = _lazy_walk(numba_cpu.walk_trie_events_one, trie, transitions, accepting, state,
                     starts, num_words, sizes)  # fmt: skip
    sets = _lazy_walk(numba_cpu._walk_trie_events_sets, trie, transitions, accepting, state,
                      starts, num_words, sizes)  # fmt: skip
    assert one == sets
