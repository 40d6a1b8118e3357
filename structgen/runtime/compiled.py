"""``CompiledGrammar``: an immutable constraint bound to a vocabulary; makes matchers."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from structgen.automaton import Automaton, AutomatonKind
from structgen.engines.cfg.engine import GROWTH_LOCK
from structgen.errors import SerializationError
from structgen.runtime.collector import collector_paused
from structgen.runtime.serialize import Snapshot, load_automaton, snapshot_automaton

if TYPE_CHECKING:
    from structgen.matcher import Matcher
    from structgen.vocab import Vocabulary

__all__ = ["CompiledGrammar"]


@dataclass(frozen=True, eq=False, repr=False)
class CompiledGrammar:
    """A constraint compiled against one vocabulary. Share it; make one matcher per sequence.

    Immutable: the automaton (any engine's :class:`~structgen.automaton.Automaton`) and the
    compile metadata are fixed at construction. :meth:`to_bytes` / :meth:`from_bytes` (and
    :meth:`save` / :meth:`load`) give it a compact, checked byte form; pickling goes through
    that form, so a compiled constraint can be sent to worker processes.
    """

    automaton: Automaton
    source: str
    """What was compiled, for people: ``"regex '…'"``, ``"grammar json"``, ``"json schema"``."""
    compile_seconds: float
    """Seconds it took to make this object: compiling, or loading it from bytes or the cache."""
    from_cache: bool = False
    warnings: tuple[str, ...] = ()
    """What compiling warned about (a JSON Schema's ignored keywords, …), kept with the bytes so
    a cache hit warns again."""

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
        """A new matcher at the start of the constraint (one per sequence). Matchers of one
        compiled constraint may run on different threads: a grammar engine grows under
        :data:`~structgen.engines.cfg.engine.GROWTH_LOCK` and reads what it memoised without
        it."""
        return self.automaton.matcher()

    def stats(self) -> dict[str, Any]:
        """The automaton's sizes and counts, memory in bytes, and how it was compiled."""
        with GROWTH_LOCK:
            counts = self.automaton.stats()
        return {**counts, "compile_seconds": self.compile_seconds, "from_cache": self.from_cache}

    # -- the byte form ---------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The compact, versioned, checksummed byte form (see
        :mod:`structgen.runtime.serialize`); :meth:`from_bytes` reads it back."""
        return self.snapshot().to_bytes()

    def snapshot(self) -> Snapshot:
        """:meth:`to_bytes` taken now and encoded later (:meth:`Snapshot.to_bytes`): decoding
        may go on meanwhile (the disk cache encodes and writes it off the first mask's path)."""
        info = {"source": self.source, "warnings": list(self.warnings)}
        with GROWTH_LOCK:  # a grammar engine may be growing on another thread
            return snapshot_automaton(self.automaton, info)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, vocab: Vocabulary) -> CompiledGrammar:
        """The constraint :meth:`to_bytes` wrote, bound to ``vocab`` (the vocabulary it was
        compiled for: its fingerprint is checked). Raises
        :class:`~structgen.errors.SerializationError` naming what is wrong with ``data``."""
        started = time.perf_counter()
        with collector_paused():
            loaded = load_automaton(data, vocab)
        source, warnings = loaded.info.get("source"), loaded.info.get("warnings", [])
        if not isinstance(source, str) or not (
            isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)
        ):
            raise SerializationError("the stored source and warnings must be text")
        return cls(
            automaton=loaded.automaton,
            source=source,
            compile_seconds=time.perf_counter() - started,
            warnings=tuple(warnings),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_bytes` to ``path`` (atomically: a reader never sees half a file)."""
        target = Path(path)
        blob = self.to_bytes()
        # A uniquely named sibling, created with the usual permissions, renamed into place.
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temporary, "xb") as stream:
                stream.write(blob)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str], vocab: Vocabulary) -> CompiledGrammar:
        """The constraint :meth:`save` wrote to ``path``, bound to ``vocab``."""
        return cls.from_bytes(Path(path).read_bytes(), vocab)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle the byte form (and the vocabulary, which pickles as itself), never the engine.
        return (_from_pickle, (self.to_bytes(), self.vocab))

    def __repr__(self) -> str:
        return (
            f"CompiledGrammar({self.source}, states={self.num_states}, "
            f"vocab={self.vocab.name!r}, vocab_size={self.vocab_size})"
        )


def _from_pickle(data: bytes, vocab: Vocabulary) -> CompiledGrammar:
    return CompiledGrammar.from_bytes(data, vocab)
