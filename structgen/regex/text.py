"""Regex AST → Python-syntax regex text (``re.ASCII``, full match).

``parse_regex(to_regex_text(node))`` has the language of ``node``; the text is what a grammar
terminal shows (and its cache key) when the frontend hands the engine a prebuilt AST.
"""

from __future__ import annotations

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
    """The regex text of ``node`` (iterative over Concat/Alt chains, recursive in depth)."""
    return _text(node, top=True)


def _text(node: Node, *, top: bool = False) -> str:
    if isinstance(node, CharSet):
        return _charset(node)
    if isinstance(node, Empty):
        return "" if top else "(?:)"
    if isinstance(node, Concat):
        return "".join(
            _group(part) if isinstance(part, Alt) else _text(part) for part in node.parts
        )
    if isinstance(node, Alt):
        return "|".join(_text(option, top=True) for option in node.options)
    if isinstance(node, Repeat):
        inner = node.node
        body = _text(inner) if isinstance(inner, CharSet) else _group(inner)
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


def _group(node: Node) -> str:
    return "(?:" + _text(node, top=True) + ")"
