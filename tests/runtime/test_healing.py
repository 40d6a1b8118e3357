"""Token healing against independent oracles.

``heal_prompt`` on hand-made vocabularies (trailing space, half a word, a split UTF-8
character, special tokens); ``HealingMatcher`` by brute force: every token sequence of up to
three tokens over a small vocabulary is accepted exactly when its text is the removed bytes
followed by a string the regex matches whole (``re.fullmatch``), and at every step the mask,
``accepts``, ``advance``, ``rollback`` and ``fork`` agree.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from structgen.bitmask import allocate_token_bitmask
from structgen.runtime.compiler import compile_regex
from structgen.runtime.healing import HealingMatcher, heal_prompt
from structgen.vocab import Vocabulary

TOKENS = [
    b"", b"The", b" answer", b" is", b" ", b" yes", b" no", b"yes", b"no", b"  ", b"y",
    b"es", b" y", b"caf", b"\xc3", b"\xa9", b"\xa9!", b"\xc3\xa9", b"!", b"<s>",
]  # fmt: skip
EOS, SPECIAL = 0, 19
WORDS = [t for t in range(len(TOKENS)) if t not in (EOS, SPECIAL)]  # the sequences enumerated
# Like a real vocabulary (byte-level BPE, byte fallback), this one spells every text the tests
# write, so the bytes after the healed prefix always have a tokenization.
TOKENS += [bytes([b]) for b in b"abcdefghijklmnopqrstuvwxyzT" if bytes([b]) not in TOKENS]


def _vocab() -> Vocabulary:
    return Vocabulary(TOKENS, eos_ids=[EOS], special_ids=[SPECIAL], name="toy-healing")


def _ids(*pieces: bytes) -> list[int]:
    return [TOKENS.index(piece) for piece in pieces]


@pytest.mark.parametrize(
    ("prompt", "kept", "prefix"),
    [
        # a trailing space, which " yes" / " no" / "  " extend: backed up
        ((b"The", b" answer", b" is", b" "), (b"The", b" answer", b" is"), b" "),
        # half a word: "y" is extended by nothing longer... but " y" is, so " y" heals
        ((b"The", b" is", b" y"), (b"The", b" is"), b" y"),
        # a whole word no longer token extends: nothing to heal
        ((b"The", b" answer", b" yes"), (b"The", b" answer", b" yes"), b""),
        # a UTF-8 character split over two tokens: backed up to its first byte
        ((b"caf", b"\xc3", b"\xa9"), (b"caf",), b"\xc3\xa9"),
        # a special token never heals, and the first token is always kept
        ((b"The", b"<s>"), (b"The", b"<s>"), b""),
        ((b" ",), (b" ",), b""),
    ],
)
def test_heal_prompt(prompt, kept, prefix):
    healed = heal_prompt(_ids(*prompt), _vocab())
    assert healed.token_ids == _ids(*kept)
    assert healed.prefix == prefix


def _matcher(pattern: str, prefix: bytes) -> HealingMatcher:
    vocab = _vocab()
    compiled = compile_regex(pattern, vocab)
    trie = compiled.automaton.trie
    return HealingMatcher(compiled.matcher(), prefix, vocab, trie.greedy_tokenize)


def _allowed_by_mask(matcher) -> set[int]:
    bitmask = allocate_token_bitmask(1, matcher.vocab_size)
    matcher.fill_next_token_bitmask(bitmask)
    bits = np.unpackbits(bitmask[0].view(np.uint8), bitorder="little")[: matcher.vocab_size]
    return set(np.flatnonzero(bits).tolist())


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [(r" ?(yes|no)!?", b" "), (r"(yes|no)", b" y"), (r"[a-z ]*", b"  "), (r"!*", b"\xc3\xa9")],
)
def test_healing_matcher_accepts_exactly_prefix_then_the_regex(pattern, prefix):
    words = WORDS
    checked = accepted = 0
    for length in range(1, 4):
        for sequence in itertools.product(words, repeat=length):
            matcher = _matcher(pattern, prefix)
            steps = 0
            for token in sequence:
                allowed = _allowed_by_mask(matcher)
                assert (token in allowed) == matcher.accepts(token), (sequence, token)
                if not matcher.advance(token):
                    break
                steps += 1
            text = b"".join(TOKENS[t] for t in sequence)
            expected = text.startswith(prefix) and re.fullmatch(
                pattern, text[len(prefix) :].decode("utf-8", "replace"), re.ASCII
            )
            complete = steps == length and matcher.is_accepting()
            assert complete == bool(expected), (pattern, prefix, text)
            if steps == length:  # (after a refused token the matcher is where it stopped)
                assert (EOS in _allowed_by_mask(matcher)) == complete
            checked += 1
            accepted += complete
    assert accepted > 0 and checked > 1000


def test_rollback_and_fork_cross_the_healed_bytes():
    matcher = _matcher(r"(yes|no)!*", b" ")
    (space_yes,) = _ids(b" yes")
    (bang,) = _ids(b"!")
    assert matcher.healing and not matcher.accepts(bang)
    assert matcher.advance(space_yes) and not matcher.healing and matcher.is_accepting()
    twin = matcher.fork()
    assert matcher.advance(bang) and matcher.num_steps == 2
    matcher.rollback(2)
    assert matcher.healing and matcher.num_steps == 0
    assert _allowed_by_mask(matcher) == {TOKENS.index(t) for t in (b" ", b" yes", b" no", b" y")}
    assert twin.accepts(bang) and twin.num_steps == 1  # the fork kept its own state
    twin.reset()
    assert twin.healing and twin.num_steps == 0


def test_a_remainder_the_vocabulary_cannot_spell_is_refused():
    """ " aq" goes on past the healed space with "aq", which this vocabulary cannot spell (no
    "q"): the token is refused rather than checked on its spellable part "a"."""
    tokens = [b"", b" ", b" a", b" aq", b"a"]
    vocab = Vocabulary(tokens, eos_ids=[0], name="toy-no-q")
    compiled = compile_regex(r"[a-z]*", vocab)
    matcher = HealingMatcher(
        compiled.matcher(), b" ", vocab, compiled.automaton.trie.greedy_tokenize
    )
    assert matcher.accepts(2) and not matcher.accepts(3)
    assert _allowed_by_mask(matcher) == {1, 2}
