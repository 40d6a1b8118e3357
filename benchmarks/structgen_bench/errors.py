"""The harness's own exceptions: an engine's failure is recorded as a result, never fatal."""

from __future__ import annotations

__all__ = ["EngineError", "GrammarNotSupported"]


class EngineError(RuntimeError):
    """An engine failed to compile or to run a pattern (recorded, never fatal to a run)."""


class GrammarNotSupported(EngineError):
    """The engine cannot take this grammar (not expressible in its syntax, or not its row)."""
