"""A prompt healed for a constraint: the ids to feed, and the constraint to generate under.

:func:`heal` backs a prompt up to its last whole token
(:func:`~structgen.runtime.healing.heal_prompt`) and returns a :class:`HealedConstraint`: the
caller's constraint (or none: free text) preceded by the removed bytes. It stands wherever a
processor takes a ``CompiledGrammar`` (it has ``matcher()``, ``vocab``, ``vocab_size`` and
``source``), so the transformers and llama.cpp processors and
:class:`~structgen.integrations.plain.ConstrainedLogits` heal without knowing.

The generated text starts with the removed bytes; :meth:`HealedConstraint.strip` drops them, so
``prompt + strip(generated)`` reads as the caller's prompt continued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from structgen.bitmask import bitmask_words
from structgen.matcher import Matcher, as_token_id, bitmask_row_view
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.healing import HealingMatcher, heal_prompt
from structgen.vocab import Vocabulary
from structgen.vocab.trie import build_trie

__all__ = ["FreeMatcher", "HealedConstraint", "heal"]


@dataclass(frozen=True, eq=False)
class HealedConstraint:
    """``compiled`` (None: any text) whose output must begin with ``prefix``, the bytes healing
    removed from the prompt (empty: nothing healed, and :meth:`matcher` is ``compiled``'s own)."""

    compiled: CompiledGrammar | None
    prefix: bytes
    vocab: Vocabulary

    @property
    def vocab_size(self) -> int:
        """The width of the bitmask in tokens (the model's vocabulary size)."""
        return self.vocab.size

    @property
    def source(self) -> str:
        what = "free text" if self.compiled is None else self.compiled.source
        return f"{what} after the healed bytes {self.prefix!r}" if self.prefix else what

    def matcher(self) -> Matcher:
        """A new matcher: the healed bytes first (when any), then the constraint."""
        inner = FreeMatcher(self.vocab) if self.compiled is None else self.compiled.matcher()
        if not self.prefix:
            return inner
        return HealingMatcher(
            inner, self.prefix, self.vocab, build_trie(self.vocab).greedy_tokenize
        )

    def strip(self, generated: bytes) -> bytes:
        """``generated`` without the healed bytes it starts with (as many of them as it has)."""
        shared = 0
        limit = min(len(generated), len(self.prefix))
        while shared < limit and generated[shared] == self.prefix[shared]:
            shared += 1
        return generated[shared:]


def heal(
    prompt_ids: Sequence[int],
    constraint: CompiledGrammar | Vocabulary,
    *,
    max_tokens: int = 4,
) -> tuple[list[int], HealedConstraint]:
    """The prompt ids to feed (``prompt_ids`` backed up to their last whole token) and the
    constraint to generate under: ``constraint`` (a compiled one, or a vocabulary for free
    text) preceded by the removed bytes."""
    if isinstance(constraint, Vocabulary):
        compiled, vocab = None, constraint
    else:
        compiled, vocab = constraint, constraint.vocab
    healed = heal_prompt(prompt_ids, vocab, max_tokens=max_tokens)
    return healed.token_ids, HealedConstraint(compiled, healed.prefix, vocab)


class FreeMatcher(Matcher):
    """No constraint: every token id is allowed, and an end-of-sequence id ends the text (the
    inner part of a healed prompt with free generation after it)."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab_size = vocab.size
        self._eos = frozenset(vocab.eos_ids)
        self._tokens: list[int] = []
        bits = np.zeros(bitmask_words(vocab.size) * 32, dtype=bool)
        bits[: vocab.size] = True
        self._ones = np.packbits(bits, bitorder="little").view(np.int32)

    def fill_next_token_bitmask(self, bitmask: Any, row: int = 0) -> bool:
        bitmask_row_view(bitmask, self._ones.shape[0], row)[:] = self._ones
        return False

    def accepts(self, token_id: int) -> bool:
        return 0 <= as_token_id(token_id) < self.vocab_size and not self.is_terminated()

    def advance(self, token_id: int) -> bool:
        if not self.accepts(token_id):
            return False
        self._tokens.append(as_token_id(token_id))
        return True

    def rollback(self, n: int = 1) -> None:
        if n < 0 or n > len(self._tokens):
            raise ValueError(f"cannot roll back {n} steps: {len(self._tokens)} are recorded")
        del self._tokens[len(self._tokens) - n :]

    def fork(self) -> FreeMatcher:
        twin = FreeMatcher.__new__(FreeMatcher)
        twin.vocab_size, twin._eos, twin._ones = self.vocab_size, self._eos, self._ones
        twin._tokens = list(self._tokens)
        return twin

    def forced_tokens(self) -> list[int]:
        return []

    def is_accepting(self) -> bool:
        return True

    def is_terminated(self) -> bool:
        return bool(self._tokens) and self._tokens[-1] in self._eos

    def reset(self) -> None:
        self._tokens = []

    @property
    def num_steps(self) -> int:
        return len(self._tokens)
