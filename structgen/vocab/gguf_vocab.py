"""``read_gguf_vocabulary``: the vocabulary in a GGUF file's metadata, read without transformers.

``Vocabulary.from_gguf`` builds a :class:`~structgen.vocab.Vocabulary` from what it returns.

Keys used: ``tokenizer.ggml.model`` (``gpt2`` = byte-level BPE; ``llama`` = SentencePiece;
``t5``/``bert`` spell spaces as ``▁`` too), ``tokenizer.ggml.tokens``,
``tokenizer.ggml.token_type`` (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
6 byte), ``tokenizer.ggml.{eos,eot,eom,bos,unknown}_token_id``, ``general.name`` and the shape
of the output embedding (the model's logits width, which may exceed the token count).
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np

from structgen.errors import TokenizerError
from structgen.vocab.gguf_metadata import read_gguf_metadata
from structgen.vocab.parts import VocabularyParts
from structgen.vocab.pieces import (
    END_OF_TURN_NAMES,
    byte_fallback_value,
    byte_level_bytes,
    byte_level_translation,
    sentencepiece_bytes,
)

__all__ = ["read_gguf_vocabulary"]

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

_BYTE_LEVEL_MODELS = frozenset({"gpt2"})
_SPACE_MARK_MODELS = frozenset({"llama", "t5", "bert"})


def read_gguf_vocabulary(path: str | Path) -> VocabularyParts:
    """The vocabulary of a GGUF file (a model or a vocabulary-only file)."""
    path = Path(path)
    meta = read_gguf_metadata(
        path, arrays=("tokenizer.ggml.tokens", "tokenizer.ggml.token_type"), tensors=True
    )
    fields = meta.fields
    model = fields.get("tokenizer.ggml.model")
    if model is None:
        raise TokenizerError(
            f"GGUF file {str(path)!r} has no tokenizer (no key tokenizer.ggml.model)"
        )
    if model not in _BYTE_LEVEL_MODELS and model not in _SPACE_MARK_MODELS:
        known = ", ".join(sorted(_BYTE_LEVEL_MODELS | _SPACE_MARK_MODELS))
        raise TokenizerError(
            f"GGUF file {str(path)!r} uses the tokenizer model {model!r}, which structgen cannot "
            f"read; supported: {known}"
        )
    pieces: list[bytes] | None = fields.get("tokenizer.ggml.tokens")
    if not pieces:
        raise TokenizerError(f"GGUF file {str(path)!r} has no tokens (tokenizer.ggml.tokens)")
    n = len(pieces)
    types = fields.get("tokenizer.ggml.token_type")
    if types is None:
        kinds = [NORMAL] * n
    elif len(types) != n:
        raise TokenizerError(f"GGUF file {str(path)!r} has {n} tokens but {len(types)} token types")
    else:
        kinds = types.tolist()

    byte_level = model in _BYTE_LEVEL_MODELS
    at_once = _byte_level_at_once(pieces) if byte_level else None
    token_bytes: list[bytes] = [b""] * n
    special: set[int] = set()
    for i, (raw, kind) in enumerate(zip(pieces, kinds, strict=True)):
        if kind in (CONTROL, UNKNOWN, UNUSED):
            special.add(i)
        elif kind == USER_DEFINED:
            token_bytes[i] = raw  # written verbatim, as llama.cpp prints it
        elif kind == BYTE:
            value = byte_fallback_value(raw.decode("utf-8", errors="replace"))
            if value is None:
                raise TokenizerError(
                    f"GGUF file {str(path)!r}: byte token {i} is {raw!r}, expected <0xNN>"
                )
            token_bytes[i] = bytes((value,))
        elif at_once is not None:
            token_bytes[i] = at_once[i]
        elif byte_level:
            text = raw.decode("utf-8", errors="replace")
            decoded = byte_level_bytes(text)
            # llama.cpp keeps a piece outside the byte alphabet as its text; so do we
            token_bytes[i] = raw if decoded is None else decoded
        else:
            token_bytes[i] = sentencepiece_bytes(raw)

    declared_eos = [fields.get(f"tokenizer.ggml.{key}_token_id") for key in ("eos", "eot", "eom")]
    eos = [int(i) for i in declared_eos if i is not None and 0 <= int(i) < n]
    eos += sorted(
        i
        for i in special
        if i not in eos and pieces[i].decode("utf-8", "replace") in END_OF_TURN_NAMES
    )
    for key in ("bos", "unknown"):
        value = fields.get(f"tokenizer.ggml.{key}_token_id")
        if value is not None and 0 <= int(value) < n:
            special.add(int(value))

    size = n
    arch = fields.get("general.architecture")
    declared_size = fields.get(f"{arch}.vocab_size") if arch else None
    if declared_size is not None:
        size = max(size, int(declared_size))
    for tensor in ("output.weight", "token_embd.weight"):
        shape = meta.tensors.get(tensor)
        if shape is not None and len(shape) == 2:
            size = max(size, int(shape[1]))
            break
    name = fields.get("general.name") or path.stem
    names = {i: pieces[i].decode("utf-8", "replace") for i in sorted(special)}
    return VocabularyParts(
        token_bytes,
        special_ids=frozenset(special),
        eos_ids=tuple(eos),
        size=size,
        name=str(name),
        special_names=names,
    )


@cache
def _byte_level_table() -> np.ndarray:
    """uint16 [65536]: the byte each byte-level character stands for, 256 for any other."""
    table = np.full(1 << 16, 256, dtype=np.uint16)
    for code, byte in byte_level_translation().items():
        if byte < 256:
            table[code] = byte
    return table


def _byte_level_at_once(pieces: list[bytes]) -> list[bytes] | None:
    """:func:`byte_level_bytes` of every piece in one pass over their concatenation, or None
    when some piece is not whole UTF-8 or spells a character outside the byte alphabet (then
    the caller decodes piece by piece, keeping such pieces as they are)."""
    blob = b"".join(pieces)
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # Translate through a table indexed by UTF-16 code unit (surrogates, hence characters
    # past U+FFFF, and characters outside the alphabet map to 256: foreign).
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype="<u2")
    mapped = _byte_level_table()[units]
    if len(mapped) and int(mapped.max()) > 255:
        return None
    data = mapped.astype(np.uint8).tobytes()
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.frombuffer(blob, dtype=np.uint8)
    starts_char = (codes & 0xC0) != 0x80  # not a UTF-8 continuation byte
    if not starts_char[offsets[:-1][lengths > 0]].all():
        return None  # a piece starts inside a character: the blob joined one across pieces
    # Each character is one byte after translation: count the characters before each piece.
    before = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(starts_char, out=before[1:])
    return [data[a:b] for a, b in pairwise(before[offsets].tolist())]
