"""A small, fast reader of a GGUF file's metadata (key/values and tensor shapes).

``gguf.GGUFReader`` builds a numpy view per string, which takes about 10 s for the 128k tokens
and 280k merges of Llama 3; this reader walks the header once with ``struct`` over an ``mmap``,
materialises only the arrays asked for, and never touches tensor data (about 0.2 s).

Layout (GGUF v2/v3, https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): magic ``GGUF``,
uint32 version, uint64 tensor count, uint64 key/value count, the key/values (string key, uint32
value type, value), then per tensor its name, uint32 rank, uint64 dims, uint32 type, uint64
offset. Strings are a uint64 length then UTF-8 bytes. Files written big-endian are read too.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from structgen.errors import TokenizerError

__all__ = ["GGUFMetadata", "read_gguf_metadata"]

_MAGIC = b"GGUF"

# GGUF value types: id -> (struct code, size). 8 = string, 9 = array.
_SCALARS: dict[int, tuple[str, int]] = {
    0: ("B", 1),
    1: ("b", 1),
    2: ("H", 2),
    3: ("h", 2),
    4: ("I", 4),
    5: ("i", 4),
    6: ("f", 4),
    7: ("?", 1),
    10: ("Q", 8),
    11: ("q", 8),
    12: ("d", 8),
}
_STRING = 8
_ARRAY = 9
_NUMPY_CODES = {
    0: "u1",
    1: "i1",
    2: "u2",
    3: "i2",
    4: "u4",
    5: "i4",
    6: "f4",
    7: "u1",
    10: "u8",
    11: "i8",
    12: "f8",
}


@dataclass(frozen=True)
class GGUFMetadata:
    """What :func:`read_gguf_metadata` found.

    ``fields`` holds every scalar value (strings as ``str``) and the arrays that were asked
    for: string arrays as ``list[bytes]`` (raw UTF-8), numeric arrays as numpy arrays. Arrays
    not asked for are recorded in ``skipped_arrays`` as key -> length. ``tensors`` maps each
    tensor name to its shape in GGUF order (fastest-varying dimension first).
    """

    path: Path
    version: int
    fields: dict[str, Any]
    skipped_arrays: dict[str, int] = field(default_factory=dict)
    tensors: dict[str, tuple[int, ...]] = field(default_factory=dict)


class _Cursor:
    """Reads little- or big-endian GGUF values from a buffer, with bounds checks."""

    def __init__(self, buf: Any, order: str, path: Path) -> None:
        self.buf = buf
        self.end = len(buf)
        self.order = order
        self.path = path
        self.off = 0
        self._u64 = struct.Struct(order + "Q")
        self._u32 = struct.Struct(order + "I")

    def fail(self, what: str) -> TokenizerError:
        return TokenizerError(f"corrupt GGUF file {str(self.path)!r}: {what} at byte {self.off}")

    def need(self, n: int) -> None:
        if n < 0 or self.off + n > self.end:
            raise self.fail(f"needs {n} more bytes but the file ends")

    def u32(self) -> int:
        self.need(4)
        (value,) = self._u32.unpack_from(self.buf, self.off)
        self.off += 4
        return int(value)

    def u64(self) -> int:
        self.need(8)
        (value,) = self._u64.unpack_from(self.buf, self.off)
        self.off += 8
        return int(value)

    def raw_string(self) -> bytes:
        n = self.u64()
        self.need(n)
        start = self.off
        self.off += n
        return bytes(self.buf[start : self.off])

    def string(self) -> str:
        raw = self.raw_string()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"string {raw[:40]!r} is not UTF-8") from None

    def scalar(self, vtype: int) -> Any:
        code, size = _SCALARS[vtype]
        self.need(size)
        (value,) = struct.unpack_from(self.order + code, self.buf, self.off)
        self.off += size
        return value

    def string_array(self, count: int) -> list[bytes]:
        buf, unpack, out = self.buf, self._u64.unpack_from, []
        append = out.append
        off, end = self.off, self.end
        for _ in range(count):
            if off + 8 > end:
                self.off = off
                raise self.fail("a string array runs past the end of the file")
            (n,) = unpack(buf, off)
            off += 8
            stop = off + n
            if stop > end:
                self.off = off
                raise self.fail("a string array runs past the end of the file")
            append(buf[off:stop])
            off = stop
        self.off = off
        return out

    def skip_string_array(self, count: int) -> None:
        buf, unpack = self.buf, self._u64.unpack_from
        off, end = self.off, self.end
        for _ in range(count):
            if off + 8 > end:
                self.off = off
                raise self.fail("a string array runs past the end of the file")
            off += 8 + unpack(buf, off)[0]
        if off > end:
            raise self.fail("a string array runs past the end of the file")
        self.off = off

    def numeric_array(self, vtype: int, count: int) -> Any:
        import numpy as np

        size = _SCALARS[vtype][1]
        self.need(size * count)
        dtype = np.dtype(("<" if self.order == "<" else ">") + _NUMPY_CODES[vtype])
        values = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.off).copy()
        self.off += size * count
        return values.astype(bool) if vtype == 7 else values

    def value(self, vtype: int, key: str, want: bool) -> tuple[Any, int | None]:
        """Read one value; returns (value, skipped array length or None)."""
        if vtype in _SCALARS:
            return self.scalar(vtype), None
        if vtype == _STRING:
            return self.string(), None
        if vtype != _ARRAY:
            raise self.fail(f"key {key!r} has unknown value type {vtype}")
        item_type = self.u32()
        count = self.u64()
        if item_type == _STRING:
            if want:
                return self.string_array(count), None
            self.skip_string_array(count)
            return None, count
        if item_type in _SCALARS:
            if want:
                return self.numeric_array(item_type, count), None
            self.need(_SCALARS[item_type][1] * count)
            self.off += _SCALARS[item_type][1] * count
            return None, count
        if item_type == _ARRAY:  # nested arrays: read and drop, they carry nothing we use
            for _ in range(count):
                self.value(_ARRAY, key, False)
            return None, count
        raise self.fail(f"array {key!r} has unknown item type {item_type}")


def read_gguf_metadata(
    path: str | Path, *, arrays: Collection[str] = (), tensors: bool = False
) -> GGUFMetadata:
    """Read the key/values of a GGUF file (and, with ``tensors=True``, its tensor shapes).

    Only the arrays named in ``arrays`` are materialised. Raises ``TokenizerError`` naming the
    path for a missing file, a file that is not GGUF, or a truncated/corrupt header.
    """
    path = Path(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the mmap
    except FileNotFoundError:
        raise TokenizerError(f"GGUF file not found: {str(path)!r}") from None
    except OSError as exc:
        raise TokenizerError(f"cannot open GGUF file {str(path)!r}: {exc.strerror}") from None
    with handle:
        head = handle.read(8)
        if len(head) < 8 or head[:4] != _MAGIC:
            raise TokenizerError(
                f"{str(path)!r} is not a GGUF file (it does not start with the bytes b'GGUF', "
                f"it starts with {head[:4]!r})"
            )
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(buf, path, frozenset(arrays), tensors)


def _parse(buf: Any, path: Path, wanted: frozenset[str], with_tensors: bool) -> GGUFMetadata:
    (version_le,) = struct.unpack_from("<I", buf, 4)
    order = "<"
    version = version_le
    if version_le & 0xFFFF == 0 and version_le != 0:  # a small number written big-endian
        order, version = ">", struct.unpack_from(">I", buf, 4)[0]
    if version not in (2, 3):
        raise TokenizerError(
            f"GGUF file {str(path)!r} has version {version}; only versions 2 and 3 are supported "
            "(convert it again with a current llama.cpp)"
        )
    cur = _Cursor(buf, order, path)
    cur.off = 8
    n_tensors = cur.u64()
    n_kv = cur.u64()
    fields: dict[str, Any] = {}
    skipped: dict[str, int] = {}
    for _ in range(n_kv):
        key = cur.string()
        vtype = cur.u32()
        value, skipped_count = cur.value(vtype, key, key in wanted)
        if skipped_count is None:
            fields[key] = value
        else:
            skipped[key] = skipped_count
    shapes: dict[str, tuple[int, ...]] = {}
    if with_tensors:
        for _ in range(n_tensors):
            name = cur.string()
            rank = cur.u32()
            if rank > 8:
                raise cur.fail(f"tensor {name!r} has rank {rank}")
            shapes[name] = tuple(cur.u64() for _ in range(rank))
            cur.u32()  # element type
            cur.u64()  # data offset
    return GGUFMetadata(
        path=path, version=version, fields=fields, skipped_arrays=skipped, tensors=shapes
    )
