"""The minimal automata of string formats, kept on disk between processes.

A format's decoded-string language (:func:`~structgen.validation.formats.format_node`) does not
depend on the schema or the vocabulary, yet an email, hostname or URI automaton costs 50–300
ms to build and minimise: :func:`~structgen.schema.strings.minimal_dfa` keeps it per process,
and this module keeps it on disk for the next one (issue 11: the first schema of a process that
uses the format), keyed by the format's name, the state limit and the digest of the sources
that define and build it (``STRUCTGEN_NO_TERMINAL_CACHE`` turns it off, as for terminals). The
package ships them for the default limit (:mod:`structgen.schema.seeds`): a new machine's first
schema with an email pays no 140 ms.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from structgen.paths import cache_dir
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.vocab.array_file import code_digest, write_arrays
from structgen.vocab.dfa_cache import read_stored, write_seed

__all__ = ["load_format_dfa", "seed_format_dfa", "store_format_dfa"]

_PACKAGE = Path(__file__).parents[1]
_SOURCES = (
    "regex/codepoint_dfa.py", "regex/automaton.py", "regex/ast.py", "regex/nodes.py",
    "regex/parser.py", "validation/formats.py", "schema/strings.py", "schema/format_automata.py",
)  # fmt: skip
_FIELDS = {"cuts", "interval_class", "transitions", "accepting"}


def _name(name: str, max_states: int) -> str:
    digest = code_digest(*(str(_PACKAGE / source) for source in _SOURCES))
    key = json.dumps(["format automaton", name, max_states, digest])
    return hashlib.sha256(key.encode()).hexdigest()


def load_format_dfa(name: str, max_states: int) -> CodePointDFA | None:
    """The minimal automaton of format ``name`` an earlier process stored (or the package
    ships: :mod:`structgen.schema.seeds`), or None."""
    if os.environ.get("STRUCTGEN_NO_TERMINAL_CACHE"):
        return None
    arrays = read_stored("formats", _name(name, max_states))
    if arrays is None or set(arrays) != _FIELDS:
        return None
    cuts, classes = arrays["cuts"], arrays["interval_class"]
    transitions, accepting = arrays["transitions"], arrays["accepting"]
    states = len(accepting)
    if (
        transitions.dtype != np.int32
        or accepting.dtype != np.bool_
        or transitions.ndim != 2
        or transitions.shape[0] != states
        or not states
        or cuts.shape != classes.shape
        or not len(classes)
        or classes.min() < 0
        or classes.max() >= transitions.shape[1]
        or transitions.min() < -1
        or transitions.max() >= states
    ):
        return None
    return CodePointDFA(cuts, classes, transitions, accepting)


def store_format_dfa(name: str, max_states: int, automaton: CodePointDFA) -> None:
    """Keep the minimal automaton of format ``name`` for the next process."""
    if os.environ.get("STRUCTGEN_NO_TERMINAL_CACHE"):
        return
    write_arrays(cache_dir("formats") / f"{_name(name, max_states)}.sga", _arrays(automaton))


def seed_format_dfa(name: str, max_states: int, automaton: CodePointDFA, directory: Path) -> Path:
    """Write the automaton of format ``name`` as a seed into ``directory``; its path."""
    return write_seed(_name(name, max_states), _arrays(automaton), directory)


def _arrays(automaton: CodePointDFA) -> dict[str, np.ndarray]:
    return {
        "cuts": automaton.cuts,
        "interval_class": automaton.interval_class,
        "transitions": automaton.transitions,
        "accepting": automaton.accepting,
    }
