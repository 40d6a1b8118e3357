"""The byte form of a compiled constraint: versioned, checked, no pickle.

Layout (integers little-endian)::

    magic         8 bytes   b"\\x89SGC\\r\\n\\x1a\\n" (text-mode copies and foreign files fail)
    format        u16       FORMAT_VERSION
    reserved      u16       0
    total length  u64       of the whole blob, checksum included (a truncated copy says so)
    header length u32
    header        JSON      structgen version, vocabulary fingerprint and size, kind, the
                            compile facts (``info``), the engine's ``meta``, and per array
                            ``[name, dtype, shape, codec, stored length]`` (codec ``raw`` or
                            ``zlib``)
    arrays        bytes     back to back, in the header's order
    checksum      32 bytes  SHA-256 of everything before it

Arrays are plain numbers (bool, signed and unsigned integers, floats), stored little-endian;
each one is zlib-compressed when that saves at least a tenth of it (mask rows and DFA tables
are mostly zero or dead words). Loading checks, in order: magic, format version, length,
checksum, header, structgen version, vocabulary fingerprint, kind, then every array's dtype,
shape and stored length; the engine then checks that its arrays describe an automaton. Any
failure is a :class:`~structgen.errors.SerializationError` naming what is wrong.

Arrays are decoded when the engine first reads them (:class:`StoredArrays`): a grammar engine
reads back what its first mask needs and leaves, say, the tables of terminals decoding has not
reached yet in their compressed bytes (a compressed array's inflated length is checked then).

Engines provide the payload: ``(meta, arrays)`` — a JSON-able dict (tuples come back as lists)
and named numpy arrays — and rebuild themselves from it and a vocabulary (:data:`ENGINES`):
``arrays`` is then a read-only mapping whose every access decodes anew (keep what you read).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from structgen.engines.cfg.persist import engine_from_payload, grammar_payload
from structgen.engines.dfa.token_dfa import TokenDFA
from structgen.errors import ConfigurationError, SerializationError
from structgen.version import __version__
from structgen.vocab.vocabulary import Vocabulary

if TYPE_CHECKING:
    from structgen.automaton import Automaton

__all__ = [
    "ENGINES",
    "FORMAT_VERSION",
    "MAGIC",
    "Loaded",
    "Snapshot",
    "StoredArrays",
    "dump_automaton",
    "load_automaton",
    "snapshot_automaton",
]

MAGIC = b"\x89SGC\r\n\x1a\n"
FORMAT_VERSION = 3  # 2: array entries as lists, grammar payload 2; 3: grammar payload 3
_PREFIX = struct.Struct("<8sHHQI")  # magic, format, reserved, total length, header length
_CHECKSUM = 32
_COMPRESS_LEVEL = 1  # measured: inflating level-1 DFA tables and mask rows is ~2x faster than 6
_DTYPE_OF = {
    np.dtype(name).newbyteorder("<").str: np.dtype(name).newbyteorder("<")
    for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    + ("float32", "float64")
}  # the stored dtypes allowed, by their little-endian text

Payload = tuple[dict[str, Any], dict[str, np.ndarray]]
ToPayload = Callable[[Any], Payload]
FromPayload = Callable[[dict[str, Any], Mapping[str, np.ndarray], Vocabulary], Any]


ENGINES: dict[str, tuple[ToPayload, FromPayload]] = {
    "regex": (TokenDFA.to_payload, TokenDFA.from_payload),
    "grammar": (grammar_payload, engine_from_payload),
}
"""Per automaton kind: its payload, and the automaton rebuilt from a payload and a vocabulary."""


@dataclass(frozen=True)
class Loaded:
    """What :func:`load_automaton` read: the automaton and the compile facts stored with it."""

    automaton: Automaton
    info: dict[str, Any]


def dump_automaton(automaton: Automaton, info: Mapping[str, Any]) -> bytes:
    """The byte form of ``automaton`` with ``info`` (JSON-able facts about how it was made)."""
    return snapshot_automaton(automaton, info).to_bytes()


def snapshot_automaton(automaton: Automaton, info: Mapping[str, Any]) -> Snapshot:
    """What :func:`dump_automaton` writes, taken now (the engine's payload, its arrays' bytes
    and a copy of its metadata): the automaton may go on working — lazy engines fill tables as
    decoding goes — while :meth:`Snapshot.to_bytes` encodes, elsewhere or later."""
    engine = ENGINES.get(automaton.kind)
    if engine is None:
        raise SerializationError(f"automata of kind {automaton.kind!r} cannot be serialised")
    meta, arrays = engine[0](automaton)
    raws = tuple(_raw(name, arrays[name]) for name in sorted(arrays))
    header = {
        "structgen": __version__,
        "vocab": automaton.vocab.fingerprint,
        "vocab_size": automaton.vocab.size,
        "kind": automaton.kind,
        "info": dict(info),
        "meta": meta,
    }
    try:  # text now: the engine's lists may grow after this returns
        text = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise SerializationError(
            f"the {automaton.kind} payload is not plain JSON: {error}"
        ) from None
    return Snapshot(header_text=text, arrays=raws)


@dataclass(frozen=True)
class Snapshot:
    """An automaton's byte form before encoding: the header's JSON without its array entries,
    and per array its name, stored dtype, shape and raw little-endian bytes (copies)."""

    header_text: str
    arrays: tuple[tuple[str, np.dtype, tuple[int, ...], bytes], ...]

    def to_bytes(self) -> bytes:
        """The byte form (compression and checksum: most of it runs with the GIL released)."""
        entries, sections = [], []
        for name, dtype, shape, raw in self.arrays:
            entry, section = _encode_raw(name, dtype, shape, raw)
            entries.append(entry)
            sections.append(section)
        # "arrays" is the first of the header's sorted keys; the other keys follow as written.
        listed = json.dumps(entries, separators=(",", ":"))
        rest = self.header_text[1:]
        text = '{"arrays":' + listed + ("," + rest if rest != "}" else "}")
        encoded = text.encode("utf-8")
        body_length = _PREFIX.size + len(encoded) + sum(len(s) for s in sections)
        prefix = _PREFIX.pack(MAGIC, FORMAT_VERSION, 0, body_length + _CHECKSUM, len(encoded))
        body = b"".join([prefix, encoded, *sections])
        return body + hashlib.sha256(body).digest()


def load_automaton(data: bytes | bytearray | memoryview, vocab: Vocabulary) -> Loaded:
    """The automaton stored in ``data``, bound to ``vocab`` (which must be the one it was
    compiled for); :class:`~structgen.errors.SerializationError` says what is wrong otherwise."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SerializationError(
            f"expected the bytes of a compiled constraint, got {type(data).__name__}"
        )
    if not isinstance(vocab, Vocabulary):
        raise ConfigurationError(
            f"expected the structgen.Vocabulary the constraint was compiled for, "
            f"got {type(vocab).__name__}"
        )
    view = _immutable(data)
    header, start, end = _read_header(view)
    kind = header.get("kind")
    written_by = header.get("structgen")
    if written_by != __version__:
        raise SerializationError(
            f"this compiled constraint was written by structgen {written_by}, this is "
            f"structgen {__version__}; compile it again"
        )
    if header.get("vocab") != vocab.fingerprint:
        raise SerializationError(
            f"this compiled constraint was built for another vocabulary (fingerprint "
            f"{str(header.get('vocab'))[:12]}…, {header.get('vocab_size')} tokens); "
            f"got {vocab.name or 'a vocabulary'} (fingerprint {vocab.fingerprint[:12]}…, "
            f"{vocab.size} tokens)"
        )
    engine = ENGINES.get(kind) if isinstance(kind, str) else None
    if engine is None:
        raise SerializationError(f"unknown kind of compiled constraint {kind!r}")
    meta, info = header.get("meta"), header.get("info")
    if not isinstance(meta, dict) or not isinstance(info, dict):
        raise SerializationError("the header's meta and info must be objects")
    arrays = StoredArrays(view[start:end], header["arrays"])
    try:
        automaton = engine[1](meta, arrays, vocab)
    except SerializationError:
        raise
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise SerializationError(
            f"the stored {kind} payload does not describe an automaton: {error}"
        ) from error
    return Loaded(automaton=automaton, info=info)


def _raw(name: str, array: np.ndarray) -> tuple[str, np.dtype, tuple[int, ...], bytes]:
    """An array's stored dtype, shape and raw bytes (a copy)."""
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder != "|" else array.dtype
    if dtype.str not in _DTYPE_OF:
        raise SerializationError(f"array {name!r} has dtype {array.dtype}, not a plain number type")
    return name, dtype, tuple(array.shape), np.ascontiguousarray(array, dtype=dtype).tobytes()


def _encode(name: str, array: np.ndarray) -> tuple[list[Any], bytes]:
    """An array's header entry and stored bytes."""
    return _encode_raw(*_raw(name, array))


def _encode_raw(
    name: str, dtype: np.dtype, shape: tuple[int, ...], raw: bytes
) -> tuple[list[Any], bytes]:
    codec, stored = "raw", raw
    if len(raw) >= 256:
        packed = zlib.compress(raw, _COMPRESS_LEVEL)
        if len(packed) * 10 <= len(raw) * 9:
            codec, stored = "zlib", packed
    return [name, dtype.str, list(shape), codec, len(stored)], stored


def _read_header(view: memoryview) -> tuple[dict[str, Any], int, int]:
    """The header, and where the array bytes start and end, once the blob is found whole."""
    if len(view) < len(MAGIC) or bytes(view[: len(MAGIC)]) != MAGIC:
        raise SerializationError(
            "not a compiled structgen constraint (the bytes do not start with its magic number)"
        )
    if len(view) < _PREFIX.size + _CHECKSUM:
        raise SerializationError(f"truncated compiled constraint: only {len(view)} bytes")
    _, version, _, total, header_length = _PREFIX.unpack_from(view)
    if version != FORMAT_VERSION:
        raise SerializationError(
            f"compiled constraint in format version {version}; this structgen reads version "
            f"{FORMAT_VERSION}: compile it again"
        )
    if len(view) != total:
        what = "truncated" if len(view) < total else "has trailing bytes"
        raise SerializationError(
            f"compiled constraint {what}: {len(view)} bytes where its header says {total}"
        )
    body = view[: total - _CHECKSUM]
    if hashlib.sha256(body).digest() != bytes(view[total - _CHECKSUM :]):
        raise SerializationError("compiled constraint damaged: its SHA-256 checksum does not match")
    end = _PREFIX.size + header_length
    try:
        if end > len(body):
            raise ValueError("header runs past the data")
        header = json.loads(bytes(body[_PREFIX.size : end]).decode("utf-8"))
        if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
            raise ValueError("not an object with an array list")
    except ValueError as error:
        raise SerializationError(f"compiled constraint has an unreadable header: {error}") from None
    return header, end, len(body)


def _immutable(data: bytes | bytearray | memoryview) -> memoryview:
    """``data`` as bytes no caller can change while arrays are still decoded from it (copied
    unless it is already immutable)."""
    view = memoryview(data)
    if view.readonly and isinstance(view.obj, bytes) and view.format == "B" and view.ndim == 1:
        return view  # a slice of a bytes object (e.g. a cache entry past its key line)
    return memoryview(view.tobytes())


class StoredArrays(Mapping[str, np.ndarray]):
    """The arrays of a byte form, each decoded (inflated, copied to a native, writable array)
    when it is read — every read decodes anew, so keep what you read.

    Made from the header's entries, whose names, dtypes, shapes and stored lengths are checked
    at once; a compressed array's inflated length is checked when it is read. Either failure is
    a :class:`~structgen.errors.SerializationError`."""

    __slots__ = ("_data", "_entries")

    def __init__(self, data: memoryview, entries: Any) -> None:
        self._data = data
        # name → (dtype, shape, compressed, offset, stored length, decoded length)
        self._entries: dict[str, tuple[np.dtype, tuple[int, ...], bool, int, int, int]] = {}
        position, end = 0, len(data)
        if not isinstance(entries, list):
            raise SerializationError("compiled constraint header: its array list is not a list")
        for entry in entries:
            try:
                name, dtype_str, shape, codec, length = entry
                dtype = _DTYPE_OF.get(dtype_str) if isinstance(dtype_str, str) else None
                if dtype is None or codec not in ("raw", "zlib"):
                    raise ValueError(f"dtype {dtype_str!r} / codec {codec!r} not allowed")
                if type(name) is not str or name in self._entries:
                    raise ValueError("bad or repeated name")
                if type(length) is not int or length < 0 or position + length > end:
                    raise ValueError("its bytes run past the data")
                size = dtype.itemsize
                for n in shape:
                    if type(n) is not int or n < 0:
                        raise ValueError("bad shape")
                    size *= n
                if codec == "raw" and length != size:
                    raise ValueError(f"{length} bytes for shape {shape} of {dtype_str}")
            except (TypeError, ValueError) as error:
                label = entry[0] if isinstance(entry, list) and entry else "?"
                raise SerializationError(f"compiled constraint array {label!r}: {error}") from None
            self._entries[name] = (dtype, tuple(shape), codec == "zlib", position, length, size)
            position += length
        if position != end:
            raise SerializationError("compiled constraint has bytes after its last array")

    def __getitem__(self, name: str) -> np.ndarray:
        dtype, shape, packed, position, length, size = self._entries[name]
        if packed:
            try:
                raw: Any = _inflate(self._data[position : position + length], size)
            except (ValueError, zlib.error) as error:
                raise SerializationError(f"compiled constraint array {name!r}: {error}") from None
        else:
            raw = self._data[position : position + size]
        array = np.frombuffer(raw, dtype=dtype).reshape(shape)
        return array.astype(dtype.newbyteorder("="), copy=True)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def _inflate(stored: memoryview, expected: int) -> bytes:
    """``stored`` decompressed, reading at most one byte more than ``expected`` (a forged
    length cannot make it allocate more)."""
    inflater = zlib.decompressobj()
    raw = inflater.decompress(stored, expected + 1)
    if len(raw) != expected:
        raise ValueError(f"{len(raw)} bytes inflated where its shape needs {expected}")
    if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise ValueError("its compressed bytes do not end where its length says")
    return raw
