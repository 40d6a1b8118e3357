"""The decoding loop: whole-sequence distributions, jump-forward equivalence, free generation."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from structgen.decoding import Decoding, Processing, ToyLM, decode, make_rng, make_sampler
from structgen.errors import ConfigurationError
from tests.decoding.oracles import (
    EOS,
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

# Forced stretches ({"x": and }) between choices, and a language without forced bytes.
FORCED = r"\{\"x\":(1|2){1,2}\}"
FREE = r"(a|b|ab){1,2}"


def _decode(lm, pattern, name, *, seed, jump_forward=True, temperature=1.0, max_new_tokens=30):
    return decode(
        lm,
        PROMPT,
        sampler=make_sampler(name, Processing(temperature=temperature)),
        rng=make_rng(seed),
        matcher=compiled(pattern, VOCAB).matcher(),
        eos_ids=[EOS],
        max_new_tokens=max_new_tokens,
        jump_forward=jump_forward,
    )


@pytest.mark.parametrize("pattern", [FORCED, FREE])
@pytest.mark.parametrize("name", ["sample", "awrs"])
def test_whole_sequences_follow_locally_constrained_decoding(pattern, name):
    """Sequences drawn through the loop (jump-forward on) against the enumerated product of
    masked step distributions."""
    lm = ToyLM.random(V, seed=4)
    exact = enumerate_lcd(pattern, VOCAB, lm.logits, PROMPT)
    assert abs(sum(exact.values()) - 1.0) < 1e-9
    grammar = compiled(pattern, VOCAB)
    sampler = make_sampler(name, Processing(temperature=1.0))
    rng = make_rng(17)
    n = 3000
    seen = Counter()
    for _ in range(n):
        decoded = decode(
            lm, PROMPT, sampler=sampler, rng=rng, matcher=grammar.matcher(), eos_ids=[EOS]
        )
        seen[tuple(decoded.tokens)] += 1
    assert set(seen) <= set(exact)
    keys = sorted(exact)
    assert chi_square_pvalue([seen[k] for k in keys], [n * exact[k] for k in keys]) > 1e-3


@pytest.mark.parametrize("pattern", [FORCED, r"(ab|ba){1,3}c", r"\{\"x\":(1|2)+\}"])
@pytest.mark.parametrize("name", ["greedy", "sample", "awrs"])
def test_jump_forward_changes_no_token(pattern, name):
    """Greedy: the same tokens. Seeded sampling too: every position is still decided by the
    sampler, on the same logits, with the random numbers consumed in the same order."""
    jumped_somewhere = False
    for seed in range(10):
        lm = ToyLM.random(V, seed=seed)
        plain = _decode(lm, pattern, name, seed=seed, jump_forward=False)
        jumped = _decode(lm, pattern, name, seed=seed, jump_forward=True)
        assert jumped.tokens == plain.tokens
        assert jumped.finished == plain.finished
        assert plain.stats.tokens_jumped == 0
        assert (
            jumped.stats.forward_passes == plain.stats.forward_passes - jumped.stats.tokens_jumped
        )
        assert plain.stats.forward_passes == len(plain.tokens)
        jumped_somewhere |= jumped.stats.tokens_jumped > 0
    assert jumped_somewhere


def _prefers(sequence_by_context):
    """A model that puts almost all mass on a given next token per context length."""

    def next_logits(context):
        row = np.zeros(V, dtype=np.float32)
        row[sequence_by_context(context)] = 12.0
        return row

    return next_logits


def test_a_draft_the_model_does_not_follow_is_cropped():
    """The forced bytes {"x": are drafted as {" x " : (greedy tokenization); this model writes
    { then "x": instead. The loop keeps none of that draft, crops it, and the output is the
    model's own tokenization."""
    assert compiled(FORCED, VOCAB).matcher().forced_tokens() == [8, 10, 7, 11]
    wanted = [5, 9, 13, 6, EOS]  # { "x": 2 } EOS

    lm = ToyLM(V, _prefers(lambda context: wanted[len(context) - len(PROMPT)]))
    plain = _decode(lm, FORCED, "greedy", seed=0, jump_forward=False)
    jumped = _decode(lm, FORCED, "greedy", seed=0, jump_forward=True)
    assert plain.tokens == jumped.tokens == wanted
    assert jumped.stats.tokens_drafted > 0
    assert text_of(VOCAB, jumped.tokens) == '{"x":2}'


def test_a_draft_the_model_follows_saves_forward_passes():
    wanted = [8, 10, 7, 11, 12, 6, EOS]  # {" x " : 1 } EOS: the draft's own tokenization
    lm = ToyLM(V, _prefers(lambda context: wanted[len(context) - len(PROMPT)]))
    plain = _decode(lm, FORCED, "greedy", seed=0, jump_forward=False)
    jumped = _decode(lm, FORCED, "greedy", seed=0, jump_forward=True)
    assert plain.tokens == jumped.tokens == wanted
    # prompt+{" x " : in one pass, 1 then } in one pass, EOS chosen from the last logits
    assert jumped.stats.tokens_jumped == 4
    assert jumped.stats.forward_passes == 3 and plain.stats.forward_passes == 7
    assert lm.forward_passes == 10


def test_a_stepped_run_yields_each_pass_decisions_in_order():
    """Iterating a Decoding gives one list per forward pass; their concatenation is exactly
    what decode() returns, and a run cannot be iterated twice."""
    wanted = [8, 10, 7, 11, 12, 6, EOS]
    lm = ToyLM(V, _prefers(lambda context: wanted[len(context) - len(PROMPT)]))
    run = Decoding(
        lm,
        PROMPT,
        sampler=make_sampler("greedy", Processing(temperature=0.0)),
        rng=make_rng(0),
        matcher=compiled(FORCED, VOCAB).matcher(),
        eos_ids=[EOS],
        max_new_tokens=30,
    )
    steps = list(run)
    assert steps == [[8, 10, 7, 11, 12], [6], [EOS]]
    assert run.result().tokens == wanted and run.result().finished
    assert len(steps) == run.result().stats.forward_passes
    with pytest.raises(ConfigurationError, match="runs once"):
        iter(run)


def test_max_new_tokens_bounds_drafts_and_output():
    lm = ToyLM.random(V, seed=1)
    for limit in range(1, 6):
        decoded = _decode(lm, FORCED, "greedy", seed=0, max_new_tokens=limit)
        plain = _decode(lm, FORCED, "greedy", seed=0, max_new_tokens=limit, jump_forward=False)
        assert len(decoded.tokens) <= limit
        assert decoded.tokens == plain.tokens


def test_free_generation_stops_at_eos_or_the_limit():
    def next_logits(context):
        row = np.zeros(V, dtype=np.float32)
        row[EOS if len(context) >= 4 else 16] = 9.0
        return row

    lm = ToyLM(V, next_logits)
    run = decode(
        lm,
        PROMPT,
        sampler=make_sampler("greedy", Processing()),
        rng=make_rng(0),
        eos_ids=[EOS],
        max_new_tokens=10,
    )
    assert run.tokens == [16, 16, 16, EOS] and run.finished
    assert run.stats.constraint_evaluations == 0 and run.stats.forward_passes == 4
    short = decode(
        lm,
        PROMPT,
        sampler=make_sampler("greedy", Processing()),
        rng=make_rng(0),
        eos_ids=[EOS],
        max_new_tokens=2,
    )
    assert short.tokens == [16, 16] and not short.finished


def test_seeded_runs_repeat_and_seeds_differ():
    lm = ToyLM.random(V, seed=2)
    pattern = r"(a|b|c)( (a|b|c)){0,6}"
    runs = [_decode(lm, pattern, "awrs", seed=s).tokens for s in (5, 5, 6, 7, 8)]
    assert runs[0] == runs[1]
    assert len({tuple(r) for r in runs}) > 2
    assert all(full_match(pattern, text_of(VOCAB, r)) for r in runs)


def test_decode_refuses_an_empty_prompt_and_no_budget():
    lm = ToyLM.random(V)
    sampler = make_sampler("greedy", Processing())
    with pytest.raises(ConfigurationError, match="prompt"):
        decode(lm, [], sampler=sampler, rng=make_rng(0))
    with pytest.raises(ConfigurationError, match="max_new_tokens"):
        decode(lm, [1], sampler=sampler, rng=make_rng(0), max_new_tokens=0)
