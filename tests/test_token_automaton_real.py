"""Regex token automata on the real vocabularies, tokenized by the real tokenizers."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structgen
from structgen.kernels.numpy_ref import unpack_bitmask
from tests.helpers.regex_strategies import regexes
from tests.helpers.vocab_fixtures import REAL_VOCAB_NAMES, gguf_vocab, hf_tokenizer

REALISTIC = [
    r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,6}",
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})",
    r"((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)",
    r"\(\d{3}\) \d{3}-\d{4}",
    r"(Paris|London|Tokyo|New York|São Paulo|東京) is (big|small)",
    r'\{"name": "[^"\\]{0,20}", "age": \d{1,3}\}',
]
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _allowed(matcher, size: int) -> np.ndarray:
    bitmask = structgen.allocate_token_bitmask(1, size)
    matcher.fill_next_token_bitmask(bitmask)
    return unpack_bitmask(bitmask, size)[0]


def _check_tokens_accepted(compiled, token_ids: list[int]) -> None:
    matcher = compiled.matcher()
    for step, token in enumerate(token_ids):
        assert _allowed(matcher, compiled.vocab_size)[token], (
            f"token {token} refused at step {step}"
        )
        assert matcher.advance(token)
    assert matcher.is_accepting()
    eos = compiled.vocab.eos_ids[0]
    assert _allowed(matcher, compiled.vocab_size)[eos]


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
@pytest.mark.parametrize("pattern", REALISTIC)
def test_real_tokenizations_are_accepted(name, pattern):
    vocab = gguf_vocab(name)
    tokenizer = hf_tokenizer(name)
    compiled = structgen.compile_regex(pattern, vocab)
    strategy = st.from_regex(re.compile(pattern, re.ASCII), fullmatch=True)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=strategy)
    def check(text):
        ids = tokenizer.encode(text, add_special_tokens=False)
        if b"".join(vocab.token_bytes[i] for i in ids) != text.encode("utf-8"):
            # SentencePiece prefixes a space; some vocabularies lack byte tokens (SmolLM2 has no
            # 0xF1): such tokenizations are not the text, so there is nothing to check.
            return
        _check_tokens_accepted(compiled, ids)

    check()


@pytest.mark.parametrize("name", ["gpt2", "llama3"])
@PROPERTY
@given(data=st.data(), pattern=regexes())
def test_random_regexes_complete_with_real_tokenizers(name, data, pattern):
    vocab = gguf_vocab(name)
    text = data.draw(st.from_regex(re.compile(pattern, re.ASCII), fullmatch=True))
    ids = hf_tokenizer(name).encode(text, add_special_tokens=False)
    if b"".join(vocab.token_bytes[i] for i in ids) != text.encode("utf-8"):
        return  # the tokenizer normalised the text (e.g. dropped \r): nothing to check against
    _check_tokens_accepted(structgen.compile_regex(pattern, vocab, cache=False), ids)


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_random_walks_on_real_vocabularies_fullmatch(name):
    vocab = gguf_vocab(name)
    rng = random.Random(7)
    eos = vocab.eos_ids[0]
    for pattern in REALISTIC:
        compiled = structgen.compile_regex(pattern, vocab)
        for _ in range(10):
            matcher = compiled.matcher()
            out = bytearray()
            for _ in range(60):
                allowed = np.flatnonzero(_allowed(matcher, vocab.size))
                assert len(allowed), "a live state allows something"
                if matcher.is_accepting() and (rng.random() < 0.5 or list(allowed) == [eos]):
                    break
                token = int(rng.choice([t for t in allowed if t != eos]))
                assert matcher.advance(token)
                out += vocab.token_bytes[token]
            else:
                continue
            assert matcher.advance(eos)
            assert re.fullmatch(pattern, out.decode("utf-8"), re.ASCII), (pattern, bytes(out))
