"""A digest-checked file of named numpy arrays: the disk format of the vocabulary's caches.

Layout: the magic ``SGARRAYS1\\n``, a uint32 header length, a JSON header (``names``,
``dtypes``, ``shapes`` and the SHA-256 of the payload), then the arrays' bytes back to back.
No pickle: reading a file only ever yields plain numeric arrays. A file that is short, altered
or of another format reads as ``None`` (a cache miss), never as wrong data; writes go to a
temporary file renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import numpy as np

from structgen.version import __version__

__all__ = ["code_digest", "read_arrays", "write_arrays"]

_MAGIC = b"SGARRAYS1\n"
_LENGTH = struct.Struct("<I")


@cache
def code_digest(*sources: str) -> str:
    """SHA-256 of structgen's version and the given source files: part of every cache key, so
    that a changed builder or reader never reads what an older one wrote."""
    digest = hashlib.sha256(__version__.encode())
    for source in sources:
        try:
            digest.update(Path(source).read_bytes())
        except OSError:
            digest.update(source.encode())
    return digest.hexdigest()


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> bool:
    """Write ``arrays`` to ``path`` atomically; False when the folder is not writable."""
    parts = [np.ascontiguousarray(a) for a in arrays.values()]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(memoryview(part).cast("B"))
    header = json.dumps(
        {
            "names": list(arrays),
            "dtypes": [part.dtype.str for part in parts],
            "shapes": [list(part.shape) for part in parts],
            "sha256": digest.hexdigest(),
        }
    ).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(_MAGIC + _LENGTH.pack(len(header)) + header)
            for part in parts:
                out.write(memoryview(part).cast("B"))
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
    return True


def read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays :func:`write_arrays` wrote (writable, sharing one buffer), or None when the
    file is missing or not intact."""
    try:
        with open(path, "rb") as handle:
            data = bytearray(os.fstat(handle.fileno()).st_size)
            if handle.readinto(data) != len(data):
                return None
    except OSError:
        return None
    start = len(_MAGIC) + _LENGTH.size
    if len(data) < start or not data.startswith(_MAGIC):
        return None
    (length,) = _LENGTH.unpack_from(data, len(_MAGIC))
    try:
        header = json.loads(data[start : start + length])
        names, dtypes, shapes = header["names"], header["dtypes"], header["shapes"]
        expected = header["sha256"]
    except (ValueError, KeyError, TypeError):
        return None
    payload = memoryview(data)[start + length :]
    if hashlib.sha256(payload).hexdigest() != expected:
        return None
    out: dict[str, np.ndarray] = {}
    offset = 0
    try:
        for name, dtype_str, shape in zip(names, dtypes, shapes, strict=True):
            dtype = np.dtype(dtype_str)
            if dtype.hasobject:
                return None
            count = int(np.prod(shape, dtype=np.int64))
            out[name] = np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(
                shape
            )
            offset += count * dtype.itemsize
    except (ValueError, TypeError):
        return None
    return out if offset == len(payload) else None
