"""Turning a tokenizer's piece strings into the exact bytes the token stands for.

Two spellings cover almost every modern vocabulary:

- byte-level BPE (GPT-2, Llama 3, Qwen, SmolLM): every byte is written as one printable
  character (``Ġ`` is the space byte); :func:`byte_level_bytes` undoes that map;
- SentencePiece (Llama 2, Mistral, T5): ``▁`` stands for a space and the pieces
  ``<0x00>`` … ``<0xFF>`` are byte-fallback tokens; :func:`sentencepiece_bytes` undoes both.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "END_OF_TURN_NAMES",
    "SPM_SPACE",
    "byte_fallback_value",
    "byte_level_alphabet",
    "byte_level_bytes",
    "byte_level_translation",
    "sentencepiece_bytes",
]

SPM_SPACE = "\u2581"  # "▁", SentencePiece's stand-in for a space
_SPM_SPACE_UTF8 = SPM_SPACE.encode("utf-8")

_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")

# Special tokens that end a turn. llama.cpp stops generation on these names too, so a vocabulary
# read from a GGUF file and one read from the same model's tokenizer agree on them.
END_OF_TURN_NAMES = frozenset(
    {
        "<|endoftext|>",
        "<|end_of_text|>",
        "<|eot_id|>",
        "<|eom_id|>",
        "<|im_end|>",
        "<|end|>",
        "<end_of_turn>",
        "<EOT>",
        "_<EOT>",
        "<\uff5cend\u2581of\u2581sentence\uff5c>",  # DeepSeek's "<｜end▁of▁sentence｜>"
    }
)


@lru_cache(maxsize=1)
def _byte_to_char() -> dict[int, str]:
    """GPT-2's map from each byte to the printable character that spells it."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shifted)
            shifted += 1
    return table


@lru_cache(maxsize=1)
def _char_to_latin1() -> dict[int, int]:
    """A ``str.translate`` table: byte-level character -> the code point of its byte.

    Characters below 256 that are *not* in the byte-level alphabet are mapped to U+FFFF, so that
    encoding the translated text as Latin-1 fails for any piece that is not byte-level.
    """
    table: dict[int, int] = {ord(ch): b for b, ch in _byte_to_char().items()}
    for code in range(256):
        table.setdefault(code, 0xFFFF)
    return table


def byte_level_translation() -> dict[int, int]:
    """The ``str.translate`` table of :func:`byte_level_bytes` (foreign characters below 256
    become U+FFFF, so a Latin-1 encoding of the result fails on them)."""
    return _char_to_latin1()


def byte_level_alphabet() -> frozenset[str]:
    """The 256 characters a byte-level BPE piece is written with."""
    return frozenset(_byte_to_char().values())


def byte_level_bytes(piece: str) -> bytes | None:
    """The bytes a byte-level BPE piece spells, or ``None`` if it uses a foreign character."""
    try:
        return piece.translate(_char_to_latin1()).encode("latin-1")
    except UnicodeEncodeError:
        return None


def byte_fallback_value(piece: str) -> int | None:
    """The byte of a SentencePiece byte-fallback piece ``<0xNN>``, else ``None``."""
    match = _BYTE_PIECE.fullmatch(piece)
    return int(match.group(1), 16) if match else None


def sentencepiece_bytes(piece: str | bytes) -> bytes:
    """The bytes of an ordinary SentencePiece piece: UTF-8 with ``▁`` read as a space."""
    raw = piece.encode("utf-8") if isinstance(piece, str) else piece
    return raw.replace(_SPM_SPACE_UTF8, b" ")
