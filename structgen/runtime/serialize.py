"""The byte form of a compiled constraint: versioned, checked, no pickle.

Layout (integers little-endian)::

    magic         8 bytes   b"\\x89SGC\\r\\n\\x1a\\n" (text-mode copies and foreign files fail)
    format        u16       FORMAT_VERSION
    reserved      u16       0
    total length  u64       of the whole blob, checksum included (a truncated copy says so)
    header length u32
    header        JSON      structgen version, vocabulary fingerprint and size, kind, the
                            compile facts (``info``), the engine's ``meta``, and per array its
                            name, dtype, shape, codec (``raw`` or ``zlib``) and stored length
    arrays        bytes     back to back, in the header's order
    checksum      32 bytes  SHA-256 of everything before it

Arrays are plain numbers (bool, signed and unsigned integers, floats), stored little-endian;
each one is zlib-compressed when that saves at least a tenth of it (mask rows are mostly zero
words). Loading checks, in order: magic, format version, length, checksum, header, structgen
version, vocabulary fingerprint, kind, then every array's dtype, shape and length; the engine
then checks that its arrays describe an automaton. Any failure is a
:class:`~structgen.errors.SerializationError` naming what is wrong.

Engines provide the payload: ``(meta, arrays)`` — a JSON-able dict (tuples come back as lists)
and named numpy arrays — and rebuild themselves from it with a vocabulary (:data:`ENGINES`).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Callable, Mapping
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

__all__ = ["ENGINES", "FORMAT_VERSION", "MAGIC", "Loaded", "dump_automaton", "load_automaton"]

MAGIC = b"\x89SGC\r\n\x1a\n"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sHHQI")  # magic, format, reserved, total length, header length
_CHECKSUM = 32
_COMPRESS_LEVEL = 1  # measured: inflating level-1 DFA tables and mask rows is ~2x faster than 6
_DTYPES = frozenset(
    np.dtype(name).newbyteorder("<").str
    for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    + ("float32", "float64")
)

Payload = tuple[dict[str, Any], dict[str, np.ndarray]]
ToPayload = Callable[[Any], Payload]
FromPayload = Callable[[dict[str, Any], dict[str, np.ndarray], Vocabulary], Any]


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
    engine = ENGINES.get(automaton.kind)
    if engine is None:
        raise SerializationError(f"automata of kind {automaton.kind!r} cannot be serialised")
    meta, arrays = engine[0](automaton)
    entries, sections = [], []
    for name in sorted(arrays):
        entry, section = _encode(name, arrays[name])
        entries.append(entry)
        sections.append(section)
    header = {
        "structgen": __version__,
        "vocab": automaton.vocab.fingerprint,
        "vocab_size": automaton.vocab.size,
        "kind": automaton.kind,
        "info": dict(info),
        "meta": meta,
        "arrays": entries,
    }
    try:
        text = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise SerializationError(
            f"the {automaton.kind} payload is not plain JSON: {error}"
        ) from None
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
    view = memoryview(data).cast("B")
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
    arrays = _read_arrays(view[start:end], header["arrays"])
    try:
        automaton = engine[1](meta, arrays, vocab)
    except SerializationError:
        raise
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise SerializationError(
            f"the stored {kind} payload does not describe an automaton: {error}"
        ) from error
    return Loaded(automaton=automaton, info=info)


def _encode(name: str, array: np.ndarray) -> tuple[dict[str, Any], bytes]:
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder != "|" else array.dtype
    if dtype.str not in _DTYPES:
        raise SerializationError(f"array {name!r} has dtype {array.dtype}, not a plain number type")
    raw = np.ascontiguousarray(array, dtype=dtype).tobytes()
    codec, stored = "raw", raw
    if len(raw) >= 256:
        packed = zlib.compress(raw, _COMPRESS_LEVEL)
        if len(packed) * 10 <= len(raw) * 9:
            codec, stored = "zlib", packed
    entry = {
        "name": name,
        "dtype": dtype.str,
        "shape": list(array.shape),
        "codec": codec,
        "length": len(stored),
    }
    return entry, stored


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


def _read_arrays(data: memoryview, entries: list[Any]) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    position, end = 0, len(data)
    for entry in entries:
        try:
            name, dtype_str, shape = entry["name"], entry["dtype"], entry["shape"]
            codec, length = entry["codec"], entry["length"]
            if dtype_str not in _DTYPES or codec not in ("raw", "zlib"):
                raise ValueError(f"dtype {dtype_str!r} / codec {codec!r} not allowed")
            if not isinstance(length, int) or length < 0 or position + length > end:
                raise ValueError("its bytes run past the data")
            if not all(isinstance(n, int) and n >= 0 for n in shape) or name in arrays:
                raise ValueError("bad shape or repeated name")
            dtype = np.dtype(dtype_str)
            expected = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
            stored = data[position : position + length]
            raw = _inflate(stored, expected) if codec == "zlib" else stored
            if len(raw) != expected:
                raise ValueError(f"{len(raw)} bytes for shape {shape} of {dtype_str}")
            array = np.frombuffer(raw, dtype=dtype).reshape(shape)
            arrays[str(name)] = array.astype(dtype.newbyteorder("="), copy=True)
        except (KeyError, TypeError, ValueError, zlib.error) as error:
            label = entry.get("name", "?") if isinstance(entry, dict) else "?"
            raise SerializationError(f"compiled constraint array {label!r}: {error}") from None
        position += length
    if position != end:
        raise SerializationError("compiled constraint has bytes after its last array")
    return arrays


def _inflate(stored: memoryview, expected: int) -> bytes:
    """``stored`` decompressed, reading at most one byte more than ``expected`` (a forged
    length cannot make it allocate more)."""
    inflater = zlib.decompressobj()
    raw = inflater.decompress(stored, expected + 1)
    if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise ValueError("its compressed bytes do not end where its length says")
    return raw
