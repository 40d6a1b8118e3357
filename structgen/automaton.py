"""The ``Automaton`` protocol: what a compiled constraint offers, whatever engine built it.

Each engine (``engines/dfa``'s ``TokenDFA``, ``engines/cfg``'s ``GrammarEngine``) implements it;
:class:`~structgen.runtime.compiled.CompiledGrammar` holds one and never asks which it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from structgen.matcher import Matcher
    from structgen.vocab import Vocabulary

__all__ = ["Automaton", "AutomatonKind"]

AutomatonKind = Literal["regex", "grammar"]


@runtime_checkable
class Automaton(Protocol):
    """A constraint compiled against one vocabulary: shared, read-only to its users."""

    kind: AutomatonKind
    """``"regex"`` (a token DFA, every mask precomputed) or ``"grammar"`` (context-free)."""
    vocab: Vocabulary
    """The vocabulary the masks are built for; ``vocab.size`` is the bitmask width in tokens."""

    @property
    def num_states(self) -> int:
        """DFA states (regex) or product-lexer states discovered so far (grammar)."""
        ...

    def matcher(self) -> Matcher:
        """A new matcher at the start of the constraint."""
        ...

    def stats(self) -> dict[str, Any]:
        """Sizes and counts that describe the automaton (ending with vocab_size, memory_bytes)."""
        ...

    def memory_bytes(self) -> int:
        """Bytes held by the automaton's arrays and memo tables."""
        ...
