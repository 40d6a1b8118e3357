"""Languages of decoded strings → languages of their JSON encodings (inside the quotes).

A JSON string may write each character literally (any character but ``"``, ``\\`` and the
controls below U+0020) or escaped: ``\\"``, ``\\\\``, ``\\/``, ``\\b\\f\\n\\r\\t``, or ``\\uXXXX``
with hex digits in either case, a character beyond U+FFFF as a UTF-16 surrogate pair
(``\\uD83D\\uDE00``). :func:`encode_charset` turns a set of code points into the alternation of
all those forms, splitting code-point ranges into ranges of hex digits the way numeric ranges
are split into digit ranges. Because every encoded text decodes to exactly one string, replacing
each character set of a regex by its encodings gives exactly the encodings of the regex's
language, so patterns and lengths compose over "one encoded character" units.

Lone surrogates (``"\\ud800"``, which Python's ``json`` accepts) are not produced.
"""

from __future__ import annotations

from functools import lru_cache

from structgen.regex.ast import Alt, CharSet, Concat, Empty, Node, Repeat
from structgen.regex.nodes import ANY_CHAR, alt, char, concat, literal, repeat

__all__ = ["ANY_ENCODED_CHAR", "encode", "encode_charset", "encoded_literal", "hex_range", "quoted"]

_SHORT_ESCAPES = {
    0x22: '"',
    0x5C: "\\",
    0x2F: "/",
    0x08: "b",
    0x0C: "f",
    0x0A: "n",
    0x0D: "r",
    0x09: "t",
}
_NOT_LITERAL = CharSet.of([(0x00, 0x1F), (0x22, 0x22), (0x5C, 0x5C)])
_BACKSLASH = char("\\")
_PRINTABLE_ASCII = CharSet.of(
    [(0x20, 0x21), (0x23, 0x5B), (0x5D, 0x7E)]
)  # json.dumps writes these as is


@lru_cache(maxsize=512)
def _hex_digit_set(low: int, high: int) -> CharSet:
    ranges = []
    if low <= 9:
        ranges.append((0x30 + low, 0x30 + min(high, 9)))
    if high >= 10:
        first = max(low, 10) - 10
        ranges.append((0x61 + first, 0x61 + high - 10))
        ranges.append((0x41 + first, 0x41 + high - 10))
    return CharSet.of(ranges)


def _split_fixed(low: int, high: int, width: int, base: int) -> list[list[tuple[int, int]]]:
    """Digit-range sequences (``width`` digits in ``base``) spelling exactly ``low..high``."""
    if width == 0:
        return [[]]
    unit = base ** (width - 1)
    low_digit, low_rest = divmod(low, unit)
    high_digit, high_rest = divmod(high, unit)
    if low_digit == high_digit:
        return [
            [(low_digit, low_digit), *rest]
            for rest in _split_fixed(low_rest, high_rest, width - 1, base)
        ]
    out: list[list[tuple[int, int]]] = []
    if low_rest != 0:
        out += [
            [(low_digit, low_digit), *rest]
            for rest in _split_fixed(low_rest, unit - 1, width - 1, base)
        ]
        low_digit += 1
    tail: list[list[tuple[int, int]]] = []
    if high_rest != unit - 1:
        tail = [
            [(high_digit, high_digit), *rest]
            for rest in _split_fixed(0, high_rest, width - 1, base)
        ]
        high_digit -= 1
    if low_digit <= high_digit:
        out.append([(low_digit, high_digit)] + [(0, base - 1)] * (width - 1))
    return out + tail


@lru_cache(maxsize=4096)
def hex_range(low: int, high: int, width: int = 4) -> Node:
    """``width`` hex digits (either case) whose value lies in ``low..high``."""
    return alt(
        *(
            concat(*(_hex_digit_set(a, b) for a, b in sequence))
            for sequence in _split_fixed(low, high, width, 16)
        )
    )


def _surrogate_pairs(low: int, high: int) -> Node:
    """``\\uHHHH\\uLLLL`` for the code points ``low..high`` (all above U+FFFF)."""

    def units(code_point: int) -> tuple[int, int]:
        value = code_point - 0x10000
        return 0xD800 + (value >> 10), 0xDC00 + (value & 0x3FF)

    (high_first, low_first), (high_last, low_last) = units(low), units(high)
    pieces: list[tuple[int, int, int, int]] = []
    if high_first == high_last:
        pieces.append((high_first, high_first, low_first, low_last))
    else:
        pieces.append((high_first, high_first, low_first, 0xDFFF))
        if high_first + 1 <= high_last - 1:
            pieces.append((high_first + 1, high_last - 1, 0xDC00, 0xDFFF))
        pieces.append((high_last, high_last, 0xDC00, low_last))
    backslash_u = literal("\\u")
    return alt(
        *(
            concat(backslash_u, hex_range(h1, h2), backslash_u, hex_range(l1, l2))
            for h1, h2, l1, l2 in pieces
        )
    )


@lru_cache(maxsize=4096)
def encode_charset(charset: CharSet, canonical: bool = False) -> Node:
    """Every JSON encoding of one character of ``charset``.

    ``canonical``: only the forms ``json.dumps`` writes (with ``ensure_ascii`` true or false):
    printable ASCII is never ``\\u``-escaped. Far smaller automata where a regex singles out
    many ASCII characters (the keys *not* listed by a schema).
    """
    charset = charset.without_surrogates()
    if not charset.ranges:
        return charset
    low, high = charset.ranges[0]
    if low == high and low <= 0xFFFF and len(charset.ranges) == 1:
        return _encode_code_point(charset, low, canonical)
    options: list[Node] = []
    literal_chars = _difference(charset, _NOT_LITERAL)
    if literal_chars.ranges:
        options.append(literal_chars)
    short = [letter for code_point, letter in _SHORT_ESCAPES.items() if code_point in charset]
    if short:
        options.append(concat(_BACKSLASH, CharSet.chars("".join(short))))
    backslash_u = literal("\\u")
    escapable = _difference(charset, _PRINTABLE_ASCII) if canonical else charset
    bmp = [(low, min(high, 0xFFFF)) for low, high in escapable.ranges if low <= 0xFFFF]
    if bmp:
        options.append(concat(backslash_u, alt(*(hex_range(low, high) for low, high in bmp))))
    astral = [(max(low, 0x10000), high) for low, high in escapable.ranges if high >= 0x10000]
    options.extend(_surrogate_pairs(low, high) for low, high in astral)
    return alt(*options)


_BACKSLASH_U = literal("\\u")
_HEX_DIGITS = tuple(_hex_digit_set(d, d) for d in range(16))


def _encode_code_point(charset: CharSet, code_point: int, canonical: bool) -> Node:
    """:func:`encode_charset` of one code point of the BMP (the same tree, built directly):
    itself unless it must be escaped, its short escape, and ``\\u`` with its four hex digits
    in either case (unless ``canonical`` and printable ASCII)."""
    options: list[Node] = []
    if not (code_point <= 0x1F or code_point == 0x22 or code_point == 0x5C):
        options.append(charset)
    short = _SHORT_ESCAPES.get(code_point)
    if short is not None:
        options.append(concat(_BACKSLASH, char(short)))
    if not (canonical and code_point in _PRINTABLE_ASCII):
        digits = [_HEX_DIGITS[(code_point >> shift) & 0xF] for shift in (12, 8, 4, 0)]
        options.append(concat(_BACKSLASH_U, *digits))
    return alt(*options)


def _difference(left: CharSet, right: CharSet) -> CharSet:
    """``left`` without ``right``: one merge of the two sorted range lists."""
    kept: list[tuple[int, int]] = []
    cuts = right.ranges
    count = len(cuts)
    first = 0
    for low, high in left.ranges:
        while first < count and cuts[first][1] < low:
            first += 1
        start = low
        index = first
        while index < count and cuts[index][0] <= high:
            cut_low, cut_high = cuts[index]
            if cut_low > start:
                kept.append((start, cut_low - 1))
            if cut_high + 1 > start:
                start = cut_high + 1
            if start > high:
                break
            index += 1
        if start <= high:
            kept.append((start, high))
    return CharSet(tuple(kept))  # pieces of disjoint, non-adjacent ranges stay so


ANY_ENCODED_CHAR = encode_charset(ANY_CHAR)


def encode(node: Node, *, canonical: bool = False) -> Node:
    """The language of JSON encodings (without quotes) of the strings in ``node``."""
    cache: dict[int, Node] = {}

    def walk(current: Node) -> Node:
        key = id(current)
        done = cache.get(key)
        if done is not None:
            return done
        if isinstance(current, CharSet):
            result = encode_charset(current, canonical)
        elif isinstance(current, Empty):
            result = current
        elif isinstance(current, Concat):
            result = concat(*(walk(part) for part in current.parts))
        elif isinstance(current, Alt):
            result = alt(*(walk(option) for option in current.options))
        elif isinstance(current, Repeat):
            result = repeat(walk(current.node), current.low, current.high)
        else:
            raise TypeError(f"not a regex node: {current!r}")
        cache[key] = result
        return result

    return walk(node)


def quoted(node: Node, *, canonical: bool = False) -> Node:
    """``"`` + encodings of ``node`` + ``"``."""
    quote = char('"')
    return concat(quote, encode(node, canonical=canonical), quote)


def encoded_literal(text: str) -> Node:
    """Every JSON encoding of the exact string ``text``, with quotes."""
    return quoted(literal(text))
