"""On-disk cache of compiled constraints: one file per key, holding the byte form.

The key (:func:`cache_key`) hashes the kind, the constraint's canonical text, every option that
changes the result, the vocabulary fingerprint, the structgen version, the byte form's format
version and a digest of structgen's own code, so a new release, an edited checkout or another
tokenizer never reads a stale entry. The directory is ``compiled/`` below
:func:`structgen.paths.cache_dir` (``$STRUCTGEN_CACHE_DIR``, else the user cache directory).

An entry is the key on one line, then the constraint's bytes (see
:mod:`structgen.runtime.serialize`, whose checksum finds damage). Nothing read back is trusted:
an entry that cannot be read, names another key, or does not load is a miss, and the caller
recompiles and rewrites it. Entries are written to a temporary file and renamed into place, so
concurrent writers leave one whole entry; a cache that cannot be written (read-only home, full
disk) is skipped and leaves no temporary files behind.

:func:`write_entry_later` takes the encoding and the write off the caller's path: a daemon
thread compresses (zlib and SHA-256 release the GIL), writes and renames, while the caller
returns its first mask. A read of the same entry in this process waits for that write
(:func:`read_entry`), :func:`wait_for_writes` waits for all of them, and so does the
interpreter on its way out (up to :data:`EXIT_WAIT_S`); a process killed mid-write leaves at most
a temporary file, never half an entry.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from structgen.errors import SerializationError
from structgen.paths import cache_dir
from structgen.runtime.serialize import FORMAT_VERSION
from structgen.version import __version__

__all__ = [
    "CacheInfo",
    "cache_directory",
    "cache_key",
    "clear",
    "code_digest",
    "info",
    "read_entry",
    "sources_digest",
    "wait_for_writes",
    "write_entry",
    "write_entry_later",
]

SUFFIX = ".sgc"
# Files this cache may leave: entries, temporary files, and entries of older formats.
_OWN_SUFFIXES = (SUFFIX, ".tmp", ".npz")


def cache_directory(root: str | os.PathLike[str] | None = None) -> Path:
    """Where entries live: ``root/compiled``, or ``compiled`` below the structgen cache."""
    return Path(root) / "compiled" if root is not None else cache_dir("compiled")


@cache
def code_digest() -> str:
    """SHA-256 of structgen's Python sources (names and contents), once per process (~4 ms)."""
    return sources_digest(Path(__file__).resolve().parent.parent)


def sources_digest(package: Path) -> str:
    """SHA-256 of the names and contents of the ``.py`` files below ``package`` (links
    followed, ``__pycache__`` skipped)."""
    digest = hashlib.sha256()
    root = os.fspath(package)
    for folder, folders, files in os.walk(root, followlinks=True):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        relative = os.path.relpath(folder, root).replace(os.sep, "/")
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as stream:
                    content = stream.read()
                digest.update(f"{relative}/{name}".encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def cache_key(kind: str, source: str, options: dict[str, Any], vocab_fingerprint: str) -> str:
    """The entry's name: a SHA-256 over everything that decides the compiled result."""
    payload = json.dumps(
        {
            "kind": kind,
            "source": source,
            "options": options,
            "vocab": vocab_fingerprint,
            "version": __version__,
            "format": FORMAT_VERSION,
            "code": code_digest(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _entry_path(key: str, directory: Path) -> Path:
    return directory / f"{key}{SUFFIX}"


def read_entry(key: str, directory: Path) -> memoryview | None:
    """The bytes stored under ``key`` (a read-only view, not a copy), or None (a miss) when
    absent, unreadable or another key's entry (once this process's pending write of it, if
    any, is done). The bytes are not checked here: loading them does that."""
    _wait_for(_entry_path(key, directory))
    try:
        with open(_entry_path(key, directory), "rb") as stream:
            data = stream.read()
    except OSError:  # absent, a directory, unreadable
        return None
    line = key.encode("ascii") + b"\n"
    return memoryview(data)[len(line) :] if data.startswith(line) else None


def write_entry(key: str, blob: bytes, directory: Path) -> None:
    """Store ``blob`` under ``key`` atomically; skipped when the cache cannot be written."""
    path = _entry_path(key, directory)
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(key.encode("ascii") + b"\n")
            stream.write(blob)
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


# Entries being written by a background thread, by path.
_pending: dict[Path, threading.Thread] = {}
_pending_lock = threading.Lock()
# How long the interpreter waits at exit for background writes still under way.
EXIT_WAIT_S = 10.0


def write_entry_later(key: str, encode: Callable[[], bytes], directory: Path) -> None:
    """Store ``encode()`` under ``key`` from a daemon thread (see the module doc); an
    ``encode`` that raises :class:`~structgen.errors.SerializationError` stores nothing."""
    path = _entry_path(key, directory)

    def run() -> None:
        try:
            write_entry(key, encode(), directory)
        except SerializationError:
            pass  # an automaton that has no byte form is simply not cached
        finally:
            with _pending_lock:
                if _pending.get(path) is threading.current_thread():
                    del _pending[path]

    thread = threading.Thread(target=run, name="structgen-cache-write", daemon=True)
    with _pending_lock:
        earlier = _pending.get(path)
        _pending[path] = thread
    if earlier is not None:
        earlier.join()  # one writer per entry at a time (the same bytes either way)
    thread.start()


def _wait_for(path: Path) -> None:
    with _pending_lock:
        thread = _pending.get(path)
    if thread is not None:
        thread.join()


def wait_for_writes(timeout: float | None = None) -> bool:
    """Wait for this process's background writes (at most ``timeout`` seconds in all);
    whether none is left."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _pending_lock:
            threads = list(_pending.values())
        if not threads:
            return True
        for thread in threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
            if deadline is not None and time.monotonic() >= deadline:
                with _pending_lock:
                    return not _pending


atexit.register(wait_for_writes, EXIT_WAIT_S)


@dataclass(frozen=True)
class CacheInfo:
    """What the cache directory holds."""

    directory: Path
    entries: int
    bytes: int


def _own_files(directory: Path) -> list[Path]:
    try:
        return sorted(
            path
            for path in directory.iterdir()
            if path.suffix in _OWN_SUFFIXES and path.is_file() and not path.is_symlink()
        )
    except OSError:
        return []


def info(directory: Path) -> CacheInfo:
    """The number of entries in ``directory`` and the bytes its files take (this process's
    background writes done first)."""
    wait_for_writes()
    files = _own_files(directory)
    total = 0
    for path in files:
        try:
            total += path.stat().st_size
        except OSError:
            pass
    entries = sum(1 for path in files if path.suffix != ".tmp")
    return CacheInfo(directory=directory, entries=entries, bytes=total)


def clear(directory: Path) -> int:
    """Delete the cache's files in ``directory`` (nothing else); the number deleted (this
    process's background writes done first)."""
    wait_for_writes()
    removed = 0
    for path in _own_files(directory):
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed
