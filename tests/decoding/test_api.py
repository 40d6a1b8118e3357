"""``structgen.generate``'s decoding options and ``structgen generate``'s flags, checked before
any model is loaded (the model-side runs are in test_smollm2.py)."""

from __future__ import annotations

import json

import pytest

import structgen
from structgen import generation
from structgen.cli.main import EXIT_USAGE, build_parser, main
from structgen.decoding import DecodingStats


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"sampler": "beam"}, "unknown sampler 'beam'"),
        ({"sampler": "greedy", "temperature": 0.7}, "sampler='greedy' decodes by argmax"),
        ({"sampler": "awrs", "top_p": 1.5}, "top_p"),
        ({"sampler": "sample", "top_k": 0}, "top_k"),
        ({"temperature": -1.0}, "temperature"),
        ({"regex": "a", "schema": {"type": "string"}}, "needs exactly one constraint"),
    ],
)
def test_bad_decoding_options_are_refused_before_the_model(options, match):
    options = {"regex": "a", **options}
    if "schema" in options:
        options.pop("regex")
        options["grammar"] = "json"
    with pytest.raises(structgen.ConfigurationError, match=match):
        structgen.generate("p", model=object(), **options)


def test_the_default_sampler_is_awrs_at_the_temperature_given():
    """Not named: AWRS (exact, and the fastest), argmax when no temperature is given."""
    choice = generation._sampler_choice
    for temperature in (None, 0.0):
        name, processing = choice(None, temperature, None, None)
        assert name == "awrs" and processing.greedy
    name, processing = choice(None, 0.8, 5, 0.9)
    assert name == "awrs" and processing.temperature == 0.8
    assert (processing.top_k, processing.top_p) == (5, 0.9)
    assert choice("awrs", None, None, None)[1].temperature == 1.0
    assert choice("awrs", 0, None, None)[1].greedy


def test_cli_flags_reach_generate_result(monkeypatch, capsys):
    seen = {}

    def fake(prompt, **options):
        seen.update(options, prompt=prompt)
        return generation.GenerationResult("{}", [1, 2], DecodingStats(tokens=3, masks=1))

    monkeypatch.setattr(generation, "generate_result", fake)
    status = main(
        ["generate", "--sampler", "awrs", "--temperature", "0.5", "--top-k", "4", "--top-p",
         "0.9", "--no-jump-forward", "--seed", "3", "--stats", "a prompt"]
    )  # fmt: skip
    assert status == 0
    assert seen["sampler"] == "awrs" and seen["jump_forward"] is False
    assert (seen["temperature"], seen["top_k"], seen["top_p"], seen["seed"]) == (0.5, 4, 0.9, 3)
    assert seen["regex"] is seen["grammar"] is seen["schema"] is None  # free generation
    out, err = capsys.readouterr()
    assert out == "{}\n"
    stats = json.loads(err)
    assert stats["tokens"] == 3 and stats["masks"] == 1 and "forward_passes_per_token" in stats


def test_cli_defaults_keep_jump_forward_on_and_the_sampler_open():
    args = build_parser().parse_args(["generate", "--regex", "a", "p"])
    assert args.jump_forward is True and args.sampler is None and args.temperature is None
    assert args.stats is False


def test_cli_bad_decoding_options_exit_2(capsys):
    assert main(["generate", "--regex", "a", "--top-p", "1.5", "p"]) == EXIT_USAGE
    assert "top_p" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--sampler", "beam", "p"])
