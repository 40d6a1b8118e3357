"""A per-request callable ``(token_ids, logits) -> logits`` for custom decoding loops.

::

    constrain = ConstrainedLogits(compile_json_schema(schema, vocab))
    tokens = []
    while True:
        logits = constrain(tokens, model_logits(prompt + tokens))   # masked in place
        token = sample(logits)
        if constrain.matcher.is_terminated(): ...                   # or stop on EOS yourself
        tokens.append(token)

``token_ids`` are the tokens generated so far for this request (without the prompt). The
callable follows them: tokens it has not seen are fed to its matcher, a shorter or different
list rolls the matcher back to the common prefix (speculative drafts, a new sequence from
scratch: an empty list resets it). ``logits`` is a ``[V]`` (or ``[1, V]``) numpy array or
torch tensor, changed in place and returned. ``compiled`` may also be a
:class:`~structgen.runtime.healed.HealedConstraint` (token healing: the tokens must first write
the bytes :func:`~structgen.runtime.healed.heal` removed from the prompt). For a batch, see
:func:`structgen.runtime.batch.fill_next_token_bitmasks` and
:func:`structgen.bitmask.apply_token_bitmask`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from structgen.bitmask import allocate_token_bitmask, apply_token_bitmask
from structgen.errors import MatcherError

if TYPE_CHECKING:
    from structgen.matcher import Matcher
    from structgen.runtime.compiled import CompiledGrammar
    from structgen.runtime.healed import HealedConstraint

__all__ = ["ConstrainedLogits"]


class ConstrainedLogits:
    """One request's constraint as a logits callable; not shared between requests."""

    def __init__(self, compiled: CompiledGrammar | HealedConstraint) -> None:
        self.compiled = compiled
        self.matcher: Matcher = compiled.matcher()
        self._seen: list[int] = []
        self._bitmask = allocate_token_bitmask(1, compiled.vocab_size)

    def __call__(self, token_ids: Sequence[int], logits: Any) -> Any:
        self._follow([int(t) for t in token_ids])
        if self.matcher.fill_next_token_bitmask(self._bitmask, 0):
            apply_token_bitmask(logits, self._bitmask[0] if logits.ndim == 1 else self._bitmask)
        return logits

    def reset(self) -> None:
        """Back to the start of the constraint (what an empty ``token_ids`` does too)."""
        self.matcher.reset()
        self._seen = []

    def _follow(self, tokens: list[int]) -> None:
        seen = self._seen
        common = 0
        while common < min(len(seen), len(tokens)) and seen[common] == tokens[common]:
            common += 1
        if common < len(seen):
            self.matcher.rollback(len(seen) - common)
            del seen[common:]
        for position in range(common, len(tokens)):
            token = tokens[position]
            if not self.matcher.advance(token):
                raise MatcherError(
                    f"token {token} at position {position} of the request is not allowed by "
                    f"the constraint ({self.compiled.source}); was the mask applied before "
                    "sampling, and are token_ids the generated tokens only (no prompt)?"
                )
            seen.append(token)
