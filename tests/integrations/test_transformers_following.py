"""StructgenLogitsProcessor follows the ids it is given: rollbacks, reordered rows, drafts.

Oracles: a fresh matcher fed the same tokens (its mask), and ``model.generate`` without
assisted generation (the same greedy tokens). The model is a tiny random Llama over the small
synthetic vocabulary: the rollback logic needs no real model.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from structgen import compile_regex
from structgen.bitmask import allocate_token_bitmask
from structgen.integrations.transformers import StructgenLogitsProcessor
from tests.helpers.synthetic_vocab import synthetic_vocabulary

transformers = pytest.importorskip("transformers")

VOCAB = synthetic_vocabulary()
EOS = VOCAB.eos_ids[0]
PAD = 0  # byte 0x00: never allowed by the patterns below
PATTERN = r"[a-c]{2,8}(x|yz)"
PROMPT = [ord(c) for c in "abcabc"]


def _tokens(text: str) -> list[int]:
    return [ord(c) for c in text]


def _tiny_model(seed: int) -> transformers.PreTrainedModel:
    config = transformers.LlamaConfig(
        vocab_size=VOCAB.size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=128,
        bos_token_id=min(VOCAB.special_ids),
        eos_token_id=EOS,
        pad_token_id=PAD,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = transformers.LlamaForCausalLM(config)
    return model.eval()


@pytest.fixture(scope="module")
def compiled():
    return compile_regex(PATTERN, VOCAB)


@pytest.fixture(scope="module")
def models():
    return _tiny_model(1), _tiny_model(2)


def _expected_mask(compiled, tokens: list[int]) -> np.ndarray:
    matcher = compiled.matcher()
    for token in tokens:
        assert matcher.advance(token), token
    bitmask = allocate_token_bitmask(1, compiled.vocab_size)
    matcher.fill_next_token_bitmask(bitmask, 0)
    return np.isfinite(_masked(bitmask))


def _masked(bitmask: np.ndarray) -> np.ndarray:
    bits = np.unpackbits(bitmask[0].view(np.uint8), bitorder="little")[: VOCAB.size]
    return np.where(bits.astype(bool), 0.0, -np.inf)


def _call(processor, rows: list[list[int]]) -> np.ndarray:
    ids = torch.tensor([PROMPT + row for row in rows])
    scores = torch.zeros(len(rows), VOCAB.size)
    processor(ids, scores)
    return np.isfinite(scores.numpy())


def test_calls_that_shrink_grow_and_reorder_match_fresh_matchers(compiled):
    processor = StructgenLogitsProcessor(compiled, pad_token_id=PAD)
    sequences = [
        [[], []],  # the prompt: a new generation
        [_tokens("a"), _tokens("b")],
        [_tokens("ab"), _tokens("bc")],
        [_tokens("abc"), _tokens("bca")],
        [_tokens("bca"), _tokens("abc")],  # rows swapped (beam reordering)
        [_tokens("bc"), _tokens("bc")],  # shorter (a rejected draft), both from one row
        [_tokens("bcab"), _tokens("bccy")],  # several tokens at once (an accepted draft)
        [_tokens("bcabc"), _tokens("bccyz")],
        [_tokens("bcabcc"), _tokens("bccyz") + [EOS]],  # a row finishes
        [_tokens("bcabccx"), _tokens("bccyz") + [EOS, PAD]],  # a finished row takes padding
    ]
    for rows in sequences:
        masks = _call(processor, rows)
        for row, tokens in enumerate(rows):
            if tokens and tokens[-1] in (EOS, PAD):
                assert set(np.flatnonzero(masks[row])) == {EOS, PAD}
            else:
                assert (masks[row] == _expected_mask(compiled, tokens)).all(), (rows, row)
    assert processor.finished == [False, True]
    assert processor.matchers[1].is_terminated()


def test_a_call_more_than_one_token_past_the_last_starts_a_new_generation(compiled):
    processor = StructgenLogitsProcessor(compiled, pad_token_id=PAD)
    _call(processor, [_tokens("ab")])
    assert processor.prompt_length == len(PROMPT) + 2
    masks = _call(processor, [_tokens("ab") + _tokens("abc")])  # a new, longer prompt
    assert processor.prompt_length == len(PROMPT) + 5
    assert (masks[0] == _expected_mask(compiled, [])).all()


def _generate(model, processor, **options) -> list[int]:
    with torch.no_grad():
        output = model.generate(
            torch.tensor([PROMPT]),
            attention_mask=torch.ones(1, len(PROMPT), dtype=torch.long),
            logits_processor=[processor],
            max_new_tokens=10,
            do_sample=False,
            pad_token_id=PAD,
            eos_token_id=EOS,
            **options,
        )
    return output[0, len(PROMPT) :].tolist()


def _text(tokens: list[int]) -> str:
    body = tokens[: tokens.index(EOS)] if EOS in tokens else tokens
    return b"".join(VOCAB.token_bytes[t] for t in body).decode()


@pytest.mark.parametrize(
    "assistance",
    [{"prompt_lookup_num_tokens": 3}, {"assistant_model": "draft"}],
    ids=["prompt-lookup", "assistant-model"],
)
def test_assisted_generation_gives_the_greedy_tokens(compiled, models, assistance):
    target, draft = models
    if "assistant_model" in assistance:
        assistance = {"assistant_model": draft}
    plain = _generate(target, StructgenLogitsProcessor(compiled, pad_token_id=PAD))
    calls = []
    processor = StructgenLogitsProcessor(compiled, pad_token_id=PAD)
    original = processor._assign

    def recording(ids):
        calls.append(int(ids.shape[1]))
        return original(ids)

    processor._assign = recording
    assisted = _generate(target, processor, **assistance)
    assert assisted == plain
    assert re.fullmatch(PATTERN, _text(plain)), plain
    # the processor did see prefixes shrink or grow by several tokens
    steps = {after - before for before, after in zip(calls, calls[1:], strict=False)}
    assert steps - {1}, f"assisted generation called the processor one token at a time: {calls}"


def test_beam_search_rows_are_matched_by_their_ids(compiled, models):
    target, _ = models
    patterns = [PATTERN, r"[a-c]{1,3}z{1,3}"]  # one constraint per input row
    lineage = []
    processor = StructgenLogitsProcessor(
        [compiled, compile_regex(patterns[1], VOCAB)], pad_token_id=PAD
    )
    original = processor._assign

    def recording(ids):
        previous = processor._previous_ids
        extends = previous is not None and torch.equal(ids[:, :-1], previous)
        lineage.append(extends)
        return original(ids)

    processor._assign = recording
    with torch.no_grad():
        output = target.generate(
            torch.tensor([PROMPT, PROMPT[::-1]]),
            logits_processor=[processor],
            max_new_tokens=10,
            num_beams=3,
            num_return_sequences=3,
            do_sample=False,
            pad_token_id=PAD,
            eos_token_id=EOS,
        )
    for index, row in enumerate(output[:, len(PROMPT) :].tolist()):
        assert re.fullmatch(patterns[index // 3], _text(row)), (index, row)
    # some step's rows did not just extend the previous step's rows in place
    assert not all(lineage[1:]), "beam search kept every row in place; the test shows nothing"
