"""Random JSON encodings of a string: every form JSON allows for each character (itself, a
short escape, ``\\u`` hex in either case, surrogate pairs), or only those ``json.dumps``
writes for printable ASCII (``canonical``)."""

from __future__ import annotations

import json
import random

PRINTABLE = {c for c in map(chr, range(0x20, 0x7F)) if c not in '"\\'}
"""Printable ASCII that ``json.dumps`` never escapes."""

_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n",
          "\r": "\\r", "\t": "\\t"}  # fmt: skip


def encode_char(c: str, rng: random.Random, canonical: bool) -> str:
    """One JSON encoding of ``c``, chosen at random among those JSON allows."""
    forms = []
    if c not in '"\\' and ord(c) >= 0x20:
        forms.append(c)
    if c in _SHORT:
        forms.append(_SHORT[c])
    if not (canonical and c in PRINTABLE):
        units = c.encode("utf-16-be")
        hexes = [units[i : i + 2].hex() for i in range(0, len(units), 2)]
        spelled = "".join("\\u" + h for h in hexes)
        forms.append(spelled)
        forms.append(spelled.upper().replace("\\U", "\\u"))
    return rng.choice(forms)


def encodings(text: str, seed: int, canonical: bool) -> list[bytes]:
    """``json.dumps`` of ``text`` both ways, and three random encodings (with the quotes)."""
    rng = random.Random(seed)
    out = [json.dumps(text).encode(), json.dumps(text, ensure_ascii=False).encode()]
    for _ in range(3):
        body = "".join(encode_char(c, rng, canonical) for c in text)
        out.append(f'"{body}"'.encode())
    return out
