"""The vocabulary as a byte trie in flat arrays (depth-first preorder).

Node 0 is the root (the empty prefix). For node ``i``: ``node_byte[i]`` is the byte on the edge
into it, ``node_depth[i]`` its depth, ``subtree_end[i]`` one past its last descendant, and
``token_ids[token_ptr[i]:token_ptr[i + 1]]`` the token ids whose bytes end exactly there (several
ids can share bytes). Special tokens, padding ids and tokens with no bytes are not in the trie,
so no mask ever allows them by walking bytes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

_CACHE: dict[str, TokenTrie] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class TokenTrie:
    node_byte: np.ndarray  # uint8 [N]
    node_depth: np.ndarray  # int32 [N]
    subtree_end: np.ndarray  # int32 [N]
    token_ptr: np.ndarray  # int32 [N + 1]
    token_ids: np.ndarray  # int32 [T]
    token_bytes: tuple[bytes, ...]  # per token id (b"" where not in the trie)

    @property
    def num_nodes(self) -> int:
        return int(self.node_byte.shape[0])

    @cached_property
    def id_by_bytes(self) -> dict[bytes, int]:
        """The smallest token id for each distinct byte string in the trie."""
        table: dict[bytes, int] = {}
        for token_id in self.token_ids.tolist():
            table.setdefault(self.token_bytes[token_id], token_id)
        return table

    @cached_property
    def max_token_length(self) -> int:
        return int(self.node_depth.max()) if self.num_nodes else 0

    def greedy_tokenize(self, data: bytes) -> list[int]:
        """Longest-match tokenization of ``data`` (every byte is covered when the vocabulary has
        all single bytes; stops at the first byte no token starts with)."""
        table = self.id_by_bytes
        longest = self.max_token_length
        out: list[int] = []
        position = 0
        while position < len(data):
            for end in range(min(len(data), position + longest), position, -1):
                token = table.get(data[position:end])
                if token is not None:
                    out.append(token)
                    position = end
                    break
            else:
                break
        return out


def build_trie(vocab: Vocabulary) -> TokenTrie:
    """The trie of ``vocab`` (memoised per vocabulary fingerprint)."""
    key = vocab.fingerprint
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    trie = _build(vocab)
    with _CACHE_LOCK:
        _CACHE[key] = trie
    return trie


def _build(vocab: Vocabulary) -> TokenTrie:
    special = vocab.special_ids
    groups: dict[bytes, list[int]] = {}
    for token_id, data in enumerate(vocab.token_bytes):
        if data and token_id not in special:
            groups.setdefault(data, []).append(token_id)
    strings = sorted(groups)
    node_bytes = bytearray([0])
    node_depth = [0]
    token_counts = [0]
    token_ids: list[int] = []
    previous = b""
    for data in strings:
        common = 0
        limit = min(len(previous), len(data))
        while common < limit and previous[common] == data[common]:
            common += 1
        node_bytes.extend(data[common:])
        node_depth.extend(range(common + 1, len(data) + 1))
        token_counts.extend([0] * (len(data) - common))
        token_counts[-1] = len(groups[data])
        token_ids.extend(groups[data])
        previous = data
    depth = np.array(node_depth, dtype=np.int32)
    token_ptr = np.zeros(len(token_counts) + 1, dtype=np.int32)
    np.cumsum(np.array(token_counts, dtype=np.int32), out=token_ptr[1:])
    return TokenTrie(
        node_byte=np.frombuffer(bytes(node_bytes), dtype=np.uint8).copy(),
        node_depth=depth,
        subtree_end=_subtree_ends(depth),
        token_ptr=token_ptr,
        token_ids=np.array(token_ids, dtype=np.int32),
        token_bytes=tuple(
            data if token_id not in special else b""
            for token_id, data in enumerate(vocab.token_bytes)
        ),
    )


def _subtree_ends(depth: np.ndarray) -> np.ndarray:
    from structgen.kernels.numba_cpu import subtree_ends

    return subtree_ends(depth)
