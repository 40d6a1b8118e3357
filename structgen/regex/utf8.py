"""Code-point ranges → sequences of UTF-8 byte ranges.

A range of code points with the same encoded length is split until every byte position spans
a contiguous byte range, so that ``[lo, hi]`` becomes a short list of byte-range sequences
whose concatenations are exactly the UTF-8 encodings of the code points in the range.
"""

from __future__ import annotations

ByteRangeSeq = tuple[tuple[int, int], ...]

_LENGTH_LIMITS = (0x7F, 0x7FF, 0xFFFF, 0x10FFFF)


def _encode(code_point: int) -> bytes:
    return chr(code_point).encode("utf-8", "surrogatepass")


def utf8_sequences(low: int, high: int) -> list[ByteRangeSeq]:
    """Byte-range sequences that together encode exactly the code points ``low..high``."""
    out: list[ByteRangeSeq] = []
    stack = [(low, high)]
    while stack:
        lo, hi = stack.pop()
        split = _split_by_length(lo, hi) or _split_by_continuation(lo, hi)
        if split is not None:
            stack.extend(reversed(split))
            continue
        out.append(tuple(zip(_encode(lo), _encode(hi))))
    return out


def _split_by_length(lo: int, hi: int) -> list[tuple[int, int]] | None:
    for limit in _LENGTH_LIMITS[:-1]:
        if lo <= limit < hi:
            return [(lo, limit), (limit + 1, hi)]
    return None


def _split_by_continuation(lo: int, hi: int) -> list[tuple[int, int]] | None:
    length = len(_encode(lo))
    for index in range(1, length):
        mask = (1 << (6 * index)) - 1
        if lo & ~mask != hi & ~mask:
            if lo & mask:
                return [(lo, lo | mask), ((lo | mask) + 1, hi)]
            if hi & mask != mask:
                return [(lo, (hi & ~mask) - 1), (hi & ~mask, hi)]
    return None
