"""The ``Vocabulary``: every token id of a model mapped to the exact bytes it stands for."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from itertools import compress, pairwise
from operator import not_
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from structgen.errors import ConfigurationError
from structgen.vocab.gguf_cache import gguf_cache_path, read_cached, write_cached
from structgen.vocab.gguf_vocab import read_gguf_vocabulary
from structgen.vocab.parts import VocabularyParts
from structgen.vocab.tokenizer_vocab import read_tokenizer_vocabulary

__all__ = ["Vocabulary"]

_FINGERPRINT_TAG = b"structgen-vocabulary-v1\0"


class Vocabulary:
    """The bytes of every token of a model, with its special and end-of-sequence ids.

    Invariants (the constructor establishes them):

    - ``token_bytes[i]`` is exactly what token ``i`` adds to the text; it is ``b""`` for every
      special, control, unknown or unused id, and every id whose bytes are ``b""`` is in
      ``special_ids`` (an empty token would let a model stall inside a constraint);
    - ``special_ids`` are never allowed inside a constraint; ``eos_ids`` are a subset of them;
    - ``size >= len(token_bytes)``: ids from ``len(token_bytes)`` up to ``size`` are padding
      columns of the model's logits, never allowed;
    - ``special_names`` maps special ids to their text (``<|im_start|>``), where the source
      gave one; a grammar names special tokens by it (see :mod:`structgen.vocab.special`). Like
      ``name``, it is not part of the fingerprint.

    A ``Vocabulary`` is immutable; do not change ``token_bytes`` in place.
    """

    __slots__ = (
        "__weakref__",
        "_fingerprint",
        "eos_ids",
        "name",
        "size",
        "special_ids",
        "special_names",
        "token_bytes",
    )

    token_bytes: list[bytes]
    special_ids: frozenset[int]
    special_names: Mapping[int, str]
    eos_ids: tuple[int, ...]
    size: int
    name: str

    def __init__(
        self,
        token_bytes: Iterable[bytes],
        *,
        special_ids: Iterable[int] = (),
        eos_ids: Iterable[int] = (),
        size: int | None = None,
        name: str = "",
        special_names: Mapping[int, str] | None = None,
    ) -> None:
        tokens = list(map(bytes, token_bytes))
        n = len(tokens)
        eos = tuple(dict.fromkeys(int(i) for i in eos_ids))
        special = {int(i) for i in special_ids}
        special.update(eos)
        for i in sorted(special):
            if not 0 <= i < n:
                raise ConfigurationError(
                    f"special or end-of-sequence id {i} is outside the {n} tokens of the vocabulary"
                )
            tokens[i] = b""
        special.update(compress(range(n), map(not_, tokens)))
        if size is None:
            size = n
        if size < n:
            raise ConfigurationError(
                f"vocabulary size {size} is smaller than its {n} tokens; pass size >= {n}"
            )
        setter = object.__setattr__
        setter(self, "token_bytes", tokens)
        setter(self, "special_ids", frozenset(special))
        setter(self, "eos_ids", eos)
        setter(self, "size", int(size))
        setter(self, "name", name)
        names = {int(i): str(t) for i, t in (special_names or {}).items() if int(i) in special}
        setter(self, "special_names", MappingProxyType(names))
        setter(self, "_fingerprint", None)

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, vocab_size: int | None = None) -> Vocabulary:
        """Read a tokenizer: transformers (fast or slow), sentencepiece, or tiktoken.

        ``vocab_size`` is the model's logits width (``model.config.vocab_size``); ids at or above
        ``len(tokenizer)`` are padding. A smaller ``vocab_size`` drops the ids the model cannot
        emit.
        """
        return cls.from_parts(read_tokenizer_vocabulary(tokenizer, vocab_size=vocab_size))

    @classmethod
    def from_gguf(cls, path: str | Path, *, use_disk_cache: bool = True) -> Vocabulary:
        """Read the vocabulary stored in a GGUF file's metadata (no transformers needed).

        With ``use_disk_cache``, a vocabulary read once is kept in structgen's cache folder
        (see :mod:`structgen.vocab.gguf_cache`) and read back from there while the file is
        unchanged."""
        entry = gguf_cache_path(Path(path)) if use_disk_cache else None
        if entry is not None:
            arrays = read_cached(entry)
            if arrays is not None:
                try:
                    vocab = cls.from_arrays(arrays)
                except ConfigurationError:
                    vocab = None
                if vocab is not None:
                    known = arrays["fingerprint"].tobytes().decode("ascii", "replace")
                    object.__setattr__(vocab, "_fingerprint", known)
                    return vocab
        vocab = cls.from_parts(read_gguf_vocabulary(path))
        if entry is not None:
            write_cached(entry, vocab.to_arrays(), vocab.fingerprint)
        return vocab

    @classmethod
    def from_parts(cls, parts: VocabularyParts) -> Vocabulary:
        """The vocabulary of what a reader found (the constructor checks the invariants)."""
        return cls(
            parts.token_bytes,
            special_ids=parts.special_ids,
            eos_ids=parts.eos_ids,
            size=parts.size,
            name=parts.name,
            special_names=parts.special_names,
        )

    # -- identity ----------------------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """SHA-256 hex digest of (token_bytes, special_ids, eos_ids, size); the name is not part."""
        cached = self._fingerprint
        if cached is None:
            digest = hashlib.sha256(_FINGERPRINT_TAG)
            digest.update(f"{self.size} {len(self.token_bytes)}\n".encode())
            digest.update(",".join(str(len(t)) for t in self.token_bytes).encode())
            digest.update(b"\n")
            digest.update(b"".join(self.token_bytes))
            digest.update(("\n" + ",".join(map(str, sorted(self.special_ids)))).encode())
            digest.update(("\n" + ",".join(map(str, self.eos_ids))).encode())
            cached = digest.hexdigest()
            object.__setattr__(self, "_fingerprint", cached)
        return cached

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return (
            f"Vocabulary(name={self.name!r}, size={self.size}, tokens={len(self.token_bytes)}, "
            f"special={len(self.special_ids)}, eos_ids={self.eos_ids})"
        )

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Vocabulary is immutable; cannot set {key!r}")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Vocabulary is immutable; cannot delete {key!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (
                self.token_bytes,
                sorted(self.special_ids),
                self.eos_ids,
                self.size,
                self.name,
                dict(self.special_names),
            ),
        )

    # -- flat arrays (a pickle-free cache format) ---------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat numpy arrays that :meth:`from_arrays` reads back (e.g. through ``np.savez``).

        ``token_data`` is every token's bytes back to back (uint8); token ``i`` is
        ``token_data[token_offsets[i]:token_offsets[i + 1]]``.
        """
        lengths = np.fromiter(
            (len(t) for t in self.token_bytes), dtype=np.int64, count=len(self.token_bytes)
        )
        offsets = np.zeros(len(self.token_bytes) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        named = sorted(self.special_names)
        texts = [self.special_names[i].encode("utf-8") for i in named]
        text_offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in texts], out=text_offsets[1:])
        return {
            "token_data": np.frombuffer(b"".join(self.token_bytes), dtype=np.uint8).copy(),
            "token_offsets": offsets,
            "special_ids": np.array(sorted(self.special_ids), dtype=np.int64),
            "eos_ids": np.array(self.eos_ids, dtype=np.int64),
            "size": np.array([self.size], dtype=np.int64),
            "name": np.frombuffer(self.name.encode("utf-8"), dtype=np.uint8).copy(),
            "special_name_ids": np.array(named, dtype=np.int64),
            "special_name_data": np.frombuffer(b"".join(texts), dtype=np.uint8).copy(),
            "special_name_offsets": text_offsets,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Vocabulary:
        """The inverse of :meth:`to_arrays`."""
        try:
            data = bytes(arrays["token_data"].tobytes())
            offsets = np.asarray(arrays["token_offsets"]).tolist()
            tokens = [data[a:b] for a, b in pairwise(offsets)]
            return cls(
                tokens,
                special_ids=np.asarray(arrays["special_ids"]).tolist(),
                eos_ids=np.asarray(arrays["eos_ids"]).tolist(),
                size=int(arrays["size"][0]),
                name=bytes(arrays["name"].tobytes()).decode("utf-8") if "name" in arrays else "",
                special_names=_names_of(arrays),
            )
        except KeyError as exc:
            raise ConfigurationError(
                f"vocabulary arrays lack the entry {exc.args[0]!r}; expected the keys that "
                "Vocabulary.to_arrays() writes"
            ) from None


def _names_of(arrays: Mapping[str, np.ndarray]) -> dict[int, str]:
    """The special names :meth:`Vocabulary.to_arrays` stored (none in older arrays)."""
    if "special_name_ids" not in arrays:
        return {}
    data = bytes(arrays["special_name_data"].tobytes())
    bounds = pairwise(np.asarray(arrays["special_name_offsets"]).tolist())
    ids = np.asarray(arrays["special_name_ids"]).tolist()
    return {i: data[a:b].decode("utf-8") for i, (a, b) in zip(ids, bounds, strict=True)}


def _rebuild(
    token_bytes: list[bytes],
    special_ids: list[int],
    eos_ids: tuple[int, ...],
    size: int,
    name: str,
    special_names: dict[int, str] | None = None,
) -> Vocabulary:
    return Vocabulary(
        token_bytes,
        special_ids=special_ids,
        eos_ids=eos_ids,
        size=size,
        name=name,
        special_names=special_names,
    )
