"""Deduplicated token masks, each stored dense or sparse, whichever is smaller.

Most states of a constraint allow a handful of tokens (inside a keyword, a date, a number), so
their rows are mostly zero words: those are stored as (word index, word) pairs. Rows that allow
many tokens stay dense. Writing a row into a bitmask is a copy (dense) or a clear plus a
scatter (sparse); both take about a microsecond for a 128k vocabulary.
"""

from __future__ import annotations

import hashlib

import numpy as np


class MaskStore:
    def __init__(self, num_words: int, *, sparse_fraction: float = 1 / 16) -> None:
        self.num_words = num_words
        self._sparse_limit = max(1, int(num_words * sparse_fraction))
        self._index: dict[bytes, int] = {}
        self._dense: list[np.ndarray | None] = []
        self._sparse: list[tuple[np.ndarray, np.ndarray] | None] = []
        self._full: list[bool] = []

    def __len__(self) -> int:
        return len(self._full)

    def add(self, row: np.ndarray) -> int:
        """The index of ``row`` (int32 words), stored once."""
        key = hashlib.blake2b(row.tobytes(), digest_size=16).digest()  # not the 16 KB row itself
        index = self._index.get(key)
        if index is not None:
            return index
        index = len(self._full)
        nonzero = np.flatnonzero(row)
        if len(nonzero) <= self._sparse_limit:
            self._dense.append(None)
            self._sparse.append((nonzero.astype(np.int32), row[nonzero].copy()))
        else:
            self._dense.append(row.copy())
            self._sparse.append(None)
        self._full.append(bool((row == -1).all()))
        self._index[key] = index
        return index

    def write(self, index: int, out: np.ndarray) -> None:
        """``out[:] = row``: the hot path of ``fill_next_token_bitmask``."""
        dense = self._dense[index]
        if dense is not None:
            out[:] = dense
            return
        where, words = self._sparse[index]  # type: ignore[misc]
        out[:] = 0
        out[where] = words

    def row(self, index: int) -> np.ndarray:
        out = np.empty(self.num_words, dtype=np.int32)
        self.write(index, out)
        return out

    def is_full(self, index: int) -> bool:
        return self._full[index]

    @property
    def nbytes(self) -> int:
        dense = sum(row.nbytes for row in self._dense if row is not None)
        sparse = sum(
            a.nbytes + b.nbytes for pair in self._sparse if pair is not None for a, b in [pair]
        )
        return int(dense + sparse)

    # -- a flat, pickle-free form for the disk cache -------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        rows = (
            np.stack([self.row(i) for i in range(len(self))])
            if len(self)
            else np.zeros((0, self.num_words), np.int32)
        )
        return {"mask_rows": rows}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], num_words: int) -> MaskStore:
        store = cls(num_words)
        for row in arrays["mask_rows"]:
            store.add(np.ascontiguousarray(row, dtype=np.int32))
        return store
