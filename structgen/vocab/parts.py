"""``VocabularyParts``: what a reader found, before :class:`~structgen.vocab.Vocabulary` checks it.

The readers (:mod:`structgen.vocab.gguf_vocab`, :mod:`structgen.vocab.tokenizer_vocab`) return
these parts; ``Vocabulary.from_gguf`` and ``Vocabulary.from_tokenizer`` call a reader and build
the vocabulary from them, so the readers never import the class they feed (no import circle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["VocabularyParts"]


@dataclass(frozen=True)
class VocabularyParts:
    """The arguments of :class:`~structgen.vocab.Vocabulary`, as a reader found them.

    ``token_bytes[i]``: the bytes of token ``i`` (``b""`` for special ones); ``special_ids`` and
    ``eos_ids`` (in the order the source declares them) are ids below ``len(token_bytes)``;
    ``size``: the model's logits width (at least ``len(token_bytes)``); ``name``: a label;
    ``special_names``: the text of the special tokens that have one (``<|im_start|>``).
    """

    token_bytes: list[bytes]
    special_ids: frozenset[int]
    eos_ids: tuple[int, ...]
    size: int
    name: str
    special_names: Mapping[int, str] = field(default_factory=dict)
