"""The vocabulary of a GGUF file, kept on disk after the first read.

Reading a GGUF header walks every token and merge in Python (about 0.3–0.7 s for Llama 3); the
cached copy reads back in milliseconds. The key is the file's size, modification time and the
SHA-256 of its first MiB (where the header starts), with structgen's version and the readers'
source (:func:`~structgen.vocab.array_file.code_digest`): a file changed in place, or a
changed reader, misses the cache. Entries live below ``cache_dir("vocabularies")``
in the digest-checked format of :mod:`structgen.vocab.array_file`; small vocabularies (tests,
toys) are not written.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from structgen.paths import cache_dir
from structgen.vocab import gguf_metadata, gguf_vocab, pieces
from structgen.vocab.array_file import code_digest, read_arrays, write_arrays

__all__ = ["gguf_cache_path", "read_cached", "write_cached"]

MIN_TOKENS = 4096
"""Vocabularies with fewer tokens read fast enough: they are not cached."""

_HEAD_BYTES = 1 << 20


def gguf_cache_path(path: Path) -> Path | None:
    """Where the vocabulary of the GGUF file ``path`` is cached (None: the file cannot be read;
    the reader then reports why)."""
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return None
    readers = code_digest(__file__, gguf_metadata.__file__, gguf_vocab.__file__, pieces.__file__)
    digest = hashlib.sha256(f"{readers}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    digest.update(head)
    return cache_dir("vocabularies", digest.hexdigest()[:40] + ".arrays")


def read_cached(entry: Path) -> dict[str, np.ndarray] | None:
    """The arrays of ``Vocabulary.to_arrays`` plus ``fingerprint`` (ASCII bytes), or None."""
    arrays = read_arrays(entry)
    if arrays is None or "fingerprint" not in arrays or "token_offsets" not in arrays:
        return None
    return arrays


def write_cached(entry: Path, arrays: dict[str, np.ndarray], fingerprint: str) -> None:
    """Keep ``arrays`` (``Vocabulary.to_arrays``) and the fingerprint at ``entry``."""
    if len(arrays["token_offsets"]) - 1 < MIN_TOKENS:
        return
    tag = np.frombuffer(fingerprint.encode("ascii"), dtype=np.uint8)
    write_arrays(entry, {**arrays, "fingerprint": tag})
