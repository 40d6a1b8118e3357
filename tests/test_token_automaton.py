"""Regex × vocabulary → token masks and the Matcher, against independent oracles.

Oracles: Python's ``re`` (re.ASCII) for the language, and a brute-force walk of every token's
bytes through the DFA for the masks.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structgen
from structgen.errors import ConfigurationError
from structgen.kernels.numpy_ref import unpack_bitmask
from structgen.regex.dfa import DEAD
from tests.helpers.regex_strategies import regexes
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VOCAB = synthetic_vocabulary()
EOS = VOCAB.eos_ids[0]


def compile_synthetic(pattern: str) -> structgen.CompiledGrammar:
    return structgen.compile_regex(pattern, VOCAB, cache=False)


def allowed_ids(matcher) -> set[int]:
    bitmask = structgen.allocate_token_bitmask(1, VOCAB.size)
    matcher.fill_next_token_bitmask(bitmask)
    return set(np.flatnonzero(unpack_bitmask(bitmask, VOCAB.size)[0]).tolist())


def brute_force_allowed(compiled, state: int) -> set[int]:
    dfa = compiled.automaton.dfa
    allowed = {
        token_id
        for token_id, data in enumerate(VOCAB.token_bytes)
        if data and token_id not in VOCAB.special_ids and dfa.walk(state, data) != DEAD
    }
    if dfa.accepting[state]:
        allowed |= set(VOCAB.eos_ids)
    return allowed


@PROPERTY
@given(pattern=regexes())
def test_masks_equal_the_brute_force_walk_in_every_state(pattern):
    compiled = compile_synthetic(pattern)
    for state in range(min(compiled.num_states, 50)):
        expected = brute_force_allowed(compiled, state)
        row = compiled.automaton.mask(state)
        got = set(np.flatnonzero(unpack_bitmask(row[None, :], VOCAB.size)[0]).tolist())
        assert got == expected, (pattern, state)


@PROPERTY
@given(data=st.data(), pattern=regexes(), seed=st.integers(0, 2**32 - 1))
def test_complete_every_token_of_a_matching_string_is_allowed(data, pattern, seed):
    text = data.draw(st.from_regex(re.compile(pattern, re.ASCII), fullmatch=True))
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(seed))
    matcher = compile_synthetic(pattern).matcher()
    for step, token in enumerate(tokens):
        assert token in allowed_ids(matcher), (pattern, text, step)
        assert matcher.accepts(token)
        assert matcher.advance(token)
    assert matcher.is_accepting()
    assert EOS in allowed_ids(matcher)
    assert matcher.advance(EOS) and matcher.is_terminated()


@PROPERTY
@given(pattern=regexes(), seed=st.integers(0, 2**32 - 1))
def test_sound_random_walks_under_the_mask_fullmatch(pattern, seed):
    rng = random.Random(seed)
    matcher = compile_synthetic(pattern).matcher()
    out = bytearray()
    for _ in range(30):
        allowed = sorted(allowed_ids(matcher))
        assert allowed, "a live state always allows something"
        if EOS in allowed and (rng.random() < 0.3 or allowed == [EOS]):
            break
        token = rng.choice([t for t in allowed if t != EOS])
        assert matcher.advance(token)
        out += VOCAB.token_bytes[token]
    else:
        return  # walk did not finish: nothing to check about a complete string
    assert matcher.advance(EOS)
    assert re.fullmatch(pattern, out.decode("utf-8"), re.ASCII), (pattern, bytes(out))


def test_special_padding_and_empty_tokens_are_never_allowed():
    matcher = compile_synthetic(r"(?s).*").matcher()
    allowed = allowed_ids(matcher)
    assert allowed.isdisjoint(VOCAB.special_ids - set(VOCAB.eos_ids))
    assert max(allowed) < len(VOCAB.token_bytes)
    padding = range(len(VOCAB.token_bytes), VOCAB.size)
    assert not any(matcher.accepts(token) for token in padding)


def test_multibyte_characters_can_be_split_across_tokens():
    matcher = compile_synthetic(r"日本").matcher()
    fragment = VOCAB.token_bytes.index("日".encode()[:2])
    assert matcher.advance(fragment)
    assert not matcher.accepts(ord("a"))  # inside a character only its continuation bytes fit
    assert matcher.advance("日".encode()[2])  # the single-byte token finishing the character
    for byte in "本".encode():
        assert matcher.advance(byte)
    assert matcher.is_accepting()


def test_forced_tokens_cover_the_decided_prefix():
    matcher = compile_synthetic(r"abc(d|e)").matcher()
    forced = matcher.forced_tokens()
    assert b"".join(VOCAB.token_bytes[t] for t in forced) == b"abc"
    for token in forced:
        assert matcher.advance(token)
    assert matcher.forced_tokens() == []


def test_disk_cache_round_trip(tmp_path):
    first = structgen.compile_regex(r"[a-c]+\d?", VOCAB, cache_dir=tmp_path)
    second = structgen.compile_regex(r"[a-c]+\d?", VOCAB, cache_dir=tmp_path)
    assert not first.from_cache and second.from_cache
    for state in range(first.num_states):
        assert (first.automaton.mask(state) == second.automaton.mask(state)).all()


def test_lazy_masks_equal_eager_masks():
    from structgen.engines.dfa.token_dfa import TokenDFA

    eager = compile_synthetic(r"[a-z]{1,4}@\d+")
    lazy = TokenDFA(eager.automaton.dfa, VOCAB, eager_mask_bytes=0)
    for state in range(eager.num_states):
        assert (lazy.mask(state) == eager.automaton.mask(state)).all()


def test_compile_rejects_a_non_vocabulary():
    with pytest.raises(ConfigurationError, match="expected a structgen.Vocabulary"):
        structgen.compile_regex("a", ["a", "b"])  # type: ignore[arg-type]
