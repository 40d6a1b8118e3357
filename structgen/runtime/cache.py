"""On-disk cache of compiled automata: numpy ``.npz`` files (no pickle), written atomically.

The key hashes the constraint, its options, the vocabulary fingerprint and the structgen
version, so a new release or another tokenizer never reads a stale entry. The directory is
``$STRUCTGEN_CACHE_DIR`` or ``$XDG_CACHE_HOME/structgen`` (``~/.cache/structgen``).

Nothing read back is trusted: every entry carries a digest of its arrays under its key
(:func:`entry_digest`), and an entry that cannot be read, whose digest differs or that is not
an ``.npz`` of plain arrays is a miss (the caller recomputes and rewrites it). The digest finds
damage and edits that did not recompute it; callers also check shapes and ranges (see
``TokenDFA.from_arrays``). A cache that cannot be written (read-only home, full disk) is
skipped and leaves no temporary files behind.
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
CACHE_FORMAT = 3
DIGEST = "digest"  # the array name under which an entry's digest is stored

__all__ = ["CACHE_FORMAT", "cache_key", "cache_root", "entry_digest", "load_arrays", "save_arrays"]


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


def entry_digest(key: str, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """SHA-256 of ``key`` and every array's name, dtype, shape and bytes (uint8 [32])."""
    digest = hashlib.sha256(key.encode("utf-8"))
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        header = json.dumps([name, array.dtype.str, list(array.shape)])
        digest.update(len(header).to_bytes(8, "little") + header.encode("utf-8"))
        digest.update(array.nbytes.to_bytes(8, "little"))
        digest.update(array.tobytes())
    return np.frombuffer(digest.digest(), dtype=np.uint8).copy()


def _entry_path(key: str, directory: Path | None) -> Path:
    return (directory or cache_root() / "compiled") / f"{key}.npz"


def load_arrays(key: str, directory: Path | None = None) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``key``, or None (a miss) when the entry is absent, unreadable,
    damaged or its digest does not match."""
    path = _entry_path(key, directory)
    try:
        if not path.is_file():
            return None
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            return None  # a bare .npy written over the entry
        with data:
            arrays = {name: data[name] for name in data.files}
    except Exception:  # noqa: BLE001 — zipfile and numpy raise a dozen kinds on damaged input
        return None  # a damaged entry is a miss; it is rewritten
    stored = arrays.pop(DIGEST, None)
    if (
        stored is None
        or stored.dtype != np.uint8
        or not np.array_equal(stored, entry_digest(key, arrays))
    ):
        return None
    return arrays


def save_arrays(key: str, arrays: dict[str, np.ndarray], directory: Path | None = None) -> None:
    """Write ``arrays`` (and their digest) under ``key`` atomically; skipped when not writable."""
    if DIGEST in arrays:
        raise ValueError(f"{DIGEST!r} is the cache's own array name")
    path = _entry_path(key, directory)
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays, **{DIGEST: entry_digest(key, arrays)})
        os.replace(temporary, path)
        temporary = None
    except OSError:
        return  # the cache is an optimisation: a read-only home must not break compilation
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
