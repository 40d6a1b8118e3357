"""Constrained speculative decoding: drafters, verification, exactness against the plain loop.

Oracles: the enumerated locally constrained distribution (``enumerate_lcd``) for whole
sequences, the plain loop (no drafter) for greedy and seeded runs, exact step distributions
(``exact_step``) for the acceptance rule, and ``Matcher.accepts`` for what a draft may hold.
"""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

from structgen import generation
from structgen.cli.main import main
from structgen.decoding import (
    AWRSSampler,
    DecodingStats,
    MaskSampler,
    Processing,
    ToyLM,
    decode,
    make_rng,
)
from structgen.decoding.drafters import (
    Draft,
    ModelDrafter,
    NgramDrafter,
    RecyclingDrafter,
    admit,
    make_drafter,
)
from structgen.decoding.samplers import make_sampler
from structgen.errors import ConfigurationError
from structgen.validation import DocumentValidator
from tests.decoding.oracles import (
    EOS,
    allowed_by_accepts,
    chi_square_pvalue,
    compiled,
    enumerate_lcd,
    exact_step,
    small_vocab,
)

VOCAB = small_vocab()
V = VOCAB.size
# The prompt repeats a b / ab ba so prompt lookup has something to copy.
PROMPT = [15, 1, 2, 3, 4, 1, 2, 3]
REPEATS = r"(ab|ba|a|b){1,4}"
FORCED = r"\{\"x\":(1|2){1,2}\}"


def _near(target: ToyLM, seed: int, noise: float = 1.0) -> ToyLM:
    """A draft model: the target's logits plus seeded noise (close, not equal)."""

    def next_logits(context):
        shift = np.random.default_rng([seed, len(context), *context[-2:]]).normal(0, noise, V)
        return target.logits(context) + shift.astype(np.float32)

    return ToyLM(V, next_logits)


DRAFTERS = {
    "ngram": lambda target: NgramDrafter(),
    "recycling": lambda target: RecyclingDrafter(top_k=4),
    "model": lambda target: ModelDrafter(_near(target, seed=9)),
}


def _run(lm, pattern, name, *, seed, drafter=None, temperature=1.0, rng=None, **options):
    return decode(
        lm,
        PROMPT,
        sampler=make_sampler(name, Processing(temperature=temperature)),
        rng=rng if rng is not None else make_rng(seed),
        matcher=compiled(pattern, VOCAB).matcher(),
        eos_ids=[EOS],
        max_new_tokens=30,
        drafter=drafter,
        **options,
    )


@pytest.mark.parametrize("drafter", sorted(DRAFTERS))
@pytest.mark.parametrize("name", ["sample", "awrs"])
def test_speculative_sequences_follow_locally_constrained_decoding(drafter, name):
    """Whole sequences drawn with a drafter against the enumerated product of masked step
    distributions: speculation changes the cost, not the distribution."""
    lm = ToyLM.random(V, seed=4)
    exact = enumerate_lcd(REPEATS, VOCAB, lm.logits, PROMPT)
    assert abs(sum(exact.values()) - 1.0) < 1e-9
    speculative = DRAFTERS[drafter](lm)
    rng = make_rng(23)
    n = 3000
    seen: Counter[tuple[int, ...]] = Counter()
    speculated = accepted = 0
    for _ in range(n):
        decoded = _run(lm, REPEATS, name, seed=0, drafter=speculative, rng=rng)
        seen[tuple(decoded.tokens)] += 1
        speculated += decoded.stats.tokens_speculated
        accepted += decoded.stats.tokens_accepted
    assert set(seen) <= set(exact)
    keys = sorted(exact)
    assert chi_square_pvalue([seen[k] for k in keys], [n * exact[k] for k in keys]) > 1e-3
    assert 0 < accepted < speculated  # drafts were both kept and refused


def test_the_sequence_test_can_tell_a_biased_acceptance():
    """Keeping every draft-model token (no acceptance test) samples the draft model, not the
    target: the chi-square test above rejects that at this sample size."""
    lm = ToyLM.random(V, seed=4)
    draft = _near(lm, seed=9, noise=2.0)
    exact = enumerate_lcd(REPEATS, VOCAB, lm.logits, PROMPT)
    rng = make_rng(23)
    n = 3000
    seen: Counter[tuple[int, ...]] = Counter()
    for _ in range(n):  # the draft model's own constrained sampling
        decoded = _run(draft, REPEATS, "sample", seed=0, rng=rng)
        seen[tuple(decoded.tokens)] += 1
    keys = sorted(exact)
    assert chi_square_pvalue([seen[k] for k in keys], [n * exact[k] for k in keys]) < 1e-3


@pytest.mark.parametrize("pattern", [REPEATS, FORCED, r"(ab|ba){1,3}c"])
@pytest.mark.parametrize("drafter", sorted(DRAFTERS))
@pytest.mark.parametrize("name", ["greedy", "awrs"])
def test_greedy_speculative_output_is_the_plain_output(pattern, drafter, name):
    """At temperature 0 a drafted token is kept iff it is the masked argmax: the same tokens
    as without speculation, and never more forward passes."""
    kept_somewhere = False
    for seed in range(8):
        lm = ToyLM.random(V, seed=seed)
        plain = _run(lm, pattern, name, seed=seed, temperature=0.0)
        fast = _run(lm, pattern, name, seed=seed, temperature=0.0, drafter=DRAFTERS[drafter](lm))
        assert fast.tokens == plain.tokens
        assert fast.finished == plain.finished
        saved = fast.stats.tokens_jumped + fast.stats.tokens_accepted
        # each pass decides its kept draft tokens and one more, unless a kept draft token
        # (an end-of-sequence) ended the run
        assert fast.stats.forward_passes - (len(fast.tokens) - saved) in (0, 1)
        assert fast.stats.forward_passes <= plain.stats.forward_passes
        kept_somewhere |= fast.stats.tokens_accepted > 0
    if pattern == REPEATS or drafter == "model":  # drafts a random toy model can agree with
        assert kept_somewhere


@pytest.mark.parametrize("drafter", ["ngram", "recycling"])
@pytest.mark.parametrize("name", ["sample", "awrs"])
def test_model_free_drafts_change_no_seeded_token(drafter, name):
    """A deterministic draft is verified as a point mass by the sampler's own draw: the random
    numbers are consumed as without it, so a seeded run repeats token for token."""
    for seed in range(8):
        lm = ToyLM.random(V, seed=seed)
        plain = _run(lm, REPEATS, name, seed=seed)
        fast = _run(lm, REPEATS, name, seed=seed, drafter=DRAFTERS[drafter](lm))
        assert fast.tokens == plain.tokens
        assert fast.stats.log_weight == pytest.approx(plain.stats.log_weight)


def _prefers(wanted):
    """A model putting almost all mass on ``wanted[i]`` after ``i`` generated tokens."""

    def next_logits(context):
        row = np.zeros(V, dtype=np.float32)
        row[wanted[min(len(context) - len(PROMPT), len(wanted) - 1)]] = 12.0
        return row

    return next_logits


def test_a_copied_draft_saves_forward_passes_and_they_are_counted():
    """The model writes a b ab ba (tokens 1 2 3 4), as the prompt does: prompt lookup's first
    guess (ba, what followed the prompt's last a b ab) is refused by the model; after a it
    copies b ab (kept) then a (refused: the model writes ba); at the end it guesses a again
    where the model ends. Three forward passes instead of five."""
    wanted = [1, 2, 3, 4, EOS]
    lm = ToyLM(V, _prefers(wanted))
    plain = _run(lm, REPEATS, "greedy", seed=0, temperature=0.0)
    before = lm.forward_passes
    fast = _run(lm, REPEATS, "greedy", seed=0, temperature=0.0, drafter=NgramDrafter())
    assert plain.tokens == fast.tokens == wanted
    assert plain.stats.forward_passes == 5
    assert fast.stats.forward_passes == lm.forward_passes - before == 3
    assert fast.stats.forward_passes < plain.stats.forward_passes
    assert fast.stats.tokens_accepted == len(wanted) - fast.stats.forward_passes
    assert fast.stats.tokens_speculated > fast.stats.tokens_accepted
    assert fast.stats.draft_checks >= fast.stats.tokens_speculated
    assert fast.stats.acceptance_rate == pytest.approx(
        fast.stats.tokens_accepted / fast.stats.tokens_speculated
    )


def test_drafts_are_cut_at_the_first_token_the_constraint_refuses():
    matcher = compiled(REPEATS, VOCAB).matcher()
    fork = matcher.fork()
    # a b ab then { (refused) then ba: only the allowed prefix is kept, the fork advanced by it
    draft = admit([1, 2, 3, 5, 4], fork, 8)
    assert draft.tokens == [1, 2, 3] and draft.checks == 4
    assert fork.num_steps == 3 and matcher.num_steps == 0
    assert not fork.accepts(5)
    # the limit holds, and an end-of-sequence token ends the draft
    assert admit([1, 2, 3], matcher.fork(), 2).tokens == [1, 2]
    assert admit([1, EOS, 2], matcher.fork(), 8).tokens == [1, EOS]


def test_prompt_lookup_copies_the_latest_continuation_and_respects_the_constraint():
    drafter = NgramDrafter(max_n=2)
    sampler = make_sampler("greedy", Processing(temperature=0.0))
    rng = make_rng(0)
    context = [15, 1, 2, 3, 5, 1, 2, 4, 6, 1, 2]
    # the latest earlier "a b" is followed by ba } a b: free, all of it up to the limit
    assert drafter.propose(context, None, 3, sampler=sampler, rng=rng).tokens == [4, 6, 1]
    # under (ab|ba|a|b)+ the } is refused: the draft is cut there
    fork = compiled(REPEATS, VOCAB).matcher()
    assert drafter.propose(context, fork, 5, sampler=sampler, rng=rng).tokens == [4]
    # no earlier occurrence of the last token: no draft
    assert drafter.propose([15, 1, 2, 16], None, 3, sampler=sampler, rng=rng) == Draft()


def test_token_recycling_drafts_the_first_allowed_candidate_chain():
    drafter = RecyclingDrafter(top_k=3)
    rows = np.zeros((2, V), dtype=np.float32)
    rows[0, [5, 2, 3]] = [9.0, 8.0, 7.0]  # after token 1: { then b then ab
    rows[1, [1, 4]] = [9.0, 8.0]  # after token 2: a then ba
    drafter.observe([1, 2], rows)
    assert list(drafter.adjacency[1]) == [5, 2, 3]
    sampler = make_sampler("greedy", Processing(temperature=0.0))
    rng = make_rng(0)
    free = drafter.propose([15, 1], None, 2, sampler=sampler, rng=rng)
    assert free.tokens == [5]  # nothing was seen after {
    fork = compiled(REPEATS, VOCAB).matcher()
    constrained = drafter.propose([15, 1], fork, 4, sampler=sampler, rng=rng)
    # { refused, b kept; after b: a kept; after a: b; after b: a — a b a b is in the language
    assert constrained.tokens == [2, 1, 2, 1]
    assert constrained.checks == 6 and fork.num_steps == 4  # 2, 1, (5) 2, 1


@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_draft_model_acceptance_is_min_p_over_q_with_the_residual(temperature):
    """One position: x ~ q (the draft's masked distribution), then verify against the target's
    masked p. The output follows p exactly and x is kept with chance sum(min(p, q))."""
    matcher = compiled(REPEATS, VOCAB).matcher()
    assert matcher.advance(1)
    sampler = MaskSampler(Processing(temperature=temperature))
    target = np.random.default_rng(1).normal(0, 2, V).astype(np.float32)
    draft = np.random.default_rng(2).normal(0, 2, V).astype(np.float32)
    allowed = allowed_by_accepts(matcher, V)
    z, p = exact_step(target, allowed, temperature)
    _, q = exact_step(draft, allowed, temperature)
    rng = make_rng(5)
    n = 20000
    seen = Counter()
    kept = 0
    for _ in range(n):
        proposed, proposal = sampler.propose(draft, matcher, rng)
        assert proposal is not None and np.allclose(proposal, q)
        choice = sampler.verify(target, matcher, rng, proposed.token, proposal)
        seen[choice.token] += 1
        kept += choice.token == proposed.token
        assert choice.log_weight == pytest.approx(math.log(z))
    assert chi_square_pvalue([seen[t] for t in range(V)], [n * x for x in p]) > 1e-3
    rate = sum(min(a, b) for a, b in zip(p, q))
    assert abs(kept / n - rate) < 4 * math.sqrt(rate * (1 - rate) / n)


def test_awrs_weight_stays_unbiased_when_a_known_token_is_verified():
    """Verifying a drafted (known allowed) token skips its check; the weight's mean is still
    the exact normaliser, and fewer checks are spent than choosing from scratch."""
    matcher = compiled(REPEATS, VOCAB).matcher()
    assert matcher.advance(1)
    row = np.random.default_rng(3).normal(0, 2, V).astype(np.float32)
    z, p = exact_step(row, allowed_by_accepts(matcher, V))
    known = int(np.argmax(p))
    sampler = AWRSSampler(Processing())
    rng = make_rng(11)
    choices = [sampler.verify(row, matcher, rng, known) for _ in range(20000)]
    weights = np.array([math.exp(c.log_weight) for c in choices])
    error = weights.std() / math.sqrt(len(weights))
    assert abs(weights.mean() - z) < 4 * error
    rng = make_rng(11)
    plain = [sampler.choose(row, matcher, rng) for _ in range(20000)]
    assert [c.token for c in choices] == [c.token for c in plain]
    assert sum(c.checks for c in choices) < sum(c.checks for c in plain)


def test_a_draft_model_follows_the_accepted_tokens():
    """The draft model's cache is cropped back to the accepted tokens: with the target itself
    as draft every draft is kept (one target pass per draft_tokens + 1 tokens), and the draft
    sequence ends on the accepted text."""
    lm = ToyLM.random(V, seed=2)
    twin = ToyLM.random(V, seed=2)
    drafter = ModelDrafter(twin)
    fast = _run(lm, REPEATS, "greedy", seed=0, temperature=0.0, drafter=drafter, draft_tokens=2)
    plain = _run(lm, REPEATS, "greedy", seed=0, temperature=0.0)
    assert fast.tokens == plain.tokens
    assert fast.stats.tokens_accepted == fast.stats.tokens_speculated
    assert fast.stats.forward_passes == math.ceil(len(fast.tokens) / 3)
    assert fast.stats.draft_forward_passes == twin.forward_passes > 0
    held = drafter.held
    assert held == (PROMPT + fast.tokens)[: len(held)]


def test_unconstrained_speculation_samples_the_model():
    """No matcher: the draft model's q and the target's p are unmasked; the first token's
    distribution is the target's."""
    lm = ToyLM.random(V, seed=6)
    drafter = ModelDrafter(_near(lm, seed=1, noise=1.5))
    rng = make_rng(8)
    n = 4000
    seen = Counter()
    for _ in range(n):
        decoded = decode(
            lm,
            PROMPT,
            sampler=make_sampler("sample", Processing()),
            rng=rng,
            eos_ids=[EOS],
            max_new_tokens=2,
            drafter=drafter,
        )
        seen[tuple(decoded.tokens[:2])] += 1
    probs = np.exp(Processing().log_probs(lm.logits(PROMPT)))
    expected = {}
    for first in range(V):
        if first == EOS:
            expected[(EOS,)] = probs[EOS]
            continue
        second = np.exp(Processing().log_probs(lm.logits(PROMPT + [first])))
        for token in range(V):
            expected[(first, token)] = probs[first] * second[token]
    keys = sorted(expected)
    assert set(seen) <= set(keys)
    assert chi_square_pvalue([seen[k] for k in keys], [n * expected[k] for k in keys]) > 1e-3


def test_make_drafter_reads_the_speculative_option():
    assert make_drafter(False) is None and make_drafter(None) is None
    assert isinstance(make_drafter(True), NgramDrafter)
    assert isinstance(make_drafter("ngram"), NgramDrafter)
    assert isinstance(make_drafter("recycling"), RecyclingDrafter)
    own = RecyclingDrafter()
    assert make_drafter(own) is own
    lm = ToyLM.random(V)
    made = make_drafter(lm)
    assert isinstance(made, ModelDrafter) and made.model is lm
    with pytest.raises(ConfigurationError, match="unknown drafter 'tree'"):
        make_drafter("tree")
    with pytest.raises(ConfigurationError, match="speculative= takes"):
        make_drafter(3)
    with pytest.raises(ConfigurationError, match="draft_tokens must be positive"):
        _run(lm, REPEATS, "greedy", seed=0, temperature=0.0, drafter=own, draft_tokens=0)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"speculative": "tree"}, "unknown drafter 'tree'"),
        ({"speculative": 3}, "speculative= takes"),
        ({"speculative": True, "sampler": "smc"}, "does not speculate"),
    ],
)
def test_bad_speculative_options_are_refused_before_the_model(options, match):
    with pytest.raises(ConfigurationError, match=match):
        generation.generate("p", regex="a", model=object(), **options)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], None),  # generate's default: ngram, except with smc
        (["--no-speculative"], False),
        (["--speculative"], True),
        (["--speculative", "recycling"], "recycling"),
    ],
)
def test_the_cli_speculative_flag_reaches_generate_result(monkeypatch, flags, expected):
    seen = {}

    def fake(prompt, **options):
        seen.update(options)
        return generation.GenerationResult("{}", [1], DecodingStats(tokens=2))

    monkeypatch.setattr(generation, "generate_result", fake)
    assert main(["generate", "a prompt", *flags]) == 0
    assert seen["speculative"] == expected


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


@pytest.fixture(scope="module")
def smollm2():
    from structgen.models import load_default

    return load_default(device="cpu")


@pytest.mark.slow
def test_greedy_speculative_json_is_the_plain_json_on_smollm2(smollm2):
    """A prompt holding a value to copy gives prompt lookup its drafts: the same tokens as
    plain greedy decoding (jump-forward on in both), in fewer forward passes."""
    model, tokenizer = smollm2
    example = json.dumps({"name": "Ada Lovelace", "age": 36, "city": "Oslo"}, separators=",:")
    prompt = f"Repeat this JSON exactly, nothing else: {example}"
    runs = {
        speculative: generation.generate_result(
            prompt,
            schema=SCHEMA,
            model=model,
            tokenizer=tokenizer,
            max_new_tokens=40,
            speculative=speculative,
        )
        for speculative in (False, True)
    }
    plain, fast = runs[False], runs[True]
    assert fast.token_ids == plain.token_ids
    assert DocumentValidator(SCHEMA).is_valid(json.loads(fast.text))
    assert fast.stats.tokens_speculated > 0
    stats = fast.stats
    assert stats.forward_passes < plain.stats.forward_passes
    saved = stats.tokens_jumped + stats.tokens_accepted
    assert stats.forward_passes - (stats.tokens - saved) in (0, 1)


def test_prompt_lookup_follows_changing_contexts_as_a_fresh_index_would():
    """Contexts that grow, drop a tail (a rejected draft) or change entirely: the reused
    drafter's index (undo log) proposes what a drafter built from scratch proposes."""
    sampler = make_sampler("greedy", Processing(temperature=0.0))
    rng = np.random.default_rng(3)
    reused = NgramDrafter(max_n=3)
    context = [1, 2, 3]
    for _ in range(300):
        move = rng.integers(4)
        if move == 0 and len(context) > 2:  # drop a tail
            context = context[: int(rng.integers(1, len(context)))]
        elif move == 1:  # another run
            context = [int(t) for t in rng.integers(1, 5, size=int(rng.integers(1, 6)))]
        else:  # grow
            context = context + [int(t) for t in rng.integers(1, 5, size=int(rng.integers(1, 4)))]
        fresh = NgramDrafter(max_n=3)
        expected = fresh.propose(context, None, 4, sampler=sampler, rng=make_rng(0)).tokens
        got = reused.propose(context, None, 4, sampler=sampler, rng=make_rng(0)).tokens
        assert got == expected, context
