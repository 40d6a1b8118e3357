"""``Vocabulary.from_gguf`` keeps what it read in the cache folder and reads it back exactly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from structgen.vocab import Vocabulary, gguf_cache
from structgen.vocab.array_file import read_arrays


def _write_gguf(path: Path, tokens: list[str], types: list[int]) -> Path:
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_eos_token_id(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(gguf_cache, "MIN_TOKENS", 1)
    return tmp_path


def _same(a: Vocabulary, b: Vocabulary) -> None:
    assert a.token_bytes == b.token_bytes
    assert (a.special_ids, a.eos_ids, a.size, a.name) == (b.special_ids, b.eos_ids, b.size, b.name)


def _fresh_fingerprint(vocab: Vocabulary) -> str:
    return Vocabulary(
        vocab.token_bytes, special_ids=vocab.special_ids, eos_ids=vocab.eos_ids, size=vocab.size
    ).fingerprint


def test_second_read_comes_from_the_cache_and_is_identical(folder):
    path = _write_gguf(folder / "v.gguf", ["<s>", "</s>", "Ġhi", "a", "Ã©"], [3, 3, 1, 1, 1])
    direct = Vocabulary.from_gguf(path, use_disk_cache=False)
    assert not (folder / "cache").exists()
    first = Vocabulary.from_gguf(path)
    (entry,) = (folder / "cache" / "vocabularies").iterdir()
    assert read_arrays(entry) is not None
    second = Vocabulary.from_gguf(path)
    _same(first, direct)
    _same(second, direct)
    assert second.token_bytes[2] == b" hi" and second.token_bytes[4] == "é".encode()
    assert second.fingerprint == direct.fingerprint == _fresh_fingerprint(second)


def test_a_changed_file_misses_the_cache(folder):
    path = _write_gguf(folder / "v.gguf", ["<s>", "</s>", "a", "b"], [3, 3, 1, 1])
    Vocabulary.from_gguf(path)
    stat = path.stat()
    _write_gguf(path, ["<s>", "</s>", "a", "c"], [3, 3, 1, 1])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and time: content counts
    again = Vocabulary.from_gguf(path)
    assert again.token_bytes[3] == b"c"
    assert again.fingerprint == _fresh_fingerprint(again)


def test_a_damaged_entry_is_read_again_from_the_file(folder):
    path = _write_gguf(folder / "v.gguf", ["<s>", "</s>", "a", "b"], [3, 3, 1, 1])
    direct = Vocabulary.from_gguf(path)
    (entry,) = (folder / "cache" / "vocabularies").iterdir()
    raw = bytearray(entry.read_bytes())
    raw[-3] ^= 0x55
    entry.write_bytes(bytes(raw))
    _same(Vocabulary.from_gguf(path), direct)
    assert read_arrays(entry) is not None  # rewritten


def test_small_vocabularies_are_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(tmp_path / "cache"))
    path = _write_gguf(tmp_path / "v.gguf", ["<s>", "</s>", "a"], [3, 3, 1])
    Vocabulary.from_gguf(path)
    assert not (tmp_path / "cache").exists()


def test_errors_still_name_the_file(folder):
    from structgen.errors import TokenizerError

    with pytest.raises(TokenizerError, match="not found"):
        Vocabulary.from_gguf(folder / "missing.gguf")


def test_arrays_round_trip_through_the_file_format(tmp_path):
    from structgen.vocab.array_file import write_arrays

    arrays = {
        "a": np.arange(5, dtype=np.int32),
        "b": np.zeros((2, 3), dtype=np.uint8),
        "c": np.array([], dtype=np.int64),
        "d": np.arange(7, dtype=np.uint8),
        "e": np.arange(3, dtype=np.float64),
    }
    assert write_arrays(tmp_path / "x.arrays", arrays)
    back = read_arrays(tmp_path / "x.arrays")
    assert back is not None and list(back) == list(arrays)
    for name, value in arrays.items():
        assert back[name].dtype == value.dtype
        assert back[name].flags.aligned and back[name].flags.writeable  # numba needs both
        np.testing.assert_array_equal(back[name], value)
    (tmp_path / "x.arrays").write_bytes((tmp_path / "x.arrays").read_bytes()[:-1])
    assert read_arrays(tmp_path / "x.arrays") is None
    assert read_arrays(tmp_path / "missing.arrays") is None


def test_every_flipped_byte_of_an_arrays_file_reads_as_a_miss_or_the_same_arrays(tmp_path):
    """The CRC-32 finds any damage to the payload; damage to the header makes the file
    unreadable or leaves it describing the same arrays (e.g. JSON spacing)."""
    from structgen.vocab.array_file import write_arrays

    arrays = {"n": np.arange(300, dtype=np.int32), "b": np.arange(40, dtype=np.uint8)}
    path = tmp_path / "x.arrays"
    assert write_arrays(path, arrays)
    data = path.read_bytes()
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x41
        path.write_bytes(bytes(damaged))
        back = read_arrays(path)
        if back is not None:
            assert list(back) == list(arrays)
            assert all(np.array_equal(back[k], arrays[k]) for k in arrays)
