"""The constraint side of a decoding step: which tokens a matcher allows, as booleans over the
logits' width (columns past the matcher's vocabulary are never allowed)."""

from __future__ import annotations

import numpy as np

from structgen.bitmask import allocate_token_bitmask
from structgen.matcher import Matcher

__all__ = ["allowed_tokens"]


def allowed_tokens(matcher: Matcher, width: int) -> np.ndarray:
    """A bool array of ``width`` entries, True where ``matcher`` allows the token (one full
    mask: ``fill_next_token_bitmask``)."""
    vocab = matcher.vocab_size
    bitmask = allocate_token_bitmask(1, vocab)
    matcher.fill_next_token_bitmask(bitmask, 0)
    bits = np.unpackbits(bitmask[0].astype("<i4").view(np.uint8), bitorder="little")
    allowed = np.zeros(width, dtype=bool)
    shared = min(width, vocab)
    allowed[:shared] = bits[:shared].astype(bool)
    return allowed
