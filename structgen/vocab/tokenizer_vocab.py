"""``read_tokenizer_vocabulary``: the exact bytes of every token of an in-memory tokenizer.

``Vocabulary.from_tokenizer`` builds a :class:`~structgen.vocab.Vocabulary` from what it returns.

Handled, in this order:

1. tiktoken encodings (and wrappers that hold one as ``.tokenizer``, or expose
   ``mergeable_ranks``): the bytes are there already;
2. sentencepiece processors, and slow transformers tokenizers built on one (``.sp_model``);
3. transformers fast tokenizers (``.backend_tokenizer``): byte-level BPE is recognised from its
   decoder or pre-tokenizer, or from every piece being spelled in the byte-level alphabet;
   SentencePiece from a ``Metaspace``/``▁``-replacing decoder or pre-tokenizer, with
   ``<0xNN>`` pieces read as bytes when the model has byte fallback;
4. anything else with ``decode``: each token decoded alone (a last resort that cannot recover
   partial UTF-8 sequences; a warning says so).

Added tokens: special ones become special ids (``b""``); the others are their UTF-8 text.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from structgen.errors import TokenizerError
from structgen.vocab.parts import VocabularyParts
from structgen.vocab.pieces import (
    END_OF_TURN_NAMES,
    SPM_SPACE,
    byte_fallback_value,
    byte_level_alphabet,
    byte_level_bytes,
    sentencepiece_bytes,
)

__all__ = ["read_tokenizer_vocabulary"]


def read_tokenizer_vocabulary(tokenizer: Any, *, vocab_size: int | None = None) -> VocabularyParts:
    """The vocabulary of ``tokenizer``; see :meth:`Vocabulary.from_tokenizer`."""
    if vocab_size is not None and vocab_size <= 0:
        raise TokenizerError(f"vocab_size must be positive, got {vocab_size}")
    tiktoken_encoding = _tiktoken_encoding(tokenizer)
    if tiktoken_encoding is not None:
        table = _from_tiktoken(tiktoken_encoding)
    elif _is_sentencepiece(tokenizer):
        table = _from_sentencepiece(tokenizer)
    elif _is_sentencepiece(getattr(tokenizer, "sp_model", None)):
        table = _from_sentencepiece(tokenizer.sp_model)
    elif getattr(tokenizer, "mergeable_ranks", None) is not None:
        table = _from_mergeable_ranks(tokenizer)
    elif getattr(tokenizer, "backend_tokenizer", None) is not None:
        table = _from_fast_tokenizer(tokenizer)
    elif callable(getattr(tokenizer, "decode", None)):
        table = _from_single_decodes(tokenizer)
    else:
        raise TokenizerError(
            f"cannot read a vocabulary from {type(tokenizer).__name__}: expected a transformers "
            "tokenizer, a sentencepiece processor or a tiktoken encoding"
        )
    if tiktoken_encoding is not tokenizer and not _is_sentencepiece(tokenizer):
        _overlay_added_tokens(table, tokenizer)

    eos = _declared_eos_ids(tokenizer)
    eos += [i for i in table.eos if i not in eos]
    eos += sorted(
        i for i, text in table.special_text.items() if i not in eos and text in END_OF_TURN_NAMES
    )
    special = set(table.special)
    for attr in ("bos_token_id", "unk_token_id"):
        value = getattr(tokenizer, attr, None)
        if isinstance(value, int):
            special.add(value)

    tokens = table.tokens
    if vocab_size is not None and vocab_size < len(tokens):
        tokens = tokens[:vocab_size]
    n = len(tokens)
    return VocabularyParts(
        tokens,
        special_ids=frozenset(i for i in special if 0 <= i < n),
        eos_ids=tuple(dict.fromkeys(i for i in eos if 0 <= i < n)),
        size=max(n, vocab_size or 0),
        name=_name_of(tokenizer),
        special_names={i: t for i, t in table.special_text.items() if i in special and i < n},
    )


class _Table:
    """Token bytes being assembled, with what is known about special tokens."""

    def __init__(self, n: int) -> None:
        self.tokens: list[bytes] = [b""] * n
        self.special: set[int] = set()
        self.special_text: dict[int, str] = {}  # id -> name (end-of-turn names, grammars)
        self.eos: list[int] = []

    def grow(self, n: int) -> None:
        if n > len(self.tokens):
            self.tokens.extend([b""] * (n - len(self.tokens)))

    def set_special(self, i: int, text: str) -> None:
        self.grow(i + 1)
        self.tokens[i] = b""
        self.special.add(i)
        self.special_text[i] = text


# -- tiktoken -----------------------------------------------------------------------------------


def _tiktoken_encoding(tokenizer: Any) -> Any | None:
    for candidate in (
        tokenizer,
        getattr(tokenizer, "tokenizer", None),
        getattr(tokenizer, "encoding", None),
    ):
        if hasattr(candidate, "decode_single_token_bytes") and hasattr(candidate, "n_vocab"):
            return candidate
    return None


def _from_tiktoken(encoding: Any) -> _Table:
    table = _Table(int(encoding.n_vocab))
    specials = set(getattr(encoding, "special_tokens_set", ()) or ())
    special_ids: dict[int, str] = {}
    for text in specials:
        special_ids[int(encoding.encode_single_token(text))] = text
    for i in range(len(table.tokens)):
        if i in special_ids:
            table.set_special(i, special_ids[i])
            continue
        try:
            table.tokens[i] = bytes(encoding.decode_single_token_bytes(i))
        except KeyError:  # a hole in the id range
            table.special.add(i)
    eot = getattr(encoding, "eot_token", None) if "<|endoftext|>" in specials else None
    if isinstance(eot, int):
        table.eos.append(eot)
    return table


def _from_mergeable_ranks(tokenizer: Any) -> _Table:
    ranks: dict[bytes, int] = tokenizer.mergeable_ranks
    extra: dict[str, int] = dict(getattr(tokenizer, "special_tokens", None) or {})
    table = _Table(max([*ranks.values(), *extra.values()], default=-1) + 1)
    seen = [False] * len(table.tokens)
    for raw, i in ranks.items():
        table.tokens[i] = bytes(raw)
        seen[i] = True
    for text, i in extra.items():
        table.set_special(i, text)
        seen[i] = True
    table.special.update(i for i, s in enumerate(seen) if not s)
    return table


# -- sentencepiece ------------------------------------------------------------------------------


def _is_sentencepiece(obj: Any) -> bool:
    return obj is not None and all(
        callable(getattr(obj, name, None)) for name in ("IdToPiece", "GetPieceSize", "IsControl")
    )


def _from_sentencepiece(sp: Any) -> _Table:
    table = _Table(int(sp.GetPieceSize()))
    for i in range(len(table.tokens)):
        piece = sp.IdToPiece(i)
        if sp.IsControl(i) or sp.IsUnknown(i) or sp.IsUnused(i):
            table.set_special(i, piece)
        elif sp.IsByte(i):
            value = byte_fallback_value(piece)
            if value is None:
                raise TokenizerError(f"sentencepiece byte piece {i} is {piece!r}, expected <0xNN>")
            table.tokens[i] = bytes((value,))
        else:
            table.tokens[i] = sentencepiece_bytes(piece)
    eos = int(sp.eos_id())
    if eos >= 0:
        table.eos.append(eos)
    return table


# -- transformers fast tokenizers ---------------------------------------------------------------


def _component_json(component: Any) -> dict[str, Any] | None:
    """The JSON description of a tokenizers component (decoder, pre-tokenizer, normalizer)."""
    if component is None:
        return None
    try:
        state = component.__getstate__()
        return json.loads(state) if isinstance(state, (bytes, str)) else None
    except Exception:  # noqa: BLE001 - a component without a JSON state tells us nothing
        return None


def _walk(node: Any) -> Iterable[dict[str, Any]]:
    """Every JSON object inside a component description (``Sequence`` members included)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _spelling(backend: Any, pieces: dict[int, str], byte_fallback: bool) -> str:
    """``"byte_level"``, ``"sentencepiece"`` or ``"unknown"``: how the pieces spell bytes."""
    decoder = list(_walk(_component_json(backend.decoder)))
    pre = list(_walk(_component_json(backend.pre_tokenizer)))
    norm = list(_walk(_component_json(backend.normalizer)))
    decoder_types = {d.get("type") for d in decoder}
    if "ByteLevel" in decoder_types:
        return "byte_level"
    if decoder_types & {"Metaspace", "ByteFallback"} or any(
        d.get("type") == "Replace" and d.get("pattern", {}).get("String") == SPM_SPACE
        for d in decoder
    ):
        return "sentencepiece"
    if decoder_types - {None, "Sequence", "Fuse", "Strip"}:
        return "unknown"  # WordPiece, CTC, BPE suffixes, …: the pieces are not raw text
    if any(p.get("type") == "ByteLevel" for p in pre):
        return "byte_level"
    if any(p.get("type") == "Metaspace" for p in pre) or any(
        d.get("type") == "Replace" and d.get("content") == SPM_SPACE for d in norm
    ):
        return "sentencepiece"
    # No component says it: look at the pieces themselves.
    alphabet = byte_level_alphabet()
    if (
        pieces
        and any(ord(ch) > 255 for p in pieces.values() for ch in p)
        and all(set(p) <= alphabet for p in pieces.values())
    ):
        return "byte_level"
    word_starts = sum(p.startswith(SPM_SPACE) for p in pieces.values())
    if word_starts and (byte_fallback or word_starts * 100 >= len(pieces)):
        return "sentencepiece"
    return "unknown"


def _from_fast_tokenizer(tokenizer: Any) -> _Table:
    backend = tokenizer.backend_tokenizer
    model_vocab: dict[str, int] = backend.get_vocab(with_added_tokens=False)
    pieces = {i: p for p, i in model_vocab.items()}
    byte_fallback = bool(getattr(backend.model, "byte_fallback", False))
    spelling = _spelling(backend, pieces, byte_fallback)
    if spelling == "unknown":
        return _from_single_decodes(tokenizer)
    n = max(len(tokenizer), max(pieces, default=-1) + 1)
    table = _Table(n)
    for i, piece in pieces.items():
        if spelling == "byte_level":
            decoded = byte_level_bytes(piece)
            table.tokens[i] = piece.encode("utf-8") if decoded is None else decoded
        else:
            value = byte_fallback_value(piece) if byte_fallback else None
            table.tokens[i] = bytes((value,)) if value is not None else sentencepiece_bytes(piece)
    missing = set(range(n)) - pieces.keys()
    table.special.update(missing)  # ids without a piece (added tokens fill theirs in below)
    return table


def _overlay_added_tokens(table: _Table, tokenizer: Any) -> None:
    """Added tokens of a transformers tokenizer: special ones blank, others their text."""
    added = getattr(tokenizer, "added_tokens_decoder", None)
    if not isinstance(added, dict):
        return
    for i, token in added.items():
        text = str(getattr(token, "content", token))
        if getattr(token, "special", False):
            table.set_special(int(i), text)
        else:
            table.grow(int(i) + 1)
            table.tokens[int(i)] = text.encode("utf-8")
            table.special.discard(int(i))


# -- last resort --------------------------------------------------------------------------------


def _from_single_decodes(tokenizer: Any) -> _Table:
    warnings.warn(
        f"structgen does not know how {type(tokenizer).__name__} spells bytes; decoding each "
        "token alone instead; tokens that hold part of a UTF-8 character will never be allowed",
        stacklevel=4,
    )
    try:
        n = len(tokenizer)
    except TypeError:
        raise TokenizerError(
            f"cannot read a vocabulary from {type(tokenizer).__name__}: it has no len()"
        ) from None
    table = _Table(n)
    for i in range(n):
        try:
            text = tokenizer.decode(
                [i], skip_special_tokens=False, clean_up_tokenization_spaces=False
            )
        except TypeError:
            text = tokenizer.decode([i])
        if "\ufffd" in text:  # part of a character: its bytes are unknowable, never allow it
            table.special.add(i)
        else:
            table.tokens[i] = text.encode("utf-8")
    return table


# -- end of sequence ----------------------------------------------------------------------------


def _declared_eos_ids(tokenizer: Any) -> list[int]:
    """``eos_token_id`` plus, for a local model directory, its generation config's ids."""
    ids: list[int] = []
    value = getattr(tokenizer, "eos_token_id", None)
    if isinstance(value, int):
        ids.append(value)
    elif isinstance(value, (list, tuple)):
        ids.extend(int(v) for v in value)
    source = getattr(tokenizer, "name_or_path", None)
    if isinstance(source, (str, Path)) and source and Path(source).is_dir():
        for name in ("generation_config.json", "config.json"):
            config = Path(source) / name
            if not config.is_file():
                continue
            try:
                value = json.loads(config.read_text(encoding="utf-8")).get("eos_token_id")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(value, int):
                ids.append(value)
            elif isinstance(value, list):
                ids.extend(v for v in value if isinstance(v, int))
            break
    return ids


def _name_of(tokenizer: Any) -> str:
    source = getattr(tokenizer, "name_or_path", None) or getattr(tokenizer, "name", None)
    if isinstance(source, (str, Path)) and str(source):
        return Path(str(source)).name or str(source)
    return type(tokenizer).__name__
