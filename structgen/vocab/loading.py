"""``load_vocabulary``: one entry point for a GGUF file, a tokenizer directory or an object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from structgen.errors import MissingDependencyError, TokenizerError
from structgen.vocab.vocabulary import Vocabulary

__all__ = ["load_vocabulary"]

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def load_vocabulary(
    spec: str | Path | Vocabulary | Any, *, vocab_size: int | None = None
) -> Vocabulary:
    """A :class:`Vocabulary` from whatever names one.

    - a ``Vocabulary``: returned as it is;
    - a path to a ``.gguf`` file (or to any file that starts with the GGUF magic): read with
      :meth:`Vocabulary.from_gguf`;
    - a directory with tokenizer files: loaded with ``transformers.AutoTokenizer``; the model's
      ``vocab_size`` is taken from its ``config.json`` when there is one;
    - a directory holding exactly one ``.gguf`` file and no tokenizer files: that file;
    - any other object: a tokenizer, read with :meth:`Vocabulary.from_tokenizer`.

    ``vocab_size`` (the model's logits width) overrides what the source says. Raises
    ``TokenizerError`` naming the path when it does not exist or holds no tokenizer.
    """
    if isinstance(spec, Vocabulary):
        return spec
    if not isinstance(spec, (str, Path)):
        return Vocabulary.from_tokenizer(spec, vocab_size=vocab_size)
    path = Path(spec).expanduser()
    if not path.exists():
        raise TokenizerError(
            f"no such file or directory: {str(path)!r}; expected a .gguf file or a tokenizer "
            "directory (structgen never downloads tokenizers)"
        )
    if path.is_file():
        vocab = Vocabulary.from_gguf(path)
        return _resized(vocab, vocab_size) if vocab_size is not None else vocab
    if any((path / name).is_file() for name in _TOKENIZER_FILES):
        return _from_tokenizer_dir(path, vocab_size)
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return load_vocabulary(ggufs[0], vocab_size=vocab_size)
    found = f"{len(ggufs)} .gguf files" if ggufs else "no tokenizer files"
    raise TokenizerError(
        f"directory {str(path)!r} holds {found}; expected one of {', '.join(_TOKENIZER_FILES)} "
        "or a single .gguf file"
    )


def _from_tokenizer_dir(path: Path, vocab_size: int | None) -> Vocabulary:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise MissingDependencyError(
            "transformers",
            purpose=f"loading the tokenizer in {str(path)!r}",
            install="pip install 'structgen[model]'",
        ) from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    except Exception as exc:  # transformers raises many kinds; say which path failed
        raise TokenizerError(f"cannot load the tokenizer in {str(path)!r}: {exc}") from exc
    if vocab_size is None:
        vocab_size = _config_vocab_size(path)
    return Vocabulary.from_tokenizer(tokenizer, vocab_size=vocab_size)


def _config_vocab_size(path: Path) -> int | None:
    config = path / "config.json"
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("vocab_size") if isinstance(data, dict) else None
    if value is None and isinstance(data, dict):  # multimodal configs nest it
        value = (data.get("text_config") or {}).get("vocab_size")
    return value if isinstance(value, int) and value > 0 else None


def _resized(vocab: Vocabulary, vocab_size: int) -> Vocabulary:
    """``vocab`` with the model's logits width ``vocab_size`` (extra ids are padding)."""
    if vocab_size <= 0:
        raise TokenizerError(f"vocab_size must be positive, got {vocab_size}")
    tokens = vocab.token_bytes[:vocab_size]
    n = len(tokens)
    return Vocabulary(
        tokens,
        special_ids=(i for i in vocab.special_ids if i < n),
        eos_ids=(i for i in vocab.eos_ids if i < n),
        size=max(n, vocab_size),
        name=vocab.name,
        special_names={i: t for i, t in vocab.special_names.items() if i < n},
    )
