"""Vocabularies: every token id of a model mapped to its exact bytes.

``Vocabulary.from_tokenizer`` reads transformers, sentencepiece and tiktoken tokenizers;
``Vocabulary.from_gguf`` reads a GGUF file without transformers; ``load_vocabulary`` takes
any of these (or a path) and returns a ``Vocabulary``.
"""

from __future__ import annotations

from structgen.vocab.loading import load_vocabulary
from structgen.vocab.vocabulary import Vocabulary

__all__ = ["Vocabulary", "load_vocabulary"]
