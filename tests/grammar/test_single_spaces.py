"""``single_spaces`` (generation's compact whitespace): an ignored space never stands beside a
terminal's own space. python_expr's keywords carry their spaces (``/[ \\t]+and[ \\t]+/``), so
``%ignore`` used to pad them to two (``a  and b``). Random walks of the compiled constraint
(any allowed token, a token at a time) never hold two blanks in a row outside a string literal,
never reach a step with nothing allowed, and lark parses every finished one with the bundled
grammar; without the option the same walks do write double spaces."""

from __future__ import annotations

import random
import re

import lark
import numpy as np
import pytest

import structgen
from structgen.grammar.bundled import path_of
from structgen.grammar.loading import load_grammar
from structgen.grammar.whitespace import bound_whitespace
from structgen.kernels.numpy_ref import unpack_bitmask
from tests.helpers.synthetic_vocab import synthetic_vocabulary

# a string literal, closed or still open at the end of the text
PY_STRING = re.compile(r"'(?:[^'\\]|\\.)*(?:'|$)|\"(?:[^\"\\]|\\.)*(?:\"|$)", re.DOTALL)
SEEDS = range(24)


def _compile(single_spaces: bool):
    grammar = bound_whitespace(load_grammar("python_expr"), 1, spaces_only=True)
    return structgen.compile_grammar(
        grammar, synthetic_vocabulary(), max_ignore_bytes=1, single_spaces=single_spaces,
        cache=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def compact():
    return _compile(True)


def _walk(compiled, rng: random.Random, max_steps: int = 60) -> tuple[str, bool]:
    """(text, finished) of one random walk; every step must allow some token."""
    matcher, vocab = compiled.matcher(), compiled.vocab
    eos = vocab.eos_ids[0]
    out = bytearray()
    for _ in range(max_steps):
        bitmask = structgen.allocate_token_bitmask(1, compiled.vocab_size)
        matcher.fill_next_token_bitmask(bitmask)
        allowed = np.flatnonzero(unpack_bitmask(bitmask, compiled.vocab_size)[0]).tolist()
        assert allowed, f"nothing allowed after {bytes(out)!r}"  # a dead end
        if matcher.is_accepting() and rng.random() < 0.1:
            return out.decode(), True
        # spaces and letters often: walks reach the keywords and the spaces around them
        favoured = [t for t in allowed if t != eos and vocab.token_bytes[t][:1] in b" aion"]
        token = rng.choice(favoured if favoured and rng.random() < 0.6 else allowed)
        if token == eos:
            return out.decode(), True
        assert matcher.advance(token)
        out += vocab.token_bytes[token]
    return out.decode(), False


def _double_spaced(text: str) -> bool:
    return "  " in PY_STRING.sub("''", text)


def test_compact_python_expr_never_writes_two_spaces(compact):
    parser = lark.Lark(path_of("python_expr").read_text(), parser="earley", lexer="dynamic")
    finished = 0
    for seed in SEEDS:
        text, done = _walk(compact, random.Random(seed))
        assert not _double_spaced(text), text
        if done:
            parser.parse(text)
            finished += 1
    assert finished >= 6


def test_without_the_option_the_same_walks_write_double_spaces():
    loose = _compile(False)
    assert any(_double_spaced(_walk(loose, random.Random(seed))[0]) for seed in SEEDS)


def test_the_option_is_off_unless_the_ignored_text_is_one_space():
    # python_expr's own %ignore (/[ \t]+/, up to 64 bytes) is not one space: nothing narrows
    compiled = structgen.compile_grammar(
        "python_expr", synthetic_vocabulary(), single_spaces=True, cache=False
    )
    assert not compiled.automaton.single_spaces
