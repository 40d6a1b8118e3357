"""Independent oracles for the decoding tests: toy vocabularies, exact constrained
distributions computed by brute force (pure Python over every token), and a chi-square test."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from structgen.runtime.compiler import compile_regex
from structgen.vocab import Vocabulary

EOS = 0

# A small vocabulary with overlapping tokens, so a forced text has several tokenizations.
SMALL_TOKENS = [
    b"", b"a", b"b", b"ab", b"ba", b"{", b"}", b'"', b'{"', b'"x":', b"x", b":", b"1", b"2",
    b"12", b" ", b"c",
]  # fmt: skip


def small_vocab() -> Vocabulary:
    return Vocabulary(SMALL_TOKENS, eos_ids=[EOS], name="toy-small")


def letters_vocab() -> Vocabulary:
    """1110 letter tokens (every string of 1 to 3 of a..j), 90 tokens with a digit or a
    capital that ``[a-j ]*`` forbids, a space, and EOS: a permissive constraint over 1202 ids."""
    letters = "abcdefghij"
    words = [
        "".join(parts).encode()
        for size in (1, 2, 3)
        for parts in itertools.product(letters, repeat=size)
    ]
    others = [f"{d}{c}".encode() for d in "0123456789" for c in "ABCDEFGHI"]
    return Vocabulary([b"", b" ", *words, *others], eos_ids=[EOS], name="toy-letters")


def compiled(pattern: str, vocab: Vocabulary):
    return compile_regex(pattern, vocab)


def exact_step(
    logits: np.ndarray, allowed: Sequence[bool], temperature: float = 1.0
) -> tuple[float, list[float]]:
    """The exact normaliser Z and the masked distribution of one step, in pure Python."""
    scaled = [float(x) / temperature for x in logits]
    top = max(scaled)
    weights = [math.exp(x - top) for x in scaled]
    total = sum(weights)
    q = [w / total for w in weights]
    z = sum(p for p, ok in zip(q, allowed) if ok)
    return z, [p / z if ok else 0.0 for p, ok in zip(q, allowed)]


def allowed_by_accepts(matcher, vocab_size: int) -> list[bool]:
    """The allowed set from single-token checks (independent of the bitmask fill)."""
    return [matcher.accepts(t) for t in range(vocab_size)]


def chi_square_pvalue(observed: Sequence[int], expected: Sequence[float]) -> float:
    """Upper tail of Pearson's statistic (cells with expected count >= 5 kept, the rest pooled),
    through the Wilson-Hilferty normal approximation of the chi-square distribution."""
    cells: list[tuple[float, float]] = []
    pooled_o = pooled_e = 0.0
    for o, e in zip(observed, expected):
        if e >= 5:
            cells.append((o, e))
        else:
            pooled_o += o
            pooled_e += e
    if pooled_e > 0:
        cells.append((pooled_o, pooled_e))
    df = len(cells) - 1
    if df < 1:
        raise ValueError("need at least two cells")
    statistic = sum((o - e) ** 2 / e for o, e in cells)
    z = ((statistic / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


def text_of(vocab: Vocabulary, tokens: Sequence[int]) -> str:
    return b"".join(vocab.token_bytes[t] for t in tokens if t != EOS).decode()


def full_match(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text, re.ASCII) is not None


def enumerate_lcd(
    pattern: str,
    vocab: Vocabulary,
    next_logits: Callable[[tuple[int, ...]], np.ndarray],
    prompt: Sequence[int],
    temperature: float = 1.0,
    max_tokens: int = 8,
) -> dict[tuple[int, ...], float]:
    """Every complete token sequence (ending in EOS) of locally constrained decoding and its
    probability: the product of the masked, renormalised step distributions. The allowed sets
    come from ``matcher.accepts`` (one token at a time) and the logits from ``next_logits``."""
    grammar = compile_regex(pattern, vocab)
    out: dict[tuple[int, ...], float] = {}

    def walk(tokens: tuple[int, ...], probability: float, matcher) -> None:
        if len(tokens) > max_tokens:
            raise ValueError("language too long for enumeration")
        allowed = allowed_by_accepts(matcher, vocab.size)
        _, dist = exact_step(next_logits(tuple(prompt) + tokens), allowed, temperature)
        for token, p in enumerate(dist):
            if p == 0.0:
                continue
            if token == EOS:
                out[tokens + (EOS,)] = probability * p
                continue
            child = matcher.fork()
            child.advance(token)
            walk(tokens + (token,), probability * p, child)

    walk((), 1.0, grammar.matcher())
    return out
