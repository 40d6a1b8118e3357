"""The Matcher contract (``structgen/matcher.py``), one table of tests for every engine.

Each case is a compiled constraint: a regex (token DFA) and grammars (Earley engine) on the
synthetic vocabulary, and both engines on GPT-2's real vocabulary. The oracles are the
contract's own cross-checks: the mask written by ``fill_next_token_bitmask`` against
``accepts`` token by token, ``advance`` against ``accepts``, and every history operation
(rollback, fork, reset) against a fresh matcher that replays the same tokens.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structgen
from structgen.errors import ConfigurationError
from structgen.kernels.numpy_ref import unpack_bitmask
from structgen.matcher import Matcher
from structgen.vocab import Vocabulary
from tests.helpers.ir_grammars import JSON
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary
from tests.helpers.vocab_fixtures import gguf_vocab

RECORD_REGEX = r'\{"id": \d{1,3}(, "ok": (true|false))?\}'
RECORD_LARK = r"""
start: "{\"id\": " INT (", \"ok\": " BOOL)? "}"
INT: /[0-9]{1,3}/
BOOL: "true" | "false"
"""


@dataclass(frozen=True)
class Case:
    name: str
    vocabulary: str  # "synthetic" or a real vocabulary's name
    constraint: str  # "regex", "lark" or "json-ir"
    start_forced: bytes  # what the constraint alone decides at its start
    sample: bytes  # a complete text of the constraint

    @property
    def vocab(self) -> Vocabulary:
        return _vocab(self.vocabulary)

    @property
    def compiled(self) -> structgen.CompiledGrammar:
        return _compiled(self)

    @property
    def real(self) -> bool:
        return self.vocabulary != "synthetic"


@cache
def _vocab(name: str) -> Vocabulary:
    return synthetic_vocabulary() if name == "synthetic" else gguf_vocab(name)


@cache
def _compiled(case: Case) -> structgen.CompiledGrammar:
    if case.constraint == "regex":
        return structgen.compile_regex(RECORD_REGEX, case.vocab, cache=False)
    source = RECORD_LARK if case.constraint == "lark" else JSON
    return structgen.compile_grammar(source, case.vocab)


RECORD = b'{"id": 42, "ok": true}'
VALUE = b'{"a": [1, true], "b": "x"}'
CASES = [
    Case("regex", "synthetic", "regex", b'{"id": ', RECORD),
    Case("lark", "synthetic", "lark", b'{"id": ', RECORD),
    Case("json", "synthetic", "json-ir", b"", VALUE),
    Case("regex-gpt2", "gpt2", "regex", b'{"id": ', RECORD),
    Case("json-gpt2", "gpt2", "json-ir", b"", VALUE),
]
case_param = pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def allowed_of(matcher: Matcher, vocab: Vocabulary) -> frozenset[int]:
    bitmask = structgen.allocate_token_bitmask(1, vocab.size)
    matcher.fill_next_token_bitmask(bitmask)
    return frozenset(np.flatnonzero(unpack_bitmask(bitmask, vocab.size)[0]).tolist())


def probe_tokens(case: Case, allowed: frozenset[int], rng: np.random.Generator) -> list[int]:
    """Every token on the synthetic vocabulary; on a real one the allowed tokens (up to 400),
    400 random others, the EOS ids and the ids just outside the vocabulary."""
    size = case.vocab.size
    if not case.real:
        return list(range(-1, size + 1))
    picked = sorted(allowed)
    extra = rng.choice(size, 400, replace=False).tolist()
    chosen = rng.choice(picked, min(400, len(picked)), replace=False).tolist() if picked else []
    return sorted({*chosen, *extra, *case.vocab.eos_ids, -1, size})


def check_mask_agrees(case: Case, matcher: Matcher, rng: np.random.Generator) -> frozenset[int]:
    """fill, accepts and advance say the same thing about every probed token."""
    allowed = allowed_of(matcher, case.vocab)
    for token in probe_tokens(case, allowed, rng):
        assert matcher.accepts(token) == (token in allowed), token
    for token in rng.permutation(sorted(allowed))[:5].tolist() + [-1]:
        twin = matcher.fork()
        assert twin.advance(token) == (token in allowed)
        assert twin.num_steps == matcher.num_steps + (token in allowed)
    eos = case.vocab.eos_ids[0]
    assert matcher.is_accepting() == (eos in allowed) == matcher.accepts(eos)
    return allowed


def walk(case: Case, data: st.DataObject, steps: int) -> tuple[Matcher, list[int]]:
    """A matcher moved along ``steps`` random allowed (non-EOS) tokens."""
    matcher = case.compiled.matcher()
    fed: list[int] = []
    eos = set(case.vocab.eos_ids)
    for _ in range(steps):
        choices = sorted(allowed_of(matcher, case.vocab) - eos)
        if not choices:
            break
        token = data.draw(st.sampled_from(choices))
        assert matcher.advance(token)
        fed.append(token)
    return matcher, fed


def replay(case: Case, tokens: list[int]) -> Matcher:
    matcher = case.compiled.matcher()
    for token in tokens:
        assert matcher.advance(token)
    return matcher


@case_param
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_fill_accepts_and_advance_agree_along_walks(case, data, seed):
    rng = np.random.default_rng(seed)
    matcher = case.compiled.matcher()
    eos = set(case.vocab.eos_ids)
    for _ in range(data.draw(st.integers(0, 6 if case.real else 12))):
        allowed = check_mask_agrees(case, matcher, rng)
        choices = sorted(allowed - eos)
        if not choices:
            break
        assert matcher.advance(data.draw(st.sampled_from(choices)))
    check_mask_agrees(case, matcher, rng)


@case_param
@PROPERTY
@given(data=st.data())
def test_history_operations_equal_a_replay(case, data):
    # A model of the history: the tokens fed so far, per live matcher.
    matcher, fed = walk(case, data, data.draw(st.integers(0, 8)))
    live: list[tuple[Matcher, list[int]]] = [(matcher, fed)]
    for _ in range(data.draw(st.integers(1, 8))):
        index = data.draw(st.integers(0, len(live) - 1))
        matcher, fed = live[index]
        operation = data.draw(st.sampled_from(["advance", "rollback", "fork", "reset"]))
        if operation == "advance":
            choices = sorted(allowed_of(matcher, case.vocab) - set(case.vocab.eos_ids))
            if choices:
                token = data.draw(st.sampled_from(choices))
                assert matcher.advance(token)
                live[index] = (matcher, fed + [token])
        elif operation == "rollback":
            n = data.draw(st.integers(0, len(fed)))
            matcher.rollback(n)
            live[index] = (matcher, fed[: len(fed) - n])
        elif operation == "fork":
            live.append((matcher.fork(), list(fed)))
        else:
            matcher.reset()
            live[index] = (matcher, [])
    for matcher, fed in live:
        assert matcher.num_steps == len(fed)
        fresh = replay(case, fed)
        assert allowed_of(matcher, case.vocab) == allowed_of(fresh, case.vocab)
        assert matcher.is_accepting() == fresh.is_accepting()
        assert matcher.forced_tokens() == fresh.forced_tokens()


@case_param
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_a_forbidden_token_is_refused_and_changes_nothing(case, data, seed):
    matcher, _ = walk(case, data, data.draw(st.integers(0, 6)))
    allowed = allowed_of(matcher, case.vocab)
    forbidden = sorted(set(range(case.vocab.size)) - allowed)
    token = data.draw(st.sampled_from(forbidden + [-1, case.vocab.size, 10**9]))
    steps, accepting, forced = matcher.num_steps, matcher.is_accepting(), matcher.forced_tokens()
    assert not matcher.advance(token)
    assert not matcher.accepts(token)
    assert allowed_of(matcher, case.vocab) == allowed
    assert (matcher.num_steps, matcher.is_accepting(), matcher.forced_tokens()) == (
        steps,
        accepting,
        forced,
    )


@case_param
@PROPERTY
@given(data=st.data())
def test_forced_tokens_are_what_every_allowed_token_agrees_with(case, data):
    matcher, _ = walk(case, data, data.draw(st.integers(0, 6)))
    forced = matcher.forced_tokens()
    text = b"".join(case.vocab.token_bytes[token] for token in forced)
    if not forced:
        return
    assert not matcher.is_accepting(), "a choice remains where the text may end"
    for token in allowed_of(matcher, case.vocab):
        data_bytes = case.vocab.token_bytes[token]
        common = min(len(data_bytes), len(text))
        assert data_bytes[:common] == text[:common], (token, data_bytes, text)
    for token in forced:
        assert matcher.advance(token)


@case_param
def test_forced_tokens_at_the_start(case):
    matcher = case.compiled.matcher()
    forced = matcher.forced_tokens()
    assert b"".join(case.vocab.token_bytes[t] for t in forced) == case.start_forced


@case_param
@PROPERTY
@given(data=st.data())
def test_end_of_sequence_terminates_and_then_only_eos_is_allowed(case, data):
    matcher, fed = walk(case, data, data.draw(st.integers(0, 10)))
    eos = case.vocab.eos_ids[0]
    assert not matcher.is_terminated()
    if not matcher.is_accepting():
        assert not matcher.advance(eos) and matcher.num_steps == len(fed)
        return
    assert matcher.advance(eos)
    assert matcher.is_terminated() and matcher.is_accepting()
    assert allowed_of(matcher, case.vocab) == frozenset(case.vocab.eos_ids)
    assert matcher.forced_tokens() == []
    matcher.rollback(1)
    assert not matcher.is_terminated() and matcher.num_steps == len(fed)


@case_param
@pytest.mark.parametrize("seed", range(3))
def test_a_complete_text_is_accepting_and_end_of_sequence_terminates_it(case, seed):
    tokens = random_tokenization(case.vocab, case.sample, random.Random(seed))
    matcher = replay(case, tokens)
    assert matcher.is_accepting() and not matcher.is_terminated()
    eos = case.vocab.eos_ids[0]
    assert matcher.advance(eos)
    assert matcher.is_terminated() and matcher.num_steps == len(tokens) + 1
    assert allowed_of(matcher, case.vocab) == frozenset(case.vocab.eos_ids)
    assert not matcher.accepts(tokens[0]) and not matcher.advance(tokens[0])
    matcher.rollback(1)
    assert matcher.is_accepting() and not matcher.is_terminated()


@case_param
def test_fill_says_whether_applying_the_mask_changes_anything(case):
    matcher = case.compiled.matcher()
    bitmask = structgen.allocate_token_bitmask(3, case.vocab.size)
    before = bitmask.copy()
    needed = matcher.fill_next_token_bitmask(bitmask, 1)
    assert needed == bool((bitmask[1] != -1).any())
    assert (bitmask[[0, 2]] == before[[0, 2]]).all(), "only the requested row is written"


@case_param
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_fill_writes_the_row_asked_for_whatever_was_filled_before(case, data, seed):
    """Along a walk, filling rows of two reused bitmasks (the matcher keeps the last row's
    view) writes exactly the requested row, equal to a fill of a new bitmask."""
    rng = np.random.default_rng(seed)
    matcher = case.compiled.matcher()
    bitmasks = [structgen.allocate_token_bitmask(3, case.vocab.size) for _ in range(2)]
    eos = set(case.vocab.eos_ids)
    for _ in range(data.draw(st.integers(1, 6))):
        expected = structgen.allocate_token_bitmask(1, case.vocab.size)
        matcher.fill_next_token_bitmask(expected)
        for _ in range(3):
            bitmask, row = bitmasks[int(rng.integers(2))], int(rng.integers(3))
            bitmask[:] = 0
            matcher.fill_next_token_bitmask(bitmask, row)
            assert (bitmask[row] == expected[0]).all()
            assert not bitmask[np.arange(3) != row].any(), "only the requested row is written"
        choices = sorted(allowed_of(matcher, case.vocab) - eos)
        if not choices or not matcher.advance(data.draw(st.sampled_from(choices))):
            break
    with pytest.raises(ConfigurationError, match=r"row index in \[0, 3\).*got 3"):
        matcher.fill_next_token_bitmask(bitmasks[0], 3)


@case_param
def test_misuse_is_a_named_error(case):
    matcher = case.compiled.matcher()
    size = case.vocab.size
    with pytest.raises(ConfigurationError, match=r"row index in \[0, 2\).*got -1"):
        matcher.fill_next_token_bitmask(structgen.allocate_token_bitmask(2, size), -1)
    with pytest.raises(ConfigurationError, match=r"row index in \[0, 2\).*got 2"):
        matcher.fill_next_token_bitmask(structgen.allocate_token_bitmask(2, size), 2)
    with pytest.raises(ConfigurationError, match="int32 bitmask of shape"):
        matcher.fill_next_token_bitmask(np.zeros((1, 3), dtype=np.int32))
    with pytest.raises(ConfigurationError, match="cannot roll back 1 steps: the matcher has 0"):
        matcher.rollback(1)
    with pytest.raises(ConfigurationError, match="cannot roll back -1 steps"):
        matcher.rollback(-1)


@case_param
def test_compiled_grammar_is_immutable_and_describes_its_automaton(case):
    compiled = case.compiled
    assert compiled.kind == ("regex" if case.constraint == "regex" else "grammar")
    assert compiled.vocab_size == case.vocab.size and compiled.num_states >= 1
    stats = compiled.stats()
    assert stats["vocab_size"] == case.vocab.size and stats["memory_bytes"] > 0
    assert stats["compile_seconds"] == compiled.compile_seconds > 0
    with pytest.raises(AttributeError):
        compiled.source = "changed"  # type: ignore[misc]


def test_json_schema_metadata_is_set_at_construction():
    compiled = structgen.compile_json_schema({"type": "integer"}, _vocab("synthetic"))
    assert compiled.source == "json schema" and compiled.kind == "grammar"
    assert compiled.stats()["compile_seconds"] == compiled.compile_seconds > 0
