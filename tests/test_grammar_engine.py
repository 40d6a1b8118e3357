"""Grammars end to end: bundled and random Lark/GBNF grammars, checked against lark's parser.

Completeness: strings sampled from the grammar (tests.helpers.grammar_sampler), tokenized by the
real tokenizers or split at random, are accepted token by token and end accepting. Soundness:
random walks under the mask, stopped when accepting, are parsed by lark's Earley parser with
``lexer="dynamic_complete"`` on the same grammar (the language the IR defines).
"""

from __future__ import annotations

import functools
import random

import lark
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structgen
from structgen.grammar.bundled import path_of
from structgen.grammar.loading import load_grammar
from structgen.kernels.numpy_ref import unpack_bitmask
from tests.helpers.grammar_sampler import sample
from tests.helpers.grammar_strategies import grammar_to_lark, lark_grammars
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary
from tests.helpers.vocab_fixtures import gguf_vocab, hf_tokenizer

VOCAB = synthetic_vocabulary()
EOS = VOCAB.eos_ids[0]
LARK_GRAMMARS = ["json", "arithmetic", "sql_select", "csv", "python_expr"]
GBNF_GRAMMARS = ["json.gbnf", "arithmetic.gbnf"]


@functools.cache
def compiled(name: str, vocab_name: str = "synthetic") -> structgen.CompiledGrammar:
    vocab = VOCAB if vocab_name == "synthetic" else gguf_vocab(vocab_name)
    return structgen.compile_grammar(name, vocab)


@functools.cache
def lark_parser(name: str) -> lark.Lark:
    """lark's Earley parser on the grammar's own text (GBNF grammars via the IR printed as Lark)."""
    if name.endswith(".gbnf"):
        text = grammar_to_lark(load_grammar(name))
    else:
        text = path_of(name).read_text()
    return lark.Lark(text, parser="earley", lexer="dynamic_complete", start="start")


def allowed_ids(matcher, size: int) -> np.ndarray:
    bitmask = structgen.allocate_token_bitmask(1, size)
    matcher.fill_next_token_bitmask(bitmask)
    return unpack_bitmask(bitmask, size)[0]


def accepts_tokens(grammar: structgen.CompiledGrammar, tokens: list[int]) -> bool:
    matcher = grammar.matcher()
    for token in tokens:
        if not allowed_ids(matcher, grammar.vocab_size)[token]:
            return False
        assert matcher.advance(token), "the mask allowed a token that advance refused"
    return matcher.is_accepting() and bool(
        allowed_ids(matcher, grammar.vocab_size)[grammar.vocab.eos_ids[0]]
    )


def random_walk(
    grammar: structgen.CompiledGrammar, rng: random.Random, max_steps: int = 30
) -> bytes | None:
    matcher = grammar.matcher()
    vocab = grammar.vocab
    eos = vocab.eos_ids[0]
    out = bytearray()
    for _ in range(max_steps):
        allowed = np.flatnonzero(allowed_ids(matcher, grammar.vocab_size))
        assert len(allowed), "a live configuration allows something"
        if matcher.is_accepting() and (rng.random() < 0.3 or list(allowed) == [eos]):
            assert matcher.advance(eos)
            return bytes(out)
        token = int(rng.choice([t for t in allowed.tolist() if t != eos]))
        assert matcher.advance(token)
        out += vocab.token_bytes[token]
    return None


@pytest.mark.parametrize("name", LARK_GRAMMARS + GBNF_GRAMMARS)
def test_samples_are_accepted_under_random_splits(name):
    grammar = load_grammar(name)
    rng = random.Random(1)
    for _ in range(25):
        text = sample(grammar, rng)
        lark_parser(name).parse(text)  # the sampler's own check: lark agrees it is in the language
        tokens = random_tokenization(VOCAB, text.encode("utf-8"), rng)
        assert accepts_tokens(compiled(name), tokens), text


@pytest.mark.parametrize("vocab_name", ["gpt2", "llama3", "smollm2"])
@pytest.mark.parametrize("name", LARK_GRAMMARS)
def test_samples_tokenized_by_real_tokenizers_are_accepted(name, vocab_name):
    grammar = load_grammar(name)
    tokenizer = hf_tokenizer(vocab_name)
    vocab = gguf_vocab(vocab_name)
    rng = random.Random(2)
    checked = 0
    for _ in range(12):
        text = sample(grammar, rng)
        ids = tokenizer.encode(text, add_special_tokens=False)
        if b"".join(vocab.token_bytes[i] for i in ids) != text.encode("utf-8"):
            continue  # the tokenizer cannot spell this text (e.g. SmolLM2 lacks some bytes)
        assert accepts_tokens(compiled(name, vocab_name), ids), text
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("name", LARK_GRAMMARS + GBNF_GRAMMARS)
@pytest.mark.parametrize("seed", range(8))
def test_random_walks_parse_with_lark(name, seed):
    walked = random_walk(compiled(name), random.Random(seed))
    if walked is not None:
        lark_parser(name).parse(walked.decode("utf-8"))


@pytest.mark.parametrize("name", ["json", "arithmetic"])
def test_random_walks_on_a_real_vocabulary_parse_with_lark(name):
    grammar = compiled(name, "llama3")
    finished = 0
    for seed in range(12):
        walked = random_walk(grammar, random.Random(seed), max_steps=25)
        if walked is not None:
            lark_parser(name).parse(walked.decode("utf-8"))
            finished += 1
    assert finished >= 1


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=lark_grammars(), seed=st.integers(0, 2**32 - 1))
def test_random_grammars_complete_and_sound(text, seed):
    rng = random.Random(seed)
    grammar = load_grammar(text, syntax="lark")
    compiled_grammar = structgen.compile_grammar(grammar, VOCAB)
    parser = lark.Lark(text, parser="earley", lexer="dynamic_complete")
    for _ in range(3):
        sampled = sample(grammar, rng, max_terminals=12)
        tokens = random_tokenization(VOCAB, sampled.encode("utf-8"), rng)
        assert accepts_tokens(compiled_grammar, tokens), sampled
    for _ in range(3):
        walked = random_walk(compiled_grammar, rng, max_steps=12)
        if walked is not None:
            parser.parse(walked.decode("utf-8"))


@pytest.mark.parametrize("name", ["json", "python_expr"])
def test_rollback_and_fork_give_the_masks_of_a_fresh_matcher(name):
    grammar = compiled(name)
    rng = random.Random(3)
    for _ in range(5):
        text = sample(load_grammar(name), rng)
        tokens = random_tokenization(VOCAB, text.encode("utf-8"), rng)
        matcher = grammar.matcher()
        for token in tokens:
            assert matcher.advance(token)
        twin = matcher.fork()
        n = rng.randint(0, len(tokens))
        matcher.rollback(n)
        fresh = grammar.matcher()
        for token in tokens[: len(tokens) - n]:
            fresh.advance(token)
        assert (allowed_ids(matcher, VOCAB.size) == allowed_ids(fresh, VOCAB.size)).all()
        assert twin.num_steps == len(tokens) and twin.is_accepting()


def test_forced_tokens_follow_the_grammar():
    grammar = structgen.compile_grammar(
        'start: "say " GREETING " to " NAME\nGREETING: "hello" | "hi"\nNAME: /[a-z]+/\n', VOCAB
    )
    matcher = grammar.matcher()
    assert matcher.forced_bytes() == b"say h"  # both greetings start with h
    for token in matcher.forced_tokens():
        assert matcher.advance(token)
    assert matcher.forced_bytes() == b""  # "e" or "i"
    assert matcher.advance(ord("e"))
    forced = matcher.forced_tokens()
    assert b"".join(VOCAB.token_bytes[t] for t in forced) == b"llo to "
    for token in forced:
        assert matcher.advance(token)
    assert not matcher.is_accepting() and matcher.forced_tokens() == []
