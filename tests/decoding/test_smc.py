"""Sequential Monte Carlo: closer to the global constrained distribution than locally constrained
decoding, weights and resampling, one batched forward pass per step, one particle = plain
sampling. The global distribution is enumerated exactly on a toy model."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import pytest

import structgen
from structgen import generation
from structgen.cli.main import build_parser, main
from structgen.decoding import DecodingStats, Processing, ToyLM, decode, make_rng, make_sampler
from structgen.decoding.resampling import effective_sample_size, log_mean_exp, resample
from structgen.decoding.smc import DEFAULT_PARTICLES, SMCDecoding, smc_decode
from structgen.decoding.streaming import text_pieces
from structgen.errors import ConfigurationError
from tests.decoding.oracles import (
    EOS,
    allowed_by_accepts,
    chi_square_pvalue,
    compiled,
    enumerate_lcd,
    full_match,
    small_vocab,
    text_of,
)

VOCAB = small_vocab()
V = VOCAB.size
PROMPT = [15]
A, B, C, ONE, TWO, X = 1, 2, 16, 12, 13, 10

# One letter, then one of c / 1 / 2. The model likes "a" first, but after "a" it wants "x",
# which the constraint forbids: masking keeps "a" (locally likely) and renormalises its
# unlikely completions up, while the model's own mass on valid outputs lies mostly after "b".
PATTERN = r"(a|b)(c|1|2)"
BIASES: dict[tuple[int, ...], dict[int, float]] = {
    (): {A: 2.0},
    (A,): {C: -2.0, ONE: -2.0, TWO: -2.0, X: 4.0},
    (B,): {C: 2.0, ONE: 1.0},
}


def biased_logits(context: tuple[int, ...]) -> np.ndarray:
    row = np.zeros(V, dtype=np.float32)
    generated = context[len(PROMPT) :]
    for token, value in BIASES.get(generated, {}).items():
        row[token] = value
    if len(generated) == 2:
        row[EOS] = 3.0
    return row


def biased_lm() -> ToyLM:
    return ToyLM(V, biased_logits)


def enumerate_global(
    pattern: str,
    next_logits: Callable[[tuple[int, ...]], np.ndarray],
    prompt: Sequence[int],
    max_tokens: int = 8,
) -> tuple[dict[tuple[int, ...], float], float]:
    """The model's distribution conditioned on the whole output matching ``pattern``: every
    complete sequence the constraint allows (ending in EOS) with its *unmasked* model
    probability, renormalised; and the normaliser ``Z`` (the chance that the model's own output
    matches). Pure Python over every token, the allowed sets from ``matcher.accepts``."""
    mass: dict[tuple[int, ...], float] = {}

    def walk(tokens: tuple[int, ...], probability: float, matcher) -> None:
        if len(tokens) > max_tokens:
            raise ValueError("language too long for enumeration")
        scaled = [float(x) for x in next_logits(tuple(prompt) + tokens)]
        top = max(scaled)
        total = sum(math.exp(x - top) for x in scaled)
        for token, ok in enumerate(allowed_by_accepts(matcher, V)):
            if not ok:
                continue
            p = probability * math.exp(scaled[token] - top) / total
            if token == EOS:
                assert full_match(pattern, text_of(VOCAB, tokens))
                mass[tokens + (EOS,)] = p
                continue
            child = matcher.fork()
            child.advance(token)
            walk(tokens + (token,), p, child)

    walk((), 1.0, compiled(pattern, VOCAB).matcher())
    z = sum(mass.values())
    return {k: v / z for k, v in mass.items()}, z


def kl(p: dict, q: dict) -> float:
    """KL(p || q) over p's support (q must cover it)."""
    return sum(pk * math.log(pk / q[k]) for k, pk in p.items() if pk > 0)


def _smc(lm, name="awrs", *, seed=0, rng=None, particles=8, pattern=PATTERN, **options):
    return smc_decode(
        lm,
        PROMPT,
        sampler=make_sampler(name, Processing(temperature=1.0)),
        rng=rng if rng is not None else make_rng(seed),
        matcher=compiled(pattern, VOCAB).matcher(),
        particles=particles,
        eos_ids=[EOS],
        max_new_tokens=options.pop("max_new_tokens", 6),
        **options,
    )


def test_the_example_is_one_where_local_masking_is_visibly_biased():
    target, z = enumerate_global(PATTERN, biased_logits, PROMPT)
    local = enumerate_lcd(PATTERN, VOCAB, biased_logits, PROMPT)
    assert set(target) == set(local) and len(target) == 6
    first_a = lambda dist: sum(p for k, p in dist.items() if k[0] == A)  # noqa: E731
    assert first_a(local) > 0.85 and first_a(target) < 0.15
    assert kl(local, target) > 0.5 and 0 < z < 1


@pytest.mark.parametrize("name", ["sample", "awrs"])
def test_many_particles_come_closer_to_the_global_distribution_than_local_decoding(name):
    """Outputs of seeded SMC runs (32 particles) against the enumerated global distribution:
    a KL divergence far under locally constrained decoding's (exact) one. (SMC is exact only as
    the particles grow: AWRS's random weights leave more bias at a given N than exact ones.)"""
    lm = biased_lm()
    target, _ = enumerate_global(PATTERN, biased_logits, PROMPT)
    local = enumerate_lcd(PATTERN, VOCAB, biased_logits, PROMPT)
    rng = make_rng(11)
    runs = 400
    seen = Counter(tuple(_smc(lm, name, rng=rng, particles=32).tokens) for _ in range(runs))
    assert set(seen) <= set(target)
    empirical = {k: n / runs for k, n in seen.items()}
    assert kl(empirical, target) < kl(local, target) / 10


def test_more_particles_less_bias():
    lm = biased_lm()
    target, _ = enumerate_global(PATTERN, biased_logits, PROMPT)
    distances = []
    for particles in (1, 4, 32):
        rng = make_rng(5)
        seen = Counter(tuple(_smc(lm, rng=rng, particles=particles).tokens) for _ in range(300))
        distances.append(kl({k: n / 300 for k, n in seen.items()}, target))
    assert distances[0] > distances[1] > distances[2]


@pytest.mark.parametrize("name", ["sample", "awrs"])
def test_the_mean_final_weight_is_an_unbiased_estimate_of_the_normaliser(name):
    """SMC's evidence estimate (the mean final weight, resampling included) averages to the
    exact chance that the model's own output matches the constraint."""
    lm = biased_lm()
    _, z = enumerate_global(PATTERN, biased_logits, PROMPT)
    rng = make_rng(23)
    estimates = np.array(
        [math.exp(_smc(lm, name, rng=rng, particles=4).log_evidence) for _ in range(600)]
    )
    error = estimates.std(ddof=1) / math.sqrt(estimates.size)
    assert abs(estimates.mean() - z) < 4 * error + 1e-12


@pytest.mark.parametrize("name", ["sample", "awrs"])
def test_weighted_particles_are_unbiased_for_the_model_probability_of_each_output(name):
    """For any N, ``(1/N) sum_i w_i [x_i = x]`` is an unbiased estimate of the model's own
    probability of the complete output ``x`` (resampling, AWRS's random weights included):
    the property that makes SMC exact as N grows. Checked cell by cell over seeded runs."""
    lm = biased_lm()
    target, z = enumerate_global(PATTERN, biased_logits, PROMPT)
    rng = make_rng(3)
    runs, particles = 800, 4
    estimates = {k: np.zeros(runs) for k in target}
    for run in range(runs):
        result = _smc(lm, name, rng=rng, particles=particles, ess_threshold=0.75)
        for particle in result.particles:
            assert particle.finished
            estimates[particle.tokens][run] += math.exp(particle.log_weight) / particles
    for k, values in estimates.items():
        error = values.std(ddof=1) / math.sqrt(runs)
        assert abs(values.mean() - z * target[k]) < 4.5 * error + 1e-12, k


def test_one_batched_forward_pass_per_step_whatever_the_particles():
    """Three tokens each ((a|b), (c|1|2), EOS): the prompt's pass, then one pass for the live
    particles after each of the first two steps — as many as plain decoding of one sequence."""
    for particles in (1, 5, 16):
        lm = biased_lm()
        result = _smc(lm, particles=particles)
        assert result.stats.forward_passes == lm.forward_passes == 3
        assert result.stats.particle_tokens == 3 * particles
        assert result.stats.tokens == len(result.tokens) == 3 and result.finished
    lm = biased_lm()
    plain = decode(
        lm,
        PROMPT,
        sampler=make_sampler("awrs", Processing()),
        rng=make_rng(0),
        matcher=compiled(PATTERN, VOCAB).matcher(),
        eos_ids=[EOS],
        jump_forward=False,
    )
    assert plain.stats.forward_passes == 3


def test_one_particle_is_plain_sampling():
    """particles=1 never resamples and makes the same choices, from the same random numbers,
    as the plain loop without jump-forward; its weight is the sequence's importance weight."""
    for pattern in (PATTERN, r"\{\"x\":(1|2){1,3}\}", r"(ab|ba|a|b){1,4}c"):
        for seed in range(6):
            lm = ToyLM.random(V, seed=seed)
            for name in ("sample", "awrs"):
                single = _smc(lm, name, seed=seed, particles=1, pattern=pattern, max_new_tokens=12)
                plain = decode(
                    lm,
                    PROMPT,
                    sampler=make_sampler(name, Processing()),
                    rng=make_rng(seed),
                    matcher=compiled(pattern, VOCAB).matcher(),
                    eos_ids=[EOS],
                    max_new_tokens=12,
                    jump_forward=False,
                )
                assert single.tokens == plain.tokens and single.finished == plain.finished
                assert single.stats.resamples == 0
                assert single.stats.forward_passes == plain.stats.forward_passes
                assert single.stats.checks == plain.stats.checks
                assert single.stats.log_weight == pytest.approx(plain.stats.log_weight)


def test_resampling_follows_the_effective_sample_size():
    lm = biased_lm()
    never = _smc(lm, particles=16, ess_threshold=0.0)
    assert never.stats.resamples == 0
    # Without resampling the weights stay the products of the step normalisers: unequal.
    assert len({round(p.log_weight, 9) for p in never.particles}) > 1
    always = _smc(lm, particles=16, ess_threshold=1.0)
    assert always.stats.resamples >= 1
    # Resampled after the second step, every particle got the mean weight; the last step (EOS,
    # the only allowed token, same probability everywhere) adds the same factor to each.
    logs = [p.log_weight for p in always.particles]
    assert max(logs) - min(logs) < 1e-9
    for multinomial in range(3):
        run = _smc(lm, particles=16, ess_threshold=1.0, resampling="multinomial", seed=multinomial)
        assert run.stats.resamples >= 1 and run.finished
        assert full_match(PATTERN, text_of(VOCAB, run.tokens))


def test_effective_sample_size():
    assert effective_sample_size([0.0] * 4) == pytest.approx(4)
    assert effective_sample_size([0.0, -math.inf, -math.inf]) == pytest.approx(1)
    assert effective_sample_size([0.0, math.log(3)]) == pytest.approx(16 / 10)
    assert effective_sample_size([-math.inf] * 3) == pytest.approx(3)  # no preference
    assert effective_sample_size([1000.0, 1000.0]) == pytest.approx(2)  # no overflow
    assert log_mean_exp([math.log(1), math.log(3)]) == pytest.approx(math.log(2))
    assert log_mean_exp([-math.inf, -math.inf]) == -math.inf
    with pytest.raises(ConfigurationError, match="at least one particle"):
        log_mean_exp([])


def test_systematic_resampling_gives_floor_or_ceil_copies():
    rng = make_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        logs = rng.normal(0, 2, n)
        logs[rng.random(n) < 0.2] = -math.inf
        if np.isneginf(logs).all():
            logs[0] = 0.0
        weights = np.exp(logs - logs.max())
        expected = n * weights / weights.sum()
        counts = np.bincount(resample(logs, rng, "systematic"), minlength=n)
        assert counts.sum() == n
        assert np.all(counts >= np.floor(expected - 1e-9))
        assert np.all(counts <= np.ceil(expected + 1e-9))
        assert np.all(counts[np.isneginf(logs)] == 0)


def test_multinomial_resampling_draws_by_weight():
    rng = make_rng(1)
    logs = np.log([0.5, 0.3, 0.15, 0.05])
    counts = np.zeros(4)
    draws = 500
    for _ in range(draws):
        counts += np.bincount(resample(logs, rng, "multinomial"), minlength=4)
    assert chi_square_pvalue(counts.tolist(), (4 * draws * np.exp(logs)).tolist()) > 1e-3


def test_particles_cut_by_the_budget_are_returned_unfinished():
    lm = biased_lm()
    result = _smc(lm, particles=6, max_new_tokens=2)
    assert not result.finished and len(result.tokens) == 2
    assert all(not p.finished and len(p.tokens) == 2 for p in result.particles)
    assert result.stats.forward_passes == 2  # the prompt, then one step


def test_free_smc_runs_without_a_constraint():
    lm = ToyLM.random(V, seed=2)
    result = smc_decode(
        lm,
        PROMPT,
        sampler=make_sampler("sample", Processing()),
        rng=make_rng(0),
        particles=3,
        eos_ids=[EOS],
        max_new_tokens=5,
    )
    assert result.stats.resamples == 0 and all(p.log_weight == 0.0 for p in result.particles)
    assert result.stats.forward_passes <= 5


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"particles": 0}, "particles must be a positive int"),
        ({"particles": True}, "particles must be a positive int"),
        ({"ess_threshold": 1.5}, "ess_threshold"),
        ({"resampling": "stratified"}, "unknown resampling scheme 'stratified'"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
    ],
)
def test_bad_options_are_refused(options, match):
    with pytest.raises(ConfigurationError, match=match):
        _smc(biased_lm(), **options)


def test_temperature_zero_is_refused():
    with pytest.raises(ConfigurationError, match="temperature above 0"):
        smc_decode(
            biased_lm(),
            PROMPT,
            sampler=make_sampler("greedy", Processing()),
            rng=make_rng(0),
            matcher=compiled(PATTERN, VOCAB).matcher(),
        )


def test_an_smc_run_yields_its_drawn_sequence_once_at_the_end():
    lm = biased_lm()
    run = SMCDecoding(
        lm,
        PROMPT,
        sampler=make_sampler("awrs", Processing()),
        rng=make_rng(4),
        matcher=compiled(PATTERN, VOCAB).matcher(),
        particles=5,
        eos_ids=[EOS],
    )
    assert run.result().tokens == [] and not run.result().finished  # nothing decided yet
    items = list(run)
    result = run.result()
    assert items == [result.tokens] and result.finished
    assert result.tokens == list(result.particles[result.chosen].tokens)
    assert math.isfinite(result.stats.log_weight)
    assert result.stats.log_weight == pytest.approx(result.log_evidence)
    with pytest.raises(ConfigurationError, match="runs once"):
        iter(run)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"particles": 4}, "particles=4 is for sampler='smc'"),
        ({"sampler": "awrs", "particles": 2}, "particles=2 is for sampler='smc'"),
        ({"sampler": "smc", "particles": 0}, "particles must be a positive int"),
        ({"sampler": "smc", "particles": 2.5}, "particles must be a positive int"),
        ({"sampler": "smc", "temperature": 0}, "sampler='smc' samples its particles"),
        ({"sampler": "smcc"}, "choose one of awrs, greedy, sample, smc"),
    ],
)
def test_bad_smc_options_are_refused_before_the_model(options, match):
    with pytest.raises(ConfigurationError, match=match):
        structgen.generate("p", regex="a", model=object(), **options)


def test_smc_samples_at_temperature_one_by_default():
    name, processing = generation._sampler_choice("smc", None, None, None)
    assert name == "smc" and processing.temperature == 1.0
    assert generation._check_particles("smc", None) == DEFAULT_PARTICLES


def test_cli_smc_flags_reach_generate_result(monkeypatch, capsys):
    seen = {}

    def fake(prompt, **options):
        seen.update(options)
        return generation.GenerationResult("{}", [1], DecodingStats(tokens=2, particles=3))

    monkeypatch.setattr(generation, "generate_result", fake)
    assert main(["generate", "--sampler", "smc", "--particles", "3", "--stats", "p"]) == 0
    assert seen["sampler"] == "smc" and seen["particles"] == 3
    assert json.loads(capsys.readouterr().err)["particles"] == 3
    assert build_parser().parse_args(["generate", "p"]).particles is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--particles", "0", "p"])


def test_a_stream_of_an_smc_run_is_its_text_in_one_piece():
    run = SMCDecoding(
        biased_lm(),
        PROMPT,
        sampler=make_sampler("awrs", Processing()),
        rng=make_rng(8),
        matcher=compiled(PATTERN, VOCAB).matcher(),
        particles=4,
        eos_ids=[EOS],
    )
    pieces = list(text_pieces(run, VOCAB.token_bytes, stop_ids=[EOS]))
    assert pieces == [text_of(VOCAB, run.result().tokens)]
    assert full_match(PATTERN, pieces[0])
