"""Plain-numpy reference kernels: slow, obvious, and the oracle for the fast ones."""

from __future__ import annotations

import numpy as np


def unpack_bitmask(bitmask: np.ndarray, vocab_size: int) -> np.ndarray:
    """bool ``[batch, vocab_size]``: True where the token is allowed."""
    words = np.asarray(bitmask).astype(np.uint32, copy=False)
    bits = (words[:, :, None] >> np.arange(32, dtype=np.uint32)) & 1
    flat = bits.reshape(words.shape[0], words.shape[1] * 32).astype(bool)
    if flat.shape[1] >= vocab_size:
        return flat[:, :vocab_size]
    return np.pad(flat, ((0, 0), (0, vocab_size - flat.shape[1])))


def pack_bitmask(allowed: np.ndarray) -> np.ndarray:
    """The inverse of :func:`unpack_bitmask`: int32 ``[batch, ceil(V/32)]``."""
    allowed = np.atleast_2d(np.asarray(allowed, dtype=bool))
    batch, vocab = allowed.shape
    # The layout of structgen.bitmask restated: the oracle imports nothing it is tested against.
    words = -(-vocab // 32)
    padded = np.zeros((batch, words * 32), dtype=np.uint32)
    padded[:, :vocab] = allowed
    weights = np.uint32(1) << np.arange(32, dtype=np.uint32)
    packed = (padded.reshape(batch, words, 32) * weights).sum(axis=2, dtype=np.uint64)
    return packed.astype(np.uint32).view(np.int32)


def apply_token_bitmask_inplace(
    logits: np.ndarray, bitmask: np.ndarray, rows: np.ndarray | None = None
) -> None:
    """``logits[rows[i], t] = -inf`` where token ``t`` is not allowed by ``bitmask[i]``.

    The one signature of every backend: ``logits`` 2-D floating, ``bitmask`` 2-D int32 no wider
    than the logits, ``rows`` distinct in-range logits rows, one per bitmask row (None: the
    identity). :func:`structgen.bitmask.apply_token_bitmask` checks all that first.
    """
    allowed = unpack_bitmask(bitmask, logits.shape[1])
    targets = range(logits.shape[0]) if rows is None else rows
    for index, row in enumerate(targets):
        logits[row, ~allowed[index]] = -np.inf


def column_classes(rows: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Classes of equal columns of an int ``[k, n]`` array of states (negative: dead): writes
    each column's class into ``inverse`` (``-1`` for a column with no live entry) and returns
    the first column of each class; classes are numbered by their first column."""
    live = (rows >= 0).any(axis=0)
    inverse[:] = -1
    if not live.any():
        return np.zeros(0, dtype=np.int32)
    columns = np.flatnonzero(live)
    _, first, within = np.unique(rows[:, columns].T, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # renumber classes by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inverse[columns] = rank[within.reshape(-1)]
    return columns[first[order]].astype(np.int32)


def renumber_rows(table: np.ndarray, ids: np.ndarray, transitions: np.ndarray) -> None:
    """Row ``ids[s]`` of ``transitions`` becomes row ``s`` of ``table`` renumbered by ``ids``
    (dead entries, -1, stay dead)."""
    lookup = np.append(ids.astype(np.int32), np.int32(-1))  # (-1 reads the last entry)
    transitions[ids] = lookup[table]


def glue_tables(
    table: np.ndarray, offsets: np.ndarray, part_accepting: np.ndarray, accepting: np.ndarray
) -> None:
    """Stacked part tables glued into one concatenation in place (the numba kernel's
    contract): states shifted by their part's offset, then right to left each part's
    accepting rows take in the next part's start row where dead and its acceptance."""
    sizes = np.diff(offsets)
    shifted = table + np.repeat(offsets[:-1], sizes)[:, None].astype(table.dtype)
    table[:] = np.where(table >= 0, shifted, table)
    parts = len(sizes)
    accepting[:] = False
    last = int(offsets[parts - 1])
    accepting[last:] = part_accepting[last:]
    for part in range(parts - 2, -1, -1):
        entry = int(offsets[part + 1])
        finals = np.flatnonzero(part_accepting[offsets[part] : entry]) + int(offsets[part])
        rows = table[finals]
        table[finals] = np.where(rows >= 0, rows, table[entry])
        accepting[finals] = accepting[entry]
