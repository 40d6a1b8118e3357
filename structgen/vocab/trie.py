"""The vocabulary as a byte trie in flat arrays (depth-first preorder).

Node 0 is the root (the empty prefix). For node ``i``: ``node_byte[i]`` is the byte on the edge
into it, ``node_depth[i]`` its depth, ``subtree_end[i]`` one past its last descendant, and
``token_ids[token_ptr[i]:token_ptr[i + 1]]`` the token ids whose bytes end exactly there (several
ids can share bytes). Special tokens, padding ids and tokens with no bytes are not in the trie,
so no mask ever allows them by walking bytes.

:func:`build_trie` builds the arrays with numpy (sort the distinct byte strings once; each adds
the nodes past its common prefix with the one before), keeps them per vocabulary in the
process, and on disk below ``cache_dir("tries")`` keyed by the vocabulary's fingerprint, so a
fresh process reads them back in milliseconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from structgen.paths import cache_dir
from structgen.vocab.array_file import code_digest, read_arrays, write_arrays

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

_CACHE: dict[str, TokenTrie] = {}
_DISK_CACHE_MIN_TOKENS = 4096
"""Smaller vocabularies build in about a millisecond: they are not written to disk."""
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


def build_trie(vocab: Vocabulary, *, use_disk_cache: bool = True) -> TokenTrie:
    """The trie of ``vocab``: memoised per vocabulary fingerprint in the process and, with
    ``use_disk_cache`` and at least ``_DISK_CACHE_MIN_TOKENS`` tokens, read from / written to
    the cache folder (a damaged or foreign file is rebuilt and replaced)."""
    key = vocab.fingerprint
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    on_disk = use_disk_cache and len(vocab.token_bytes) >= _DISK_CACHE_MIN_TOKENS
    path = _cache_path(key) if on_disk else None
    arrays = read_arrays(path) if path is not None else None
    trie = _from_arrays(arrays, vocab) if arrays is not None else None
    if trie is None:
        trie = _build(vocab)
        if path is not None:
            write_arrays(path, {**_arrays_of(trie), "fingerprint": _tag(key)})
    with _CACHE_LOCK:
        return _CACHE.setdefault(key, trie)


_NAMES = ("node_byte", "node_depth", "subtree_end", "token_ptr", "token_ids")
_DTYPES = (np.uint8, np.int32, np.int32, np.int32, np.int32)


def _arrays_of(trie: TokenTrie) -> dict[str, np.ndarray]:
    return {name: getattr(trie, name) for name in _NAMES}


def _cache_path(fingerprint: str) -> Path:
    return cache_dir("tries", f"{fingerprint[:32]}-{code_digest(__file__)[:12]}.arrays")


def _tag(fingerprint: str) -> np.ndarray:
    return np.frombuffer(fingerprint.encode("ascii"), dtype=np.uint8)


def _from_arrays(arrays: dict[str, np.ndarray], vocab: Vocabulary) -> TokenTrie | None:
    """The trie of cached arrays, or None when they are not ``vocab``'s (another vocabulary's
    or a malformed file)."""
    tag = arrays.pop("fingerprint", None)
    if tag is None or tag.tobytes() != _tag(vocab.fingerprint).tobytes():
        return None
    if set(arrays) != set(_NAMES) or any(
        arrays[n].dtype != d or arrays[n].ndim != 1 for n, d in zip(_NAMES, _DTYPES, strict=True)
    ):
        return None
    nodes = len(arrays["node_byte"])
    ids = arrays["token_ids"]
    if (
        nodes < 1
        or len(arrays["node_depth"]) != nodes
        or len(arrays["subtree_end"]) != nodes
        or len(arrays["token_ptr"]) != nodes + 1
        or int(arrays["token_ptr"][-1]) != len(ids)
        or (len(ids) and not 0 <= int(ids.min()) <= int(ids.max()) < len(vocab.token_bytes))
    ):
        return None
    return TokenTrie(**arrays, token_bytes=tuple(vocab.token_bytes))


def _build(vocab: Vocabulary) -> TokenTrie:
    """The arrays of the trie, computed with numpy.

    Sorted byte strings list the trie's nodes in preorder: string ``k`` adds one node per byte
    past its longest common prefix ``c`` with string ``k - 1``, at depths ``c + 1 .. len``.
    Special and padding ids have ``b""`` (a Vocabulary invariant), so they are left out.
    """
    tokens = vocab.token_bytes
    # (C-level passes over ~128k tokens: b"" sorts first, so the empty ones are a prefix)
    order = sorted(range(len(tokens)), key=tokens.__getitem__)
    strings = list(map(tokens.__getitem__, order))
    empty = strings.count(b"")
    order, strings = order[empty:], strings[empty:]
    ids = np.array(order, dtype=np.int32)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    data = np.frombuffer(b"".join(strings), dtype=np.uint8)
    starts = np.zeros(len(strings), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    common = _common_prefixes(data, starts, lengths)
    # Equal strings (several ids with the same bytes) end at one node: keep the first of each.
    first = np.ones(len(strings), dtype=bool)
    first[1:] = (common[1:] != lengths[1:]) | (lengths[1:] != lengths[:-1])
    added = (lengths - common)[first]
    node_starts = np.ones(len(added) + 1, dtype=np.int64)
    np.cumsum(added, out=node_starts[1:])
    node_starts[1:] += 1
    count = int(node_starts[-1])
    node_byte = np.zeros(count, dtype=np.uint8)
    node_depth = np.zeros(count, dtype=np.int32)
    offsets = _ragged_arange(added)  # position of each new node inside its string's new part
    owner = np.repeat(np.arange(len(added)), added)
    begin = common[first]
    node_depth[1:] = begin[owner] + offsets + 1
    node_byte[1:] = data[starts[first][owner] + begin[owner] + offsets]
    counts = np.zeros(count, dtype=np.int32)
    counts[node_starts[1:] - 1] = np.diff(np.flatnonzero(first), append=len(strings))
    token_ptr = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(counts, out=token_ptr[1:])
    return TokenTrie(
        node_byte=node_byte,
        node_depth=node_depth,
        subtree_end=subtree_ends(node_depth),
        token_ptr=token_ptr,
        token_ids=ids,
        token_bytes=tuple(tokens),
    )


def _common_prefixes(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """For each string, the length of its common prefix with the string before (0 for the
    first); one vectorised step per byte position, over the pairs still equal so far."""
    common = np.zeros(len(lengths), dtype=np.int64)
    pairs = np.arange(1, len(lengths))
    position = 0
    while True:
        pairs = pairs[np.minimum(lengths[pairs], lengths[pairs - 1]) > position]
        if not len(pairs):
            return common
        pairs = pairs[data[starts[pairs] + position] == data[starts[pairs - 1] + position]]
        common[pairs] += 1
        position += 1


def _ragged_arange(counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(c) for c in counts])``."""
    total = int(counts.sum())
    ends = np.cumsum(counts)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - counts, counts)


def subtree_ends(node_depth: np.ndarray) -> np.ndarray:
    """For a preorder trie (node 0 the root at depth 0, every other node after its parent, one
    deeper), the index one past the last descendant of every node.

    Depth by depth: a node's subtree ends at the next node of its depth when that one is its
    sibling (inside the parent's subtree), else where its parent's subtree ends."""
    count = len(node_depth)
    ends = np.full(count, count, dtype=np.int32)
    if count == 0:
        return ends
    by_depth = np.argsort(node_depth, kind="stable")
    bounds = np.searchsorted(node_depth[by_depth], np.arange(int(node_depth.max()) + 2))
    upper = by_depth[bounds[0] : bounds[1]]
    for depth in range(1, len(bounds) - 1):
        level = by_depth[bounds[depth] : bounds[depth + 1]]
        if not len(level):
            break
        parents = upper[np.searchsorted(upper, level, side="right") - 1]
        following = np.empty_like(ends, shape=len(level))
        following[:-1] = level[1:]
        following[-1] = count
        ends[level] = np.minimum(following, ends[parents])
        upper = level
    return ends
