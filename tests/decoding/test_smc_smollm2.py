"""Sequential Monte Carlo end to end on SmolLM2-135M-Instruct: valid JSON from a few particles
batched through the model, one forward pass per step."""

from __future__ import annotations

import json

import pytest

from structgen.generation import generate_result
from structgen.validation import DocumentValidator

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"enum": ["Paris", "Oslo", "Lima"]},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
    },
    "required": ["city", "age"],
    "additionalProperties": False,
}
PROMPT = "Give a city and an age as JSON."


@pytest.fixture(scope="module")
def smollm2():
    from structgen.models import load_default

    return load_default(device="cpu")


@pytest.mark.slow
def test_smc_json_is_valid_with_one_batched_pass_per_step(smollm2):
    model, tokenizer = smollm2
    result = generate_result(
        PROMPT,
        schema=SCHEMA,
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=30,
        sampler="smc",
        particles=4,
        seed=1,
    )
    assert DocumentValidator(SCHEMA).is_valid(json.loads(result.text))
    stats = result.stats
    assert stats.particles == 4 and stats.tokens == len(result.token_ids) + 1  # + EOS
    # One pass per step for the whole population (the prompt's pass is the first step's):
    # as many passes as the longest particle has tokens, never one per particle.
    assert stats.tokens <= stats.forward_passes <= 30
    assert stats.particle_tokens > stats.forward_passes
