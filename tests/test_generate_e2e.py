"""End to end: ``structgen.generate`` and ``structgen generate`` on SmolLM2-135M-Instruct."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import structgen
from structgen.errors import ConfigurationError, LimitExceededError, RegexError
from structgen.generation import IncompleteGenerationError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def smollm2():
    from structgen.models import load_default

    return load_default(device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("prompt", "pattern"),
    [
        ("Make up a phone number.", r"\d{3}-\d{4}"),
        ("Is water wet? Answer yes or no.", r"(yes|no)"),
        ("When was the Eiffel Tower finished? Give the date.", r"\d{4}-\d{2}-\d{2}"),
        ("Name a colour.", r"[A-Z][a-z]{2,8}"),
    ],
)
def test_greedy_output_matches_the_regex(smollm2, prompt, pattern):
    model, tokenizer = smollm2
    text = structgen.generate(
        prompt, regex=pattern, model=model, tokenizer=tokenizer, max_new_tokens=14
    )
    assert re.fullmatch(pattern, text, re.ASCII), text


@pytest.mark.slow
def test_sampling_is_reproducible_with_a_seed_and_leaves_the_global_rng_alone(smollm2):
    model, tokenizer = smollm2
    pattern = r"[a-z]{3,6}( [a-z]{3,6})?"
    state = torch.random.get_rng_state()
    runs = [
        structgen.generate(
            "Say something.",
            regex=pattern,
            model=model,
            tokenizer=tokenizer,
            max_new_tokens=10,
            temperature=1.3,
            seed=7,
        )
        for _ in range(2)
    ]
    assert torch.equal(torch.random.get_rng_state(), state)
    assert runs[0] == runs[1]
    assert re.fullmatch(pattern, runs[0], re.ASCII), runs[0]


@pytest.mark.slow
def test_running_out_of_tokens_says_the_output_is_incomplete(smollm2):
    model, tokenizer = smollm2
    with pytest.raises(IncompleteGenerationError, match="incomplete") as caught:
        structgen.generate(
            "Digits please.", regex=r"\d{30}", model=model, tokenizer=tokenizer, max_new_tokens=3
        )
    assert isinstance(caught.value, LimitExceededError)
    assert re.fullmatch(r"\d{1,3}", caught.value.partial), caught.value.partial
    assert caught.value.partial in str(caught.value)


def test_a_constraint_is_required_and_checked_before_loading_a_model():
    with pytest.raises(ConfigurationError, match="needs exactly one constraint"):
        structgen.generate("hello", regex="a", grammar="json", model=object())
    with pytest.raises(RegexError, match="position"):
        structgen.generate("hello", regex="(ab", model=object())
    with pytest.raises(ConfigurationError, match="max_new_tokens"):
        structgen.generate("hello", regex="a", max_new_tokens=0)
    with pytest.raises(ConfigurationError, match="temperature"):
        structgen.generate("hello", regex="a", temperature=-1.0)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "structgen.cli", "generate", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_prints_a_matching_string():
    result = _cli("--regex", r"\d{3}-\d{4}", "--max-new-tokens", "12", "Make up a phone number.")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d{3}-\d{4}", result.stdout.rstrip("\n")), result.stdout


def test_cli_bad_regex_exits_2_without_a_traceback():
    result = _cli("--regex", "(ab", "hello")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "structgen generate: error:" in result.stderr and "(ab" in result.stderr
    assert result.stdout == ""
