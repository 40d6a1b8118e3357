"""Token healing: a prompt that ends inside a token is backed up to its last whole token.

A prompt ``"The answer is "`` tokenizes with a lone trailing space, a token a model almost
never writes before a word (it writes ``" yes"``, space and word in one token). Healing removes
that last token from the prompt (:func:`heal_prompt`) and makes the first generated tokens
reproduce its bytes (:class:`HealingMatcher`): the model may write ``" yes"`` again, or the
space alone, or any token that starts with the removed bytes and goes on as the constraint
allows. The text the caller gets back starts after the removed bytes, so prompt + text reads as
if nothing had been removed.

What heals: the last prompt token when some longer token of the vocabulary starts with its
bytes (a trailing space, half a word, half an indentation), and the tokens before it as long
as the removed bytes would otherwise start inside a UTF-8 character. Special tokens (a chat
template's markers) never heal.
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from structgen.bitmask import bitmask_row, bitmask_words
from structgen.matcher import Matcher, as_token_id, bitmask_row_view
from structgen.vocab import Vocabulary

__all__ = ["HealedPrompt", "HealingMatcher", "heal_prompt"]


@dataclass(frozen=True, slots=True)
class HealedPrompt:
    """The prompt to feed (``token_ids``) and the bytes removed from its end (``prefix``: the
    generated text must start with them; empty when nothing healed)."""

    token_ids: list[int]
    prefix: bytes


def heal_prompt(
    prompt_ids: Sequence[int], vocab: Vocabulary, *, max_tokens: int = 4
) -> HealedPrompt:
    """Back ``prompt_ids`` up to its last whole token (see the module docstring); at most
    ``max_tokens`` tokens are removed, and at least one token is always kept."""
    ids = [int(t) for t in prompt_ids]
    if len(ids) < 2 or ids[-1] in vocab.special_ids or not _extended(vocab, ids[-1]):
        return HealedPrompt(ids, b"")
    cut = len(ids) - 1
    prefix = vocab.token_bytes[ids[cut]]
    while _starts_inside_a_character(prefix) and cut > 1 and len(ids) - cut < max_tokens:
        if ids[cut - 1] in vocab.special_ids:
            break
        cut -= 1
        prefix = vocab.token_bytes[ids[cut]] + prefix
    if _starts_inside_a_character(prefix):  # no whole character to heal from: leave it
        return HealedPrompt(ids, b"")
    return HealedPrompt(ids[:cut], prefix)


def _extended(vocab: Vocabulary, token: int) -> bool:
    """Some other token starts with this token's bytes and is longer: the next of the sorted
    token bytes after them (one binary search)."""
    data = vocab.token_bytes[token]
    ordered = _sorted_token_bytes(vocab)
    following = bisect.bisect_right(ordered, data)
    return bool(data) and following < len(ordered) and ordered[following].startswith(data)


def _starts_inside_a_character(data: bytes) -> bool:
    return bool(data) and data[0] & 0xC0 == 0x80


class HealingMatcher(Matcher):
    """``inner``'s constraint, preceded by the bytes ``prefix``: while some of ``prefix`` is
    left, a token is allowed when it is a prefix of what is left, or starts with all of it and
    goes on with bytes ``inner`` accepts (checked on a fork of ``inner``, its bytes tokenized
    by ``tokenize`` — the engines are byte-exact, so any tokenization of those bytes answers
    the same; a vocabulary that cannot spell them, which byte-level and byte-fallback ones
    always can, refuses the token). Then every call is ``inner``'s. Rollback and fork follow
    both parts."""

    def __init__(
        self,
        inner: Matcher,
        prefix: bytes,
        vocab: Vocabulary,
        tokenize: Callable[[bytes], list[int] | None],
    ) -> None:
        self._inner = inner
        self._prefix = bytes(prefix)
        self._vocab = vocab
        self._tokenize = tokenize
        self.vocab_size = inner.vocab_size
        self._left = self._prefix
        # One entry per advance: (bytes left before it, inner advances it made).
        self._steps: list[tuple[bytes, int]] = []
        self._allowed: dict[bytes, np.ndarray] = {}  # bitmask row per bytes left

    # -- checks ------------------------------------------------------------------------------
    def _inner_steps(self, token: int) -> tuple[bytes, list[int]] | None:
        """(bytes left, inner tokens) after ``token`` while healing; None if not allowed."""
        if token in self._vocab.special_ids or not 0 <= token < len(self._vocab.token_bytes):
            return None
        data, left = self._vocab.token_bytes[token], self._left
        if len(data) <= len(left):
            return (left[len(data) :], []) if left.startswith(data) else None
        if not data.startswith(left):
            return None
        rest = data[len(left) :]
        tokens = self._tokenize(rest)
        spelled = b"".join(self._vocab.token_bytes[t] for t in tokens) if tokens else b""
        if spelled != rest:  # (a tokenizer stops where the vocabulary cannot spell on)
            return None
        probe = self._inner.fork()
        return (b"", tokens) if all(probe.advance(t) for t in tokens) else None

    def accepts(self, token_id: int) -> bool:
        token = as_token_id(token_id)
        if not self._left:
            return self._inner.accepts(token)
        return self._inner_steps(token) is not None

    def advance(self, token_id: int) -> bool:
        token = as_token_id(token_id)
        if not self._left:
            if not self._inner.advance(token):
                return False
            self._steps.append((b"", 1))
            return True
        found = self._inner_steps(token)
        if found is None:
            return False
        left, tokens = found
        for inner_token in tokens:
            self._inner.advance(inner_token)
        self._steps.append((self._left, len(tokens)))
        self._left = left
        return True

    def fill_next_token_bitmask(self, bitmask: Any, row: int = 0) -> bool:
        if not self._left:
            return self._inner.fill_next_token_bitmask(bitmask, row)
        words = self._allowed.get(self._left)
        if words is None:
            words = self._allowed[self._left] = self._healing_row()
        bitmask_row_view(bitmask, bitmask_words(self.vocab_size), row)[:] = words
        return True

    def _healing_row(self) -> np.ndarray:
        """Every token allowed while ``self._left`` is still to be written. A token that goes
        on past it is checked by its remainder: when that remainder is itself a token, one bit
        of ``inner``'s own mask answers; otherwise a fork of ``inner`` reads it."""
        left, vocab = self._left, self._vocab
        size = bitmask_words(self.vocab_size)
        inner_row = np.zeros((1, size), dtype=np.int32)
        self._inner.fill_next_token_bitmask(inner_row, 0)
        inner_bits = np.unpackbits(inner_row.view(np.uint8), bitorder="little")
        by_bytes = _token_ids_by_bytes(vocab)
        allowed = []
        for token, data in enumerate(vocab.token_bytes):
            if not data or token in vocab.special_ids:
                continue
            if len(data) <= len(left):
                if left.startswith(data):
                    allowed.append(token)
            elif data.startswith(left):
                rest = by_bytes.get(data[len(left) :])
                if rest is not None and rest < len(inner_bits):
                    if inner_bits[rest]:
                        allowed.append(token)
                elif self._inner_steps(token) is not None:
                    allowed.append(token)
        return bitmask_row(allowed, self.vocab_size)

    # -- history -----------------------------------------------------------------------------
    def rollback(self, n: int = 1) -> None:
        if n < 0 or n > len(self._steps):
            raise ValueError(f"cannot roll back {n} steps: {len(self._steps)} are recorded")
        for _ in range(n):
            left, inner_steps = self._steps.pop()
            if inner_steps:
                self._inner.rollback(inner_steps)
            self._left = left

    def fork(self) -> HealingMatcher:
        twin = HealingMatcher(self._inner.fork(), self._prefix, self._vocab, self._tokenize)
        twin._left = self._left
        twin._steps = list(self._steps)
        twin._allowed = self._allowed  # (rows depend only on the bytes left and inner's start)
        return twin

    def reset(self) -> None:
        self._inner.reset()
        self._left = self._prefix
        self._steps.clear()

    @property
    def num_steps(self) -> int:
        return len(self._steps)

    @property
    def healing(self) -> bool:
        """Some of the removed bytes are still to be written."""
        return bool(self._left)

    def forced_tokens(self) -> list[int]:
        return [] if self._left else self._inner.forced_tokens()

    def is_accepting(self) -> bool:
        return not self._left and self._inner.is_accepting()

    def is_terminated(self) -> bool:
        return self._inner.is_terminated()


# Per vocabulary, built once (reading 50k-150k tokens in Python takes a moment).
_BY_BYTES: weakref.WeakKeyDictionary[Vocabulary, dict[bytes, int]] = weakref.WeakKeyDictionary()
_SORTED: weakref.WeakKeyDictionary[Vocabulary, list[bytes]] = weakref.WeakKeyDictionary()


def _token_ids_by_bytes(vocab: Vocabulary) -> dict[bytes, int]:
    """The lowest id of each token's bytes (special tokens left out)."""
    found = _BY_BYTES.get(vocab)
    if found is None:
        found = {}
        for token, data in enumerate(vocab.token_bytes):
            if data and token not in vocab.special_ids:
                found.setdefault(data, token)
        _BY_BYTES[vocab] = found
    return found


def _sorted_token_bytes(vocab: Vocabulary) -> list[bytes]:
    """Every distinct token's bytes, sorted."""
    found = _SORTED.get(vocab)
    if found is None:
        found = _SORTED[vocab] = sorted(set(vocab.token_bytes))
    return found
