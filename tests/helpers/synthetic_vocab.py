"""A small synthetic vocabulary for fast property tests of the automata.

Every single byte is a token (so any string can be tokenized), plus multi-byte tokens: ASCII
n-grams, whole UTF-8 characters and *fragments* of UTF-8 characters (as byte-level BPE has),
two ids with identical bytes, a special token and an end-of-sequence token.
"""

from __future__ import annotations

import random

from structgen.vocab.vocabulary import Vocabulary

EXTRA_TOKENS = [
    b"ab", b"abc", b"xyz", b"01", b"123", b"-_", b" a", b"  ", b"\n\t", b"ca", b"ba", b"bc",
    "é".encode(), "日".encode(), "😀".encode(), "日本".encode(), b"a" + "é".encode(),
    "日".encode()[:2], "😀".encode()[:3], "é".encode()[1:] + b"x", b"ab",  # b"ab" twice on purpose
    b"{\"", b"\":", b"AB", b"Ab", b"\\", b"..",
]
SPECIAL = "<|special|>"
EOS = "<|eos|>"


def synthetic_vocabulary(padding: int = 37) -> Vocabulary:
    tokens = [bytes([b]) for b in range(256)] + list(EXTRA_TOKENS) + [b"<s>", b"</s>"]
    special_id = len(tokens) - 2
    eos_id = len(tokens) - 1
    return Vocabulary(
        tokens,
        special_ids=[special_id],
        eos_ids=[eos_id],
        size=len(tokens) + padding,
        name="synthetic",
    )


def random_tokenization(vocab: Vocabulary, data: bytes, rng: random.Random) -> list[int]:
    """A random segmentation of ``data`` into tokens of ``vocab`` (not the canonical one)."""
    by_bytes: dict[bytes, list[int]] = {}
    for token_id, token in enumerate(vocab.token_bytes):
        if token and token_id not in vocab.special_ids:
            by_bytes.setdefault(token, []).append(token_id)
    longest = max(len(t) for t in by_bytes)
    out, position = [], 0
    while position < len(data):
        choices = [
            end
            for end in range(position + 1, min(len(data), position + longest) + 1)
            if data[position:end] in by_bytes
        ]
        end = rng.choice(choices)
        out.append(rng.choice(by_bytes[data[position:end]]))
        position = end
    return out
