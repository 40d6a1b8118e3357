"""Token healing on SmolLM2's real vocabulary, against a brute-force oracle by bytes.

For a prompt cut at a random place, :func:`structgen.runtime.healed.heal` must keep a prefix of
the prompt's ids and remove the bytes after it; then the first tokens healing allows are
exactly the tokens consistent with those bytes, found by reading every token's bytes: a token
that is a prefix of the removed bytes, or one that starts with all of them and goes on with
bytes the constraint accepts (free text: any; the printable-ASCII regex: ``re.fullmatch``).
Special tokens never. Also the small pieces (:class:`HealedConstraint`, :class:`FreeMatcher`)
on a toy vocabulary.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.bitmask import allocate_token_bitmask
from structgen.integrations.plain import ConstrainedLogits
from structgen.runtime.compiler import compile_regex
from structgen.runtime.healed import FreeMatcher, HealedConstraint, heal
from structgen.vocab import Vocabulary

TEXTS = [
    "def area(radius):\n    return 3.14159 * radius ** 2\n\nprint(area(2))",
    '{"name": "Adaline Lovelace", "born": 1815, "languages": ["en", "fr"]}',
    "The answer is yes, and the capital of France is Paris.  Indeed!",
    "SELECT name, count(*) FROM people WHERE city = 'Oslo' GROUP BY name;",
    "Café au lait, naïve résumé — déjà vu.",
]
PRINTABLE = r"[ -~\n]*"


def _allowed(matcher, vocab_size: int) -> set[int]:
    bitmask = allocate_token_bitmask(1, vocab_size)
    matcher.fill_next_token_bitmask(bitmask)
    bits = np.unpackbits(bitmask[0].view(np.uint8), bitorder="little")[:vocab_size]
    return set(np.flatnonzero(bits).tolist())


def _oracle(vocab: Vocabulary, removed: bytes, rest_ok) -> set[int]:
    found = set()
    for token, data in enumerate(vocab.token_bytes):
        if not data or token in vocab.special_ids:
            continue
        if removed.startswith(data) or (data.startswith(removed) and rest_ok(data[len(removed) :])):
            found.add(token)
    return found


@pytest.fixture(scope="module")
def printable(smollm2_hf_vocab):
    return compile_regex(PRINTABLE, smollm2_hf_vocab)


# a healing row over 49k tokens takes a few hundred ms: fewer examples, no deadline
@settings(max_examples=25, deadline=None)
@given(text=st.sampled_from(TEXTS), cut=st.integers(min_value=2, max_value=80), free=st.booleans())
def test_first_tokens_are_exactly_those_consistent_with_the_removed_bytes(
    smollm2_tokenizer, smollm2_hf_vocab, printable, text, cut, free
):
    vocab = smollm2_hf_vocab
    prompt = text[: min(cut, len(text))]
    prompt_ids = smollm2_tokenizer(prompt)["input_ids"]
    ids, healed = heal(prompt_ids, vocab if free else printable)
    assert ids == prompt_ids[: len(ids)] and ids
    spelled = b"".join(vocab.token_bytes[t] for t in prompt_ids)
    kept = b"".join(vocab.token_bytes[t] for t in ids)
    assert spelled == prompt.encode("utf-8") and kept + healed.prefix == spelled
    last = vocab.token_bytes[prompt_ids[-1]]
    extended = any(
        len(data) > len(last) and data.startswith(last)
        for token, data in enumerate(vocab.token_bytes)
        if token not in vocab.special_ids
    )
    if not healed.prefix:  # healing backs up only over a token some longer token extends
        assert not extended or last[0] & 0xC0 == 0x80 or len(prompt_ids) < 2
        return
    assert extended and healed.prefix.endswith(last)
    rest_ok = _anything if free else _printable
    assert _allowed(healed.matcher(), vocab.size) == _oracle(vocab, healed.prefix, rest_ok)


def _anything(rest: bytes) -> bool:
    return True


def _printable(rest: bytes) -> bool:
    return re.fullmatch(PRINTABLE, rest.decode("latin-1")) is not None


def test_a_trailing_space_and_half_an_indentation_heal(smollm2_tokenizer, smollm2_hf_vocab):
    for prompt, removed in (("The capital of France is ", b" "), ("if x:\n  ", b"\n  ")):
        ids, healed = heal(smollm2_tokenizer(prompt)["input_ids"], smollm2_hf_vocab)
        assert healed.prefix == removed
        assert smollm2_tokenizer.decode(ids) + removed.decode() == prompt


# -- the small pieces, on a toy vocabulary --------------------------------------------------

TOKENS = [b"", b"x", b" ", b" x", b"  ", b"y", b"<s>"]


def _toy() -> Vocabulary:
    return Vocabulary(TOKENS, eos_ids=[0], special_ids=[6], name="toy-healed")


def test_free_matcher_allows_everything_until_the_end():
    matcher = FreeMatcher(_toy())
    assert _allowed(matcher, len(TOKENS)) == set(range(len(TOKENS)))
    assert matcher.advance(1) and matcher.advance(6) and not matcher.is_terminated()
    twin = matcher.fork()
    assert matcher.advance(0) and matcher.is_terminated() and not matcher.accepts(1)
    matcher.rollback(1)
    assert not matcher.is_terminated() and matcher.num_steps == 2
    assert twin.num_steps == 2 and twin.accepts(5)
    with pytest.raises(ValueError, match="cannot roll back 3"):
        matcher.rollback(3)


def test_healed_constraint_in_the_plain_callable():
    vocab = _toy()
    ids, healed = heal([5, 2], compile_regex("x+", vocab))  # "y" then a space to heal
    assert ids == [5] and healed.prefix == b" " and "after the healed bytes" in healed.source
    constrain = ConstrainedLogits(healed)
    logits = constrain([], np.zeros(len(TOKENS)))
    assert set(np.flatnonzero(np.isfinite(logits)).tolist()) == {2, 3}  # " " or " x"
    logits = constrain([3], np.zeros(len(TOKENS)))
    assert set(np.flatnonzero(np.isfinite(logits)).tolist()) == {0, 1}  # the end, or more x
    assert healed.strip(b" xx") == b"xx" and healed.strip(b"") == b""
    whole = HealedConstraint(None, b"", vocab)
    assert isinstance(whole.matcher(), FreeMatcher) and whole.source == "free text"
