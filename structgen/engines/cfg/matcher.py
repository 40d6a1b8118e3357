"""Matcher over a context-free grammar (see :mod:`structgen.engines.cfg.engine`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from structgen.matcher import Matcher, as_numpy_bitmask
from structgen.errors import ConfigurationError

if TYPE_CHECKING:
    from structgen.engines.cfg.engine import Config, GrammarEngine

_TERMINATED = "terminated"


class GrammarMatcher(Matcher):
    """History is a persistent linked list of interned configurations: fork is O(1)."""

    __slots__ = ("_engine", "_history", "_steps", "vocab_size", "_eos", "_forced_limit")

    def __init__(self, engine: GrammarEngine, *, forced_limit: int = 4096) -> None:
        self._engine = engine
        self.vocab_size = engine.vocab.size
        self._eos = frozenset(engine.eos_ids)
        self._history: tuple[Any, Any] = (engine.initial, None)
        self._steps = 0
        self._forced_limit = forced_limit

    @property
    def num_steps(self) -> int:
        return self._steps

    @property
    def config(self) -> Config | str:
        return self._history[0]

    def fill_next_token_bitmask(self, bitmask: Any, row: int = 0) -> bool:
        engine = self._engine
        words = as_numpy_bitmask(bitmask, engine.num_words)
        config = self._history[0]
        if config is _TERMINATED:
            words[row] = engine.eos_words
            return True
        mask, full = engine.mask(config)
        words[row] = mask
        return not full

    def _next(self, token_id: int) -> Any:
        config = self._history[0]
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
        self._history = (following, self._history)
        self._steps += 1
        return True

    def rollback(self, n: int = 1) -> None:
        if n < 0 or n > self._steps:
            raise ConfigurationError(f"cannot roll back {n} steps: the matcher has {self._steps}")
        history = self._history
        for _ in range(n):
            history = history[1]
        self._history = history
        self._steps -= n

    def fork(self) -> GrammarMatcher:
        twin = GrammarMatcher.__new__(GrammarMatcher)
        twin._engine = self._engine
        twin.vocab_size = self.vocab_size
        twin._eos = self._eos
        twin._history = self._history
        twin._steps = self._steps
        twin._forced_limit = self._forced_limit
        return twin

    def forced_bytes(self) -> bytes:
        """The bytes the grammar alone decides from here."""
        config = self._history[0]
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
        config = self._history[0]
        return config is _TERMINATED or config.final

    def is_terminated(self) -> bool:
        return self._history[0] is _TERMINATED

    def reset(self) -> None:
        self._history = (self._engine.initial, None)
        self._steps = 0
