"""The token trie's numpy builder against a plain, obviously right one; its disk cache."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from structgen.vocab import Vocabulary
from structgen.vocab import trie as trie_module
from structgen.vocab.array_file import read_arrays
from structgen.vocab.trie import build_trie, subtree_ends

ARRAYS = ("node_byte", "node_depth", "subtree_end", "token_ptr", "token_ids")


def _reference(vocab: Vocabulary) -> dict[str, np.ndarray]:
    """A dict-of-children trie walked depth-first in byte order: the definition, spelled out."""
    root: dict = {}
    for token_id, data in enumerate(vocab.token_bytes):
        if not data or token_id in vocab.special_ids:
            continue
        node = root
        for byte in data:
            node = node.setdefault(byte, {})
        node.setdefault(None, []).append(token_id)
    node_byte, node_depth, subtree_end, token_ptr, token_ids = [], [], [], [0], []

    def visit(node: dict, byte: int, depth: int) -> None:
        index = len(node_byte)
        node_byte.append(byte)
        node_depth.append(depth)
        subtree_end.append(-1)
        token_ids.extend(node.get(None, []))
        token_ptr.append(len(token_ids))
        for child in sorted(k for k in node if k is not None):
            visit(node[child], child, depth + 1)
        subtree_end[index] = len(node_byte)

    visit(root, 0, 0)
    return {
        "node_byte": np.array(node_byte, dtype=np.uint8),
        "node_depth": np.array(node_depth, dtype=np.int32),
        "subtree_end": np.array(subtree_end, dtype=np.int32),
        "token_ptr": np.array(token_ptr, dtype=np.int32),
        "token_ids": np.array(token_ids, dtype=np.int32),
    }


def _assert_same(trie, expected: dict[str, np.ndarray]) -> None:
    for name in ARRAYS:
        got = getattr(trie, name)
        assert got.dtype == expected[name].dtype, name
        np.testing.assert_array_equal(got, expected[name], err_msg=name)


_tokens = st.lists(
    st.binary(min_size=0, max_size=7).map(lambda b: bytes(x % 4 for x in b))
    | st.binary(min_size=1, max_size=5),
    min_size=1,
    max_size=60,
)


@given(_tokens, st.data())
def test_numpy_builder_matches_reference(tokens, data):
    special = data.draw(st.sets(st.integers(0, len(tokens) - 1), max_size=3))
    vocab = Vocabulary(tokens, special_ids=special, size=len(tokens) + data.draw(st.integers(0, 5)))
    trie = trie_module._build(vocab)
    _assert_same(trie, _reference(vocab))
    assert trie.token_bytes == tuple(vocab.token_bytes)


@given(_tokens)
def test_subtree_ends_matches_a_stack_walk(tokens):
    depth = _reference(Vocabulary(tokens))["node_depth"]
    expected = []
    for index in range(len(depth)):
        end = index + 1
        while end < len(depth) and depth[end] > depth[index]:
            end += 1
        expected.append(end)
    np.testing.assert_array_equal(subtree_ends(depth), np.array(expected, dtype=np.int32))


def test_duplicates_share_a_node_and_nul_bytes_sort_first():
    vocab = Vocabulary([b"a", b"a\x00", b"a", b"\x00", b"ab"], size=5)
    trie = trie_module._build(vocab)
    _assert_same(trie, _reference(vocab))
    assert trie.token_ids.tolist() == [3, 0, 2, 1, 4]


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(trie_module, "_DISK_CACHE_MIN_TOKENS", 1)
    monkeypatch.setattr(trie_module, "_CACHE", {})
    return tmp_path


def _vocab(name: str) -> Vocabulary:
    return Vocabulary([b"x", b"xy", b"y", b"yx", b"z" * 9], eos_ids=[2], name=name)


def test_disk_cache_round_trip(cache_folder):
    vocab = _vocab("cached")
    first = build_trie(vocab)
    files = list((cache_folder / "tries").iterdir())
    assert len(files) == 1
    stored = read_arrays(files[0])
    assert stored is not None and set(stored) == {*ARRAYS, "fingerprint"}
    trie_module._CACHE.clear()
    again = build_trie(vocab)
    assert again is not first
    _assert_same(again, _reference(vocab))
    assert again.token_bytes == tuple(vocab.token_bytes)
    assert all(getattr(again, name).flags.writeable for name in ARRAYS)
    assert build_trie(vocab) is again  # memoised in the process


def test_damaged_cache_file_is_rebuilt(cache_folder):
    vocab = _vocab("damaged")
    build_trie(vocab)
    (path,) = (cache_folder / "tries").iterdir()
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert read_arrays(path) is None
    trie_module._CACHE.clear()
    _assert_same(build_trie(vocab), _reference(vocab))
    assert read_arrays(path) is not None  # replaced by a good file


def test_cache_file_of_another_trie_is_not_trusted(cache_folder):
    vocab = _vocab("stale")
    build_trie(vocab)
    (path,) = (cache_folder / "tries").iterdir()
    other = Vocabulary([b"q" * 40], name="other")
    arrays = {n: getattr(build_trie(other), n) for n in ARRAYS}
    trie_module.write_arrays(path, {**arrays, "fingerprint": trie_module._tag(other.fingerprint)})
    trie_module._CACHE.clear()
    _assert_same(build_trie(vocab), _reference(vocab))


def test_unwritable_cache_folder_still_builds(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(blocker))
    monkeypatch.setattr(trie_module, "_DISK_CACHE_MIN_TOKENS", 1)
    monkeypatch.setattr(trie_module, "_CACHE", {})
    vocab = _vocab("unwritable")
    _assert_same(build_trie(vocab), _reference(vocab))
