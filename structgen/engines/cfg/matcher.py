"""Matcher over a context-free grammar (see :mod:`structgen.engines.cfg.engine`)."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from structgen.matcher import History, Matcher, as_token_id, bitmask_row_view

_TERMINATED = "terminated"


class ParsingAutomaton(Protocol):
    """What the matcher uses of a :class:`~structgen.engines.cfg.engine.GrammarEngine` (which
    makes the matchers, so this module does not import it). Configurations are its interned
    ``Config`` objects (``None``: no configuration, the bytes are not allowed)."""

    vocab: Any  # a Vocabulary
    trie: Any  # a TokenTrie
    initial: Any
    num_words: int
    eos_ids: tuple[int, ...]
    eos_words: np.ndarray

    def mask(self, config: Any) -> tuple[np.ndarray, bool]: ...
    def step(self, config: Any, byte: int) -> Any: ...
    def step_bytes(self, config: Any, data: bytes) -> Any: ...
    def live_bytes(self, config: Any) -> np.ndarray: ...


class GrammarMatcher(Matcher):
    """Walks interned parser configurations; history is shared on fork (O(1))."""

    __slots__ = ("_engine", "_eos", "_forced_limit", "_history", "_view", "vocab_size")

    def __init__(
        self,
        engine: ParsingAutomaton,
        *,
        forced_limit: int = 4096,
        history: History[Any] | None = None,
    ) -> None:
        self._engine = engine
        self.vocab_size = engine.vocab.size
        self._eos = frozenset(engine.eos_ids)
        self._history: History[Any] = History(engine.initial) if history is None else history
        self._forced_limit = forced_limit
        # (bitmask, row, writable view of that row): decoding fills the same row every step.
        self._view: tuple[Any, int, np.ndarray] | None = None

    @property
    def num_steps(self) -> int:
        return self._history.num_steps

    @property
    def config(self) -> Any:
        """The current configuration (an engine ``Config``, or ``"terminated"``)."""
        return self._history.state

    def fill_next_token_bitmask(self, bitmask: Any, row: int = 0) -> bool:
        engine = self._engine
        view = self._view
        if view is not None and bitmask is view[0] and type(row) is int and row == view[1]:
            words = view[2]
        else:
            words = bitmask_row_view(bitmask, engine.num_words, row)
            # Only a numpy bitmask's view is kept: a tensor may be resized in place.
            self._view = (bitmask, row, words) if type(bitmask) is np.ndarray else None
        config = self._history.state
        if config is _TERMINATED:
            words[...] = engine.eos_words
            return True
        mask, full = engine.mask(config)
        words[...] = mask  # (an Ellipsis assignment costs numpy less than a full slice)
        return not full

    def _next(self, token_id: int) -> Any:
        token_id = as_token_id(token_id)
        config = self._history.state
        if token_id in self._eos:
            return _TERMINATED if config is _TERMINATED or config.final else None
        if config is _TERMINATED:
            return None
        engine = self._engine
        if token_id < 0 or token_id >= len(engine.trie.token_bytes):
            return None
        data = engine.trie.token_bytes[token_id]
        if not data:
            return None
        return engine.step_bytes(config, data)

    def accepts(self, token_id: int) -> bool:
        return self._next(token_id) is not None

    def advance(self, token_id: int) -> bool:
        following = self._next(token_id)
        if following is None:
            return False
        self._history.push(following)
        return True

    def rollback(self, n: int = 1) -> None:
        self._history.rollback(n)

    def fork(self) -> GrammarMatcher:
        return GrammarMatcher(
            self._engine, forced_limit=self._forced_limit, history=self._history.fork()
        )

    def forced_bytes(self) -> bytes:
        """The bytes the grammar alone decides from here."""
        config = self._history.state
        if config is _TERMINATED:
            return b""
        engine = self._engine
        out = bytearray()
        while config is not None and not config.final and len(out) < self._forced_limit:
            live = engine.live_bytes(config)
            if live.sum() != 1:
                break
            byte = int(live.argmax())
            out.append(byte)
            config = engine.step(config, byte)
        return bytes(out)

    def forced_tokens(self) -> list[int]:
        forced = self.forced_bytes()
        return self._engine.trie.greedy_tokenize(forced) if forced else []

    def is_accepting(self) -> bool:
        config = self._history.state
        return config is _TERMINATED or config.final

    def is_terminated(self) -> bool:
        return self._history.state is _TERMINATED

    def reset(self) -> None:
        self._history.reset()
