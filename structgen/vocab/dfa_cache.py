"""Byte DFAs kept on disk between processes (slow terminals, the unlisted-key part).

One file per key under ``cache_dir("terminals")``: the key's JSON and the digest of the sources
that build the DFA name it, so a changed builder never reads what an older one wrote. A file
that is missing, damaged or does not describe a DFA reads as None (a miss).
``STRUCTGEN_NO_TERMINAL_CACHE`` turns reading and writing off.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from structgen.paths import cache_dir
from structgen.regex.dfa import DEAD, ByteDFA
from structgen.vocab.array_file import code_digest, read_arrays, write_arrays

__all__ = ["load_byte_dfa", "store_byte_dfa"]


def _entry(key: Any, sources: Sequence[str]) -> Path:
    text = json.dumps([key, code_digest(*sources)])
    return cache_dir("terminals") / f"{hashlib.sha256(text.encode()).hexdigest()}.sga"


def _disabled() -> bool:
    return bool(os.environ.get("STRUCTGEN_NO_TERMINAL_CACHE"))


def load_byte_dfa(key: Any, sources: Sequence[str]) -> ByteDFA | None:
    """The DFA stored under ``key`` (JSON-able) by the same ``sources``, or None."""
    if _disabled():
        return None
    arrays = read_arrays(_entry(key, sources))
    if arrays is None or set(arrays) != {"transitions", "accepting"}:
        return None
    transitions, accepting = arrays["transitions"], arrays["accepting"]
    states = len(accepting)
    if (
        transitions.dtype != np.int32
        or accepting.dtype != np.bool_
        or transitions.shape != (states, 256)
        or not states
        or transitions.min(initial=DEAD) < DEAD
        or transitions.max(initial=DEAD) >= states
    ):
        return None
    return ByteDFA(transitions=transitions, accepting=accepting)


def store_byte_dfa(key: Any, sources: Sequence[str], dfa: ByteDFA) -> None:
    """Keep ``dfa`` under ``key`` for the next process (skipped when the cache is off)."""
    if not _disabled():
        arrays = {"transitions": dfa.transitions, "accepting": dfa.accepting}
        write_arrays(_entry(key, sources), arrays)
