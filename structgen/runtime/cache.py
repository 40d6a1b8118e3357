"""On-disk cache of compiled automata: numpy ``.npz`` files (no pickle), written atomically.

The key hashes the constraint, its options, the vocabulary fingerprint and the structgen
version, so a new release or another tokenizer never reads a stale entry. The directory is
``$STRUCTGEN_CACHE_DIR`` or ``$XDG_CACHE_HOME/structgen`` (``~/.cache/structgen``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from structgen.version import __version__

# Bumped whenever the arrays written change shape or meaning, so old entries are never read.
CACHE_FORMAT = 2


def cache_root() -> Path:
    explicit = os.environ.get("STRUCTGEN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "structgen"


def cache_key(kind: str, source: str, options: dict, vocab_fingerprint: str) -> str:
    payload = json.dumps(
        {
            "kind": kind,
            "source": source,
            "options": options,
            "vocab": vocab_fingerprint,
            "version": __version__,
            "format": CACHE_FORMAT,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def load_arrays(key: str, directory: Path | None = None) -> dict[str, np.ndarray] | None:
    path = (directory or cache_root() / "compiled") / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError):
        return None  # a damaged entry is a miss; it is rewritten


def save_arrays(key: str, arrays: dict[str, np.ndarray], directory: Path | None = None) -> None:
    folder = directory or cache_root() / "compiled"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.replace(temporary, folder / f"{key}.npz")
    except OSError:
        return  # the cache is an optimisation: a read-only home must not break compilation
