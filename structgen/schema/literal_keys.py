"""A listed property name's key terminal — ``"`` + every JSON encoding of the name + ``"`` +
the text after it (whitespace, ``:``) — with its regex text, from per-character pieces.

The general path (:func:`~structgen.schema.json_strings.quoted` of the name, then
:func:`~structgen.regex.text.to_regex_text` of the whole) walks the tree and spells every
character's escapes again for every key: ~0.1 ms a key, milliseconds for a schema of a few
dozen properties (issue 11). A name is a sequence of characters, and both its encoding and the
text of a concatenation are the concatenations of each character's, so each character's
node and text are made once (memoised) and joined: the same node and the same text as the
general path, at a fraction of its cost.
"""

from __future__ import annotations

from functools import lru_cache

from structgen.regex.ast import Alt, CharSet, Concat, Empty, Node
from structgen.regex.nodes import char, concat
from structgen.regex.text import to_regex_text
from structgen.schema.json_strings import encode_charset

__all__ = ["KeyTail", "literal_key", "literal_name"]

_QUOTE = char('"')
_QUOTE_TEXT = '"'


class KeyTail:
    """The text after a key's closing quote (whitespace, ``:``, whitespace): its parts and
    their regex texts, made once per compiler."""

    def __init__(self, node: Node) -> None:
        self.parts: tuple[Node, ...] = (
            node.parts if isinstance(node, Concat) else () if isinstance(node, Empty) else (node,)
        )
        self.text = "".join(_part_text(part) for part in self.parts)


def literal_name(decoded: Node) -> str | None:
    """The one string that ``decoded`` spells character by character (``literal(name)``), or
    None when it is any other language."""
    if isinstance(decoded, Empty):
        return ""
    parts = decoded.parts if isinstance(decoded, Concat) else (decoded,)
    characters = []
    for part in parts:
        if not isinstance(part, CharSet) or len(part.ranges) != 1:
            return None
        low, high = part.ranges[0]
        if low != high:
            return None
        characters.append(chr(low))
    return "".join(characters)


def literal_key(name: str, canonical: bool, tail: KeyTail) -> tuple[Node, str] | None:
    """``concat(quoted(literal(name), canonical=canonical), tail)`` and its
    :func:`~structgen.regex.text.to_regex_text`; None when a character has no encoding (a
    lone surrogate: the general path says so)."""
    pieces = [_encoded(ord(c), canonical) for c in name]
    if any(node is None for node, _ in pieces):
        return None
    node = concat(_QUOTE, *(node for node, _ in pieces), _QUOTE, *tail.parts)
    text = "".join([_QUOTE_TEXT, *(text for _, text in pieces), _QUOTE_TEXT, tail.text])
    return node, text


@lru_cache(maxsize=4096)
def _encoded(code_point: int, canonical: bool) -> tuple[Node | None, str]:
    """One character's encodings and their text as a part of a concatenation."""
    node = encode_charset(char(code_point), canonical)
    if isinstance(node, CharSet) and not node.ranges:
        return None, ""
    if isinstance(node, Concat):  # flattened into the key's parts: spelled part by part
        return node, "".join(_part_text(part) for part in node.parts)
    return node, _part_text(node)


def _part_text(part: Node) -> str:
    """The text of ``part`` inside a concatenation, as :func:`to_regex_text` spells it."""
    text = to_regex_text(part)
    return f"(?:{text})" if isinstance(part, Alt) else text
