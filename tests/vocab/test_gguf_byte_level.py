"""The byte-level GGUF decoding done all at once agrees with decoding piece by piece."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from structgen.vocab.gguf_vocab import _byte_level_at_once, read_gguf_vocabulary
from structgen.vocab.pieces import byte_level_alphabet, byte_level_bytes
from tests.helpers.real_vocabs import real_vocab_path

ALPHABET = sorted(byte_level_alphabet())


def _one_by_one(pieces: list[bytes]) -> list[bytes]:
    out = []
    for raw in pieces:
        decoded = byte_level_bytes(raw.decode("utf-8", errors="replace"))
        out.append(raw if decoded is None else decoded)
    return out


@given(st.lists(st.text(alphabet=ALPHABET, max_size=6).map(str.encode), max_size=40))
def test_byte_level_pieces_decode_alike(pieces):
    assert _byte_level_at_once(pieces) == _one_by_one(pieces)


@given(
    st.lists(
        st.text(alphabet=ALPHABET, max_size=4).map(str.encode)
        | st.binary(max_size=4)
        | st.text(max_size=3).map(str.encode),
        max_size=20,
    )
)
def test_foreign_or_broken_pieces_are_left_to_the_slow_path(pieces):
    at_once = _byte_level_at_once(pieces)
    assert at_once is None or at_once == _one_by_one(pieces)


def test_a_character_split_across_pieces_is_refused():
    whole = "é".encode()  # two bytes
    assert _byte_level_at_once([whole[:1], whole[1:]]) is None


@pytest.mark.parametrize("name", ["gpt2", "llama3", "qwen2", "smollm2"])
def test_real_vocabularies_decode_alike(name, monkeypatch):
    from structgen.vocab import gguf_vocab

    fast = read_gguf_vocabulary(real_vocab_path(name))
    monkeypatch.setattr(gguf_vocab, "_byte_level_at_once", lambda pieces: None)
    slow = read_gguf_vocabulary(real_vocab_path(name))
    assert fast == slow
