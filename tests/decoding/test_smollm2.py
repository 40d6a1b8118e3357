"""End to end on SmolLM2-135M-Instruct: jump-forward changes no token of greedy JSON, and AWRS
checks a few tokens per step instead of masking 49k."""

from __future__ import annotations

import json

import pytest

from structgen.generation import generate_result
from structgen.validation import DocumentValidator

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "city": {"enum": ["Paris", "Oslo", "Lima"]},
    },
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}
PROMPT = "Describe a person as JSON with a name, an age and a city."


@pytest.fixture(scope="module")
def smollm2():
    from structgen.models import load_default

    return load_default(device="cpu")


@pytest.mark.slow
def test_jump_forward_keeps_greedy_json_token_for_token(smollm2):
    model, tokenizer = smollm2
    runs = {
        jump: generate_result(
            PROMPT,
            schema=SCHEMA,
            model=model,
            tokenizer=tokenizer,
            max_new_tokens=40,
            jump_forward=jump,
            sampler="greedy",  # full masks, one forward pass per token but the forced ones
            speculative=False,
        )
        for jump in (False, True)
    }
    assert runs[True].token_ids == runs[False].token_ids
    assert runs[True].text == runs[False].text
    assert DocumentValidator(SCHEMA).is_valid(json.loads(runs[True].text))
    jumped, plain = runs[True].stats, runs[False].stats
    assert jumped.tokens_jumped >= 8  # {"name":" ... ","age": ... ,"city":" ... "}
    assert jumped.forward_passes == plain.forward_passes - jumped.tokens_jumped
    assert plain.masks == plain.tokens  # greedy fills one full mask per token


@pytest.mark.slow
def test_awrs_json_is_valid_with_few_constraint_evaluations(smollm2):
    model, tokenizer = smollm2
    result = generate_result(
        PROMPT,
        schema=SCHEMA,
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=40,
        sampler="awrs",
        temperature=0.8,
        seed=3,
    )
    assert DocumentValidator(SCHEMA).is_valid(json.loads(result.text))
    stats = result.stats
    vocab_size = model.config.vocab_size
    assert stats.evaluations_per_token < vocab_size / 100  # measured: 13 (no full mask)
    assert stats.checks > 0 and stats.tokens == len(result.token_ids) + 1  # + EOS


@pytest.mark.slow
def test_the_default_decodes_the_greedy_tokens_in_fewer_passes(smollm2):
    """generate's default (AWRS at temperature 0, jump-forward, prompt-lookup speculation) is
    exact: the same tokens as full-mask greedy decoding one token per pass."""
    model, tokenizer = smollm2
    options = {"schema": SCHEMA, "model": model, "tokenizer": tokenizer, "max_new_tokens": 40}
    default = generate_result(PROMPT, **options)
    plain = generate_result(
        PROMPT, **options, sampler="greedy", jump_forward=False, speculative=False
    )
    assert default.token_ids == plain.token_ids
    assert default.stats.forward_passes < plain.stats.forward_passes == plain.stats.tokens
    assert default.stats.masks == 0 < plain.stats.masks
