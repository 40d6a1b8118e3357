"""Regex AST → Python-syntax regex text (``re.ASCII``, full match).

``parse_regex(to_regex_text(node))`` has the language of ``node``; the text is what a grammar
terminal shows (and its cache key) when the frontend hands the engine a prebuilt AST.
"""

from __future__ import annotations

from functools import lru_cache

from structgen.regex.ast import Alt, CharSet, Concat, Empty, Node, Repeat

_SPECIAL = set("\\^$.|?*+()[]{}-#&~ \t\n\r\f\v")


def _escape(code_point: int) -> str:
    if 0x21 <= code_point <= 0x7E:
        c = chr(code_point)
        return "\\" + c if c in _SPECIAL else c
    if code_point <= 0xFF:
        return f"\\x{code_point:02x}"
    if code_point <= 0xFFFF:
        return f"\\u{code_point:04x}"
    return f"\\U{code_point:08x}"


@lru_cache(maxsize=8192)
def _charset(charset: CharSet) -> str:
    if not charset.ranges:
        return "[^\\x00-\\U0010ffff]"
    if len(charset.ranges) == 1 and charset.ranges[0][0] == charset.ranges[0][1]:
        return _escape(charset.ranges[0][0])
    items = []
    for low, high in charset.ranges:
        if low == high:
            items.append(_escape(low))
        elif high == low + 1:
            items.append(_escape(low) + _escape(high))
        else:
            items.append(f"{_escape(low)}-{_escape(high)}")
    return "[" + "".join(items) + "]"


def to_regex_text(node: Node) -> str:
    """The regex text of ``node`` (recursive in depth; a subtree shared in the DAG is
    spelled once and its text reused)."""
    return _Writer().text(node, top=True)


class _Writer:
    """One text conversion: the texts of the compound subtrees met so far, by identity."""

    def __init__(self) -> None:
        self._done: dict[tuple[int, bool], str] = {}

    def text(self, node: Node, *, top: bool = False) -> str:
        if isinstance(node, CharSet):
            return _charset(node)
        if isinstance(node, Empty):
            return "" if top else "(?:)"
        key = (id(node), top)
        done = self._done.get(key)
        if done is None:
            done = self._done[key] = self._compound(node, top)
        return done

    def _compound(self, node: Node, top: bool) -> str:
        text, group = self.text, self.group
        if isinstance(node, Concat):
            return "".join(
                group(part) if isinstance(part, Alt) else text(part) for part in node.parts
            )
        if isinstance(node, Alt):
            return "|".join(text(option, top=True) for option in node.options)
        if isinstance(node, Repeat):
            inner = node.node
            body = text(inner) if isinstance(inner, CharSet) else group(inner)
            low, high = node.low, node.high
            if (low, high) == (0, None):
                suffix = "*"
            elif (low, high) == (1, None):
                suffix = "+"
            elif (low, high) == (0, 1):
                suffix = "?"
            elif high is None:
                suffix = f"{{{low},}}"
            elif low == high:
                suffix = f"{{{low}}}"
            else:
                suffix = f"{{{low},{high}}}"
            return body + suffix
        raise TypeError(f"not a regex node: {node!r}")

    def group(self, node: Node) -> str:
        return "(?:" + self.text(node, top=True) + ")"
