"""One exception root for everything structgen raises.

Every error says what was wrong, where, and (when there is one) how to fix it. Errors that are
about a user's input are also ``ValueError`` so callers that only know the standard library can
catch them.
"""

from __future__ import annotations

__all__ = [
    "StructgenError",
    "ConfigurationError",
    "RegexError",
    "UnsupportedFeatureError",
    "LimitExceededError",
    "TokenizerError",
    "MissingDependencyError",
    "MatcherError",
    "SerializationError",
]


class StructgenError(Exception):
    """Base class of every error structgen raises."""


class ConfigurationError(StructgenError, ValueError):
    """An option or argument has a value that cannot work."""


class RegexError(StructgenError, ValueError):
    """A regular expression that does not parse; ``position`` is the 0-based offset."""

    def __init__(self, message: str, *, pattern: str, position: int | None = None) -> None:
        self.pattern = pattern
        self.position = position
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        if self.position is None:
            return f"{self.reason} in regex {self.pattern!r}"
        shown = self.pattern if len(self.pattern) <= 120 else self.pattern[:120] + "…"
        caret = " " * min(self.position, len(shown)) + "^"
        return f"{self.reason} at position {self.position} of the regex:\n  {shown}\n  {caret}"


class UnsupportedFeatureError(RegexError):
    """A regex feature no finite automaton can express (backreferences, lookaround, …)."""

    def __init__(self, feature: str, *, pattern: str, position: int | None = None) -> None:
        self.feature = feature
        super().__init__(
            f"unsupported regex feature: {feature} (a regular language cannot express it)",
            pattern=pattern,
            position=position,
        )


class LimitExceededError(StructgenError):
    """A configured limit (states, depth, time, …) was reached; says which and how to raise it."""

    def __init__(self, what: str, limit: int | float, *, hint: str = "") -> None:
        self.what = what
        self.limit = limit
        message = f"{what} exceeds the limit of {limit}"
        super().__init__(f"{message}; {hint}" if hint else message)


class TokenizerError(StructgenError, ValueError):
    """A tokenizer or vocabulary file that cannot be read."""


class MissingDependencyError(StructgenError, ImportError):
    """An optional dependency is not installed; the message says how to install it."""

    def __init__(self, package: str, *, purpose: str, install: str | None = None) -> None:
        self.package = package
        hint = install or f"pip install {package}"
        super().__init__(
            f"{purpose} needs the package {package!r}, which is not installed; run: {hint}"
        )


class MatcherError(StructgenError):
    """Raised once, with context, by a logits processor whose matcher rejected a token."""


class SerializationError(StructgenError, ValueError):
    """Bytes that are not a compiled constraint this structgen can load (foreign, truncated,
    damaged, another format or structgen version, another vocabulary); the message says which."""
