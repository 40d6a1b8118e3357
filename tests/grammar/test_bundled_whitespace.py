"""sql_select under generation's default whitespace ("compact": runs of one space) writes single
spaces: random walks of the compiled constraint (a token at a time, any allowed token) never
hold two blanks in a row outside a string literal, and lark parses every one of them with the
bundled grammar (the language users validate against is unchanged by the bound)."""

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

SQL_STRING = re.compile(r"'(?:[^']|'')*'")


@pytest.fixture(scope="module")
def compact_sql():
    grammar = bound_whitespace(load_grammar("sql_select"), 1, spaces_only=True)
    return structgen.compile_grammar(grammar, synthetic_vocabulary(), max_ignore_bytes=1)


def _walk(compiled, rng: random.Random, max_steps: int = 80) -> str | None:
    matcher, vocab = compiled.matcher(), compiled.vocab
    eos = vocab.eos_ids[0]
    out = bytearray()
    for _ in range(max_steps):
        bitmask = structgen.allocate_token_bitmask(1, compiled.vocab_size)
        matcher.fill_next_token_bitmask(bitmask)
        allowed = np.flatnonzero(unpack_bitmask(bitmask, compiled.vocab_size)[0]).tolist()
        if matcher.is_accepting() and (rng.random() < 0.1 or allowed == [eos]):
            return out.decode("utf-8", "replace")
        # letters half the time: walks reach the keywords instead of growing one name
        words = [t for t in allowed if t != eos and vocab.token_bytes[t][:1].isalpha()]
        token = rng.choice(words if words and rng.random() < 0.5 else allowed)
        if token == eos:
            return out.decode("utf-8", "replace")
        assert matcher.advance(token)
        out += vocab.token_bytes[token]
    return None


def test_compact_sql_select_has_single_spaces(compact_sql):
    parser = lark.Lark(path_of("sql_select").read_text(), parser="earley", lexer="dynamic_complete")
    finished = 0
    for seed in range(20):
        text = _walk(compact_sql, random.Random(seed))
        if text is None:
            continue
        parser.parse(text)
        outside_strings = SQL_STRING.sub("''", text)
        assert "  " not in outside_strings and not re.search(r"[\t\r\n]", outside_strings), text
        finished += 1
    assert finished >= 5
