"""Byte DFAs kept on disk between processes (slow terminals, the unlisted-key part).

One file per key under ``cache_dir("terminals")``: the key's JSON and the digest of the sources
that build the DFA name it, so a changed builder never reads what an older one wrote. A file
that is missing, damaged or does not describe a DFA reads as None (a miss).

*Seeds*: the package ships, under the same names, the DFAs almost every JSON schema needs
(``structgen/vocab/seeds``, zlib-compressed; :mod:`structgen.schema.seeds` lists and writes
them), read when the cache has no file — so a fresh process on a new machine finds them too.
A changed builder changes the names, so a stale seed is never read (and a test says so).
``STRUCTGEN_NO_TERMINAL_CACHE`` turns reading (seeds too) and writing off.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from structgen.paths import cache_dir
from structgen.regex.dfa import DEAD, ByteDFA
from structgen.vocab.array_file import (
    code_digest,
    encode_arrays,
    parse_arrays,
    read_arrays,
    write_arrays,
)

__all__ = [
    "SEED_DIR", "SEED_SUFFIX", "load_byte_dfa", "read_stored", "seed_byte_dfa", "store_byte_dfa",
    "write_seed",
]  # fmt: skip

SEED_DIR = Path(__file__).with_name("seeds")
"""Where the package's seed DFAs live (read-only at run time)."""
SEED_SUFFIX = ".sga.z"
"""The ending of a seed's file name (a cache file's name, zlib-compressed)."""


def _name(key: Any, sources: Sequence[str]) -> str:
    text = json.dumps([key, code_digest(*sources)])
    return hashlib.sha256(text.encode()).hexdigest()


def _disabled() -> bool:
    return bool(os.environ.get("STRUCTGEN_NO_TERMINAL_CACHE"))


def load_byte_dfa(key: Any, sources: Sequence[str]) -> ByteDFA | None:
    """The DFA stored under ``key`` (JSON-able) by the same ``sources`` — in the cache, else
    among the package's seeds — or None."""
    if _disabled():
        return None
    arrays = read_stored("terminals", _name(key, sources))
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


def read_stored(folder: str, name: str) -> dict[str, np.ndarray] | None:
    """The arrays of the cache file ``name`` in ``cache_dir(folder)``, else of the package's
    seed ``name``; None when neither is there intact."""
    arrays = read_arrays(cache_dir(folder) / f"{name}.sga")
    return arrays if arrays is not None else _read_seed(SEED_DIR / f"{name}{SEED_SUFFIX}")


def _read_seed(path: Path) -> dict[str, np.ndarray] | None:
    try:
        data = zlib.decompress(path.read_bytes())
    except (OSError, zlib.error):
        return None
    return parse_arrays(np.frombuffer(data, dtype=np.uint8).copy())


def write_seed(name: str, arrays: dict[str, np.ndarray], directory: Path) -> Path:
    """Write ``arrays`` as the seed ``name`` into ``directory`` (the generator's side)."""
    path = directory / f"{name}{SEED_SUFFIX}"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zlib.compress(encode_arrays(arrays), 9))
    return path


def seed_byte_dfa(key: Any, sources: Sequence[str], dfa: ByteDFA, directory: Path) -> Path:
    """Write ``dfa`` as the seed of ``key`` into ``directory`` (the generator's side); its path."""
    return write_seed(_name(key, sources), _arrays(dfa), directory)


def store_byte_dfa(key: Any, sources: Sequence[str], dfa: ByteDFA) -> None:
    """Keep ``dfa`` under ``key`` for the next process (skipped when the cache is off)."""
    if not _disabled():
        write_arrays(cache_dir("terminals") / f"{_name(key, sources)}.sga", _arrays(dfa))


def _arrays(dfa: ByteDFA) -> dict[str, np.ndarray]:
    return {"transitions": dfa.transitions, "accepting": dfa.accepting}
