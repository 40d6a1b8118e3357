"""``CompiledGrammar``: an immutable constraint bound to a vocabulary; makes matchers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from structgen.automaton import Automaton, AutomatonKind

if TYPE_CHECKING:
    from structgen.matcher import Matcher
    from structgen.vocab import Vocabulary

__all__ = ["CompiledGrammar"]


@dataclass(frozen=True, eq=False, repr=False)
class CompiledGrammar:
    """A constraint compiled against one vocabulary. Share it; make one matcher per sequence.

    Immutable: the automaton (any engine's :class:`~structgen.automaton.Automaton`) and the
    compile metadata are fixed at construction.
    """

    automaton: Automaton
    source: str
    """What was compiled, for people: ``"regex '…'"``, ``"grammar json"``, ``"json schema"``."""
    compile_seconds: float
    from_cache: bool = False

    @property
    def vocab(self) -> Vocabulary:
        return self.automaton.vocab

    @property
    def vocab_size(self) -> int:
        """The width of the bitmask in tokens (the model's vocabulary size)."""
        return self.automaton.vocab.size

    @property
    def kind(self) -> AutomatonKind:
        """``"regex"`` or ``"grammar"`` (JSON Schemas compile to grammars)."""
        return self.automaton.kind

    @property
    def num_states(self) -> int:
        """DFA states (regex) or product-lexer states discovered so far (grammar)."""
        return self.automaton.num_states

    def matcher(self) -> Matcher:
        """A new matcher at the start of the constraint (one per sequence)."""
        return self.automaton.matcher()

    def stats(self) -> dict[str, Any]:
        """The automaton's sizes and counts, memory in bytes, and how it was compiled."""
        return {
            **self.automaton.stats(),
            "compile_seconds": self.compile_seconds,
            "from_cache": self.from_cache,
        }

    def __repr__(self) -> str:
        return (
            f"CompiledGrammar({self.source}, states={self.num_states}, "
            f"vocab={self.vocab.name!r}, vocab_size={self.vocab_size})"
        )
