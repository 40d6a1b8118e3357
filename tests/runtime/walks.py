"""Masks of two compiled constraints compared along random valid walks (the round-trip oracle).

At every step both matchers fill a bitmask; the masks, the fill flags, ``is_accepting`` and
``forced_tokens`` must be equal, then both advance by one token drawn from the allowed ones
(end-of-sequence rarely, so walks go deep).
"""

from __future__ import annotations

import random

import numpy as np

from structgen.bitmask import allocate_token_bitmask
from structgen.runtime.compiled import CompiledGrammar

__all__ = ["allowed_tokens", "assert_same_masks"]


def allowed_tokens(row: np.ndarray, vocab_size: int) -> list[int]:
    bits = np.unpackbits(row.view(np.uint8), bitorder="little")[:vocab_size]
    return np.flatnonzero(bits).tolist()


def assert_same_masks(
    original: CompiledGrammar,
    restored: CompiledGrammar,
    *,
    walks: int = 6,
    steps: int = 30,
    seed: int = 0,
) -> int:
    """Compare the two along ``walks`` random walks; the number of masks compared."""
    assert original.vocab_size == restored.vocab_size
    size = original.vocab_size
    eos = set(original.vocab.eos_ids)
    rng = random.Random(seed)
    compared = 0
    for _ in range(walks):
        first, second = original.matcher(), restored.matcher()
        for _ in range(steps):
            masks = allocate_token_bitmask(2, size)
            assert first.fill_next_token_bitmask(masks, 0) == second.fill_next_token_bitmask(
                masks, 1
            )
            assert np.array_equal(masks[0], masks[1]), f"masks differ after {first.num_steps} steps"
            assert first.is_accepting() == second.is_accepting()
            assert first.forced_tokens() == second.forced_tokens()
            compared += 1
            allowed = allowed_tokens(masks[0], size)
            if not allowed or first.is_terminated():
                break
            content = [token for token in allowed if token not in eos]
            token = rng.choice(content if content and rng.random() > 0.05 else allowed)
            assert first.advance(token) and second.advance(token)
    return compared
