"""One lock around the grammar engine's shared, growing state, so matchers may run on threads.

A grammar engine (:mod:`structgen.engines.cfg.engine`) grows while it answers: its mask memo
(an ``OrderedDict`` reordered on every hit), interned parser configurations and Earley sets,
product-lexer states and rows (arrays replaced when they grow), trie walks and the event and
frontier buffers every walk reuses; and some of it is shared by every engine of the process
(root walks kept by their owner, terminal automata memoised by regex text and determinised on
demand). None of it is locked, and the walk kernels release the GIL, so two threads asking for
masks at once — even of two different compiled grammars — can corrupt it (seen as wrong masks,
valid tokens refused, ``RuntimeError`` from numpy; ``tests/test_thread_safety.py`` reproduces
it without this lock).

:data:`GRAMMAR_LOCK` serialises every call a :class:`GrammarMatcher` makes into its engine
(``mask``, ``step``, ``step_bytes``, ``live_bytes``) and the engine's snapshots and stats;
what stays outside it is per matcher (its history) or immutable (a mask once made is never
changed, so copying it into the caller's bitmask runs unlocked, in parallel). Regex automata
need no lock: their masks are memoised under their own lock and nothing else changes.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from structgen.engines.cfg.matcher import GrammarMatcher

__all__ = ["GRAMMAR_LOCK", "LockedGrammarEngine", "locked_matcher"]

GRAMMAR_LOCK = threading.RLock()
"""Held while a grammar engine of this process changes (reentrant: a snapshot may ask for
stats)."""


class LockedGrammarEngine:
    """The part of a grammar engine a :class:`GrammarMatcher` uses (its ``ParsingAutomaton``
    protocol), every changing call made under :data:`GRAMMAR_LOCK`."""

    __slots__ = ("_engine", "eos_ids", "eos_words", "initial", "num_words", "trie", "vocab")

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        # Fixed once the engine is built: read without the lock.
        self.vocab = engine.vocab
        self.trie = engine.trie
        self.initial = engine.initial
        self.num_words = engine.num_words
        self.eos_ids = engine.eos_ids
        self.eos_words = engine.eos_words

    def mask(self, config: Any) -> tuple[np.ndarray, bool]:
        with GRAMMAR_LOCK:
            return self._engine.mask(config)

    def step(self, config: Any, byte: int) -> Any:
        with GRAMMAR_LOCK:
            return self._engine.step(config, byte)

    def step_bytes(self, config: Any, data: bytes) -> Any:
        with GRAMMAR_LOCK:
            return self._engine.step_bytes(config, data)

    def live_bytes(self, config: Any) -> np.ndarray:
        with GRAMMAR_LOCK:
            return self._engine.live_bytes(config)


def locked_matcher(locked: LockedGrammarEngine) -> GrammarMatcher:
    """A new matcher at the start of the grammar, driving its engine through ``locked``."""
    return GrammarMatcher(locked)
