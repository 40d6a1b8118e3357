"""A digest-checked file of named numpy arrays: the disk format of the vocabulary's caches.

Layout: the magic ``SGARRAYS3\\n``, a uint32 header length, a JSON header (``names``,
``dtypes``, ``shapes`` and a CRC-32 of them and of the payload: it finds damage, and is
~5x faster than a SHA-256 on a 4 MB trie), then the payload: the arrays' bytes,
each starting at a multiple of 64 bytes (zero padding between), so that the arrays read back
are aligned (numba compiles other code for unaligned arrays).
No pickle: reading a file only ever yields plain numeric arrays. A file that is short, damaged
or of another format reads as ``None`` (a cache miss), never as wrong data; writes go to a
temporary file renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import zlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from structgen.version import __version__

__all__ = ["code_digest", "encode_arrays", "parse_arrays", "read_arrays", "write_arrays"]

_MAGIC = b"SGARRAYS3\n"  # 3: a CRC-32 of the payload (2: a SHA-256)
_LENGTH = struct.Struct("<I")
_ALIGN = 64  # every array starts at a multiple of this from the start of the file


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


def _crc32(names: list, dtypes: list, shapes: list, payload: Any) -> int:
    """The CRC-32 of what the header says (names, dtypes, shapes) and of the payload."""
    described = json.dumps([names, dtypes, shapes], separators=(",", ":")).encode()
    return zlib.crc32(payload, zlib.crc32(described))


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def encode_arrays(arrays: Mapping[str, np.ndarray]) -> bytes:
    """The bytes of the file :func:`write_arrays` writes."""
    head, payload = _encode(arrays)
    return bytes(head + payload)


def _encode(arrays: Mapping[str, np.ndarray]) -> tuple[bytes, bytearray]:
    """The file's head (magic, header, padding) and payload."""
    parts = [np.ascontiguousarray(a) for a in arrays.values()]
    shapes = [list(part.shape) for part in parts]
    payload = bytearray()
    for part in parts:
        payload.extend(bytes(_aligned(len(payload)) - len(payload)))
        payload.extend(memoryview(part).cast("B"))
    header = json.dumps(
        {
            "names": list(arrays),
            "dtypes": [part.dtype.str for part in parts],
            "shapes": shapes,
            "crc32": _crc32(list(arrays), [p.dtype.str for p in parts], shapes, payload),
        }
    ).encode()
    head = _MAGIC + _LENGTH.pack(len(header)) + header
    head += bytes(_aligned(len(head)) - len(head))
    return head, payload


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> bool:
    """Write ``arrays`` to ``path`` atomically; False when the folder is not writable."""
    head, payload = _encode(arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(head)
            out.write(payload)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
    return True


def read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays :func:`write_arrays` wrote (writable and aligned, sharing one buffer), or None
    when the file is missing or not intact."""
    try:
        with open(path, "rb") as handle:
            data = np.empty(os.fstat(handle.fileno()).st_size, dtype=np.uint8)
            if handle.readinto(memoryview(data)) != len(data):
                return None
    except OSError:
        return None
    return parse_arrays(data)


def parse_arrays(data: np.ndarray) -> dict[str, np.ndarray] | None:
    """The arrays of a file's bytes ``data`` (a uint8 array; the arrays returned are views of
    it), or None when they are not an intact file of this format."""
    start = len(_MAGIC) + _LENGTH.size
    if len(data) < start or data[: len(_MAGIC)].tobytes() != _MAGIC:
        return None
    (length,) = _LENGTH.unpack_from(data, len(_MAGIC))
    try:
        header = json.loads(data[start : start + length].tobytes())
        names, dtypes, shapes = header["names"], header["dtypes"], header["shapes"]
        expected = header["crc32"]
    except (ValueError, KeyError, TypeError):
        return None
    payload = data[_aligned(start + length) :]
    if _crc32(names, dtypes, shapes, payload) != expected:
        return None
    out: dict[str, np.ndarray] = {}
    offset = 0
    try:
        for name, dtype_str, shape in zip(names, dtypes, shapes, strict=True):
            dtype = np.dtype(dtype_str)
            if dtype.hasobject:
                return None
            offset = _aligned(offset)
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if offset + size > len(payload):
                return None
            out[name] = payload[offset : offset + size].view(dtype).reshape(shape)
            offset += size
    except (ValueError, TypeError):
        return None
    return out if offset == len(payload) else None
