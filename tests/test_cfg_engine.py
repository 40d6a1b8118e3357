"""The CFG engine on grammars written in the IR, against independent oracles.

Oracles: Python's ``json`` module for JSON, ``eval`` of a restricted expression language for
arithmetic, and a brute-force per-token byte walk for the masks.
"""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structgen
from structgen.errors import ConfigurationError, LimitExceededError
from structgen.kernels.numpy_ref import unpack_bitmask
from tests.helpers.ir_grammars import AMBIGUOUS, ARITHMETIC, JSON
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()
EOS = VOCAB.eos_ids[0]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COMPILED = {
    g.source_name: structgen.compile_grammar(g, VOCAB) for g in (JSON, ARITHMETIC, AMBIGUOUS)
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)


def allowed_ids(matcher) -> set[int]:
    bitmask = structgen.allocate_token_bitmask(1, VOCAB.size)
    matcher.fill_next_token_bitmask(bitmask)
    return set(np.flatnonzero(unpack_bitmask(bitmask, VOCAB.size)[0]).tolist())


def brute_force_allowed(matcher) -> set[int]:
    return {token for token in range(VOCAB.size) if matcher.accepts(token)}


def feed(compiled, tokens: list[int]):
    matcher = compiled.matcher()
    for step, token in enumerate(tokens):
        assert token in allowed_ids(matcher), (
            f"token {VOCAB.token_bytes[token]!r} refused at step {step}"
        )
        assert matcher.advance(token)
    return matcher


@PROPERTY
@given(value=json_values, indent=st.sampled_from([None, 1]), seed=st.integers(0, 2**32 - 1))
def test_json_complete_on_serialised_values(value, indent, seed):
    text = json.dumps(value, indent=indent)
    if indent is not None and max((len(m) for m in re.findall(r"\n *", text)), default=0) > 60:
        return  # past the whitespace bound (max_ignore_bytes): rightly refused
    tokens = random_tokenization(VOCAB, text.encode(), random.Random(seed))
    matcher = feed(COMPILED["json-ir"], tokens)
    assert matcher.is_accepting() and EOS in allowed_ids(matcher)


def random_walk(compiled, rng: random.Random, max_steps: int = 60) -> bytes | None:
    matcher = compiled.matcher()
    out = bytearray()
    for _ in range(max_steps):
        allowed = sorted(allowed_ids(matcher))
        assert allowed, "a live configuration allows something"
        if EOS in allowed and (rng.random() < 0.25 or allowed == [EOS]):
            assert matcher.advance(EOS)
            return bytes(out)
        token = rng.choice([t for t in allowed if t != EOS])
        assert matcher.advance(token)
        out += VOCAB.token_bytes[token]
    return None


@pytest.mark.parametrize("seed", range(40))
def test_json_sound_random_walks_parse(seed):
    walked = random_walk(COMPILED["json-ir"], random.Random(seed))
    if walked is not None:
        json.loads(walked.decode("utf-8"))  # raises if the engine let through invalid JSON


@pytest.mark.parametrize("seed", range(40))
def test_arithmetic_sound_random_walks_evaluate(seed):
    walked = random_walk(COMPILED["arithmetic-ir"], random.Random(seed))
    if walked is not None:
        text = walked.decode()
        assert re.fullmatch(r"[\d+*() \t]+", text)
        eval(compile(text.strip(), "<walk>", "eval"), {"__builtins__": {}})


@pytest.mark.parametrize("grammar", ["json-ir", "arithmetic-ir", "ambiguous-ir"])
@pytest.mark.parametrize("seed", range(6))
def test_masks_equal_brute_force_along_random_walks(grammar, seed):
    rng = random.Random(seed)
    matcher = COMPILED[grammar].matcher()
    for _ in range(12):
        allowed = allowed_ids(matcher)
        assert allowed == brute_force_allowed(matcher)
        choices = sorted(allowed - {EOS})
        if not choices:
            break
        matcher.advance(rng.choice(choices))


def test_ambiguous_grammar_with_empty_rules_and_lexer_ambiguity():
    compiled = COMPILED["ambiguous-ir"]
    for text in [b"", b";", b"if;", b"ifx;", b"ab cd;", b"if if;", b"abc"]:
        tokens = random_tokenization(VOCAB, text, random.Random(0))
        matcher = compiled.matcher()
        accepted = all(matcher.advance(t) for t in tokens)
        expected = b" " not in text  # no whitespace in this grammar
        assert (accepted and matcher.is_accepting()) == expected, text


def test_forced_tokens_after_a_literal_prefix():
    matcher = COMPILED["json-ir"].matcher()
    for byte in b'{"a":tr':
        assert matcher.advance(byte)
    assert matcher.forced_bytes() == b"ue"
    tokens = matcher.forced_tokens()
    assert b"".join(VOCAB.token_bytes[t] for t in tokens) == b"ue"


def test_whitespace_is_bounded():
    matcher = COMPILED["json-ir"].matcher()
    assert matcher.advance(ord("["))
    steps = 0
    while matcher.advance(ord(" ")):
        steps += 1
        assert steps <= 64
    assert steps == 64, "max_ignore_bytes spaces, then no more"


def test_empty_terminal_is_rejected():
    from structgen.ir import Grammar, Rule, Terminal

    grammar = Grammar(
        {"E": Terminal("E", "a*")}, (Rule("start", ("E",)),), "start", source_name="g"
    )
    with pytest.raises(ConfigurationError, match="terminal E of g matches the empty string"):
        structgen.compile_grammar(grammar, VOCAB)


# Lexically ambiguous and doubly recursive: every split of "abab…" into "a", "b", "ab", [a-c]+
# and (ab)+ is a different lexing, and `r r` parses each many ways.
SPLITS = 'start: r\nr: r r | "a" | "b" | "ab" | T | U\nT: /[a-c]+/\nU: /(ab)+/\n'


def test_lexings_that_end_together_share_one_parser_state():
    # One Earley set per position (not per lexing): the parser work grows polynomially with the
    # text. Without the merge, threads multiplied with every ambiguous split (a random grammar of
    # this kind grew to 7 GB in CI).
    compiled = structgen.compile_grammar(SPLITS, VOCAB, precompute=False)  # all work on the way
    engine = compiled.automaton
    text = b"ab" * 12
    tokens = random_tokenization(VOCAB, text, random.Random(0))
    before = engine.earley.sets_made
    matcher = feed(compiled, tokens)
    assert matcher.is_accepting()
    assert 0 < engine.earley.sets_made - before < 1_000  # 98 here
    # A lexeme of [a-c]+ or (ab)+ may have started at any earlier byte: one thread per start.
    assert max(len(config.threads) for config in engine._configs.values()) <= len(text) + 1


def test_mask_work_limit_is_an_error_that_names_it():
    # The first mask is part of compiling (without precompute, it builds the parser states its
    # boundary-crossing tokens reach), so compile already hits the limit.
    with pytest.raises(
        LimitExceededError, match="parser states built for one token mask.*max_mask_sets"
    ):
        structgen.compile_grammar(SPLITS, VOCAB, max_mask_sets=1, precompute=False)
    assert structgen.compile_grammar(SPLITS, VOCAB, max_mask_sets=1_000).matcher()


@pytest.mark.parametrize("seed", range(4))
def test_forgetting_memo_tables_changes_no_mask(seed):
    # max_cached_items=1 drops the parser's memo tables at almost every step; a live matcher must
    # see exactly the masks of an engine that keeps everything.
    bounded = structgen.compile_grammar(JSON, VOCAB, max_cached_items=1)
    reference = COMPILED["json-ir"]
    rng = random.Random(seed)
    text = json.dumps({"k": [1, "x", {"y": None}], "z": True}).encode()
    tokens = random_tokenization(VOCAB, text, rng)
    left, right = bounded.matcher(), reference.matcher()
    for token in tokens:
        assert allowed_ids(left) == allowed_ids(right)
        assert left.advance(token) and right.advance(token)
    assert left.is_accepting() and right.is_accepting()
    assert bounded.automaton.earley.interned_items < 10_000
