"""``ByteDFA.future_digest``: equal digests exactly when two states accept the same continuations.

The engine shares a root trie walk between DFA states with equal digests (the whitespace and
colon after every schema's "any other key" string, a number's tail), so a digest collision
between different futures would be an unsound mask. Oracle: brute force — every continuation
up to five bytes over the bytes the patterns use, read with ``ByteDFA.walk``. The DFAs are
minimal, so equal futures also mean equal digests (the test checks both directions).
"""

from __future__ import annotations

from itertools import product

import pytest

from structgen.regex.dfa import DEAD, regex_to_dfa

PATTERNS = [
    r'ab"[ \t]{0,3}:[ \t]{0,2}',
    r'cd+"[ \t]{0,3}:[ \t]{0,2}',
    r'(x|yz)*"[ \t]{0,3}:[ \t]{0,2}',
    r"-?(0|[1-9][0-9]*)(\.[0-9]+)?",
    r"[0-9]{1,3}(\.[0-9]+)?",
    r"a{2,4}b?",
    r"(aa)+",  # the same transitions as a(aa)*, the other state accepting
    r"a(aa)*",
]
ALPHABET = b'abcdxyz" \t:-.09'


def _continuations(length: int) -> list[bytes]:
    return [bytes(t) for n in range(length + 1) for t in product(ALPHABET, repeat=n)]


CONTINUATIONS = _continuations(4)


def _language(dfa, state: int) -> frozenset[bytes]:
    """The continuations (from ``CONTINUATIONS``) that ``state`` accepts."""
    accepted = []
    for text in CONTINUATIONS:
        end = dfa.walk(state, text)
        if end != DEAD and dfa.accepts(end):
            accepted.append(text)
    return frozenset(accepted)


@pytest.fixture(scope="module")
def states():
    """(pattern, state, digest, language) for every state of every pattern's DFA."""
    out = []
    for pattern in PATTERNS:
        dfa = regex_to_dfa(pattern)
        for state in range(dfa.num_states):
            digest = dfa.future_digest(state)
            assert digest is not None  # every state here has few reachable states
            out.append((pattern, state, digest, _language(dfa, state)))
    return out


def test_equal_digests_mean_equal_continuations_and_back(states):
    shared_across_patterns = 0
    for i, (pattern_a, state_a, digest_a, language_a) in enumerate(states):
        for pattern_b, state_b, digest_b, language_b in states[i + 1 :]:
            where = f"{pattern_a!r} state {state_a} vs {pattern_b!r} state {state_b}"
            if digest_a == digest_b:
                assert language_a == language_b, where
                shared_across_patterns += pattern_a != pattern_b
            else:
                assert language_a != language_b, f"equal futures, different digests: {where}"
    # The three key tails share their states after the quote (whitespace, colon, whitespace),
    # and the two number patterns share their fraction digits.
    assert shared_across_patterns >= 3 * 5


def test_a_large_future_is_not_hashed():
    dfa = regex_to_dfa(r"[a-z]{0,200}")
    assert dfa.future_digest(0) is None
    assert dfa.future_digest(0, max_states=512) is not None
    assert dfa.future_digest(dfa.walk(0, b"a" * 199)) is not None  # two states left


@pytest.mark.parametrize("max_states", [3, 128])
def test_the_numba_pass_and_the_python_pass_give_the_same_digests(monkeypatch, max_states):
    """Digests made before numba loads and after must agree (they key one shared walk)."""
    from structgen.kernels import trie_walk
    from structgen.regex import dfa as dfa_module

    trie_walk._wait_for_numba()
    assert trie_walk.future_table_kernel() is not None
    tables = [regex_to_dfa(pattern) for pattern in [*PATTERNS, r"[a-z]{0,200}", r"(ab|c)*d"]]
    in_numba = [
        [dfa.future_digest(state, max_states=max_states) for state in range(dfa.num_states)]
        for dfa in tables
    ]
    monkeypatch.setattr(dfa_module, "future_table_kernel", lambda: None)
    in_python = [
        [dfa.future_digest(state, max_states=max_states) for state in range(dfa.num_states)]
        for dfa in tables
    ]
    assert in_numba == in_python
    assert any(d is None for row in in_numba for d in row)  # (past the limit: not hashed)
    assert any(d is not None for row in in_numba for d in row)
