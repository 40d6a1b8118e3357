"""JSON documents: reading files and standard input, strict parsing with positions, locations.

Positions in messages are ``source:line:column``; locations are written as JSONPath for
documents (``$.items[0].name``) and as a JSON Pointer in fragment form for schemas
(``#/properties/age/minimum``, not percent-encoded). Nothing here needs ``jsonschema``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from structgen.errors import StructgenError

__all__ = [
    "STDIN",
    "JSONFileError",
    "display_name",
    "iter_json_lines",
    "json_path",
    "json_pointer",
    "parse_document",
    "parse_json",
    "read_document",
    "read_json",
]

STDIN = "-"
_STDIN_NAME = "<stdin>"


class JSONFileError(StructgenError, ValueError):
    """A schema or document that cannot be read, decoded or parsed as JSON."""


def display_name(path: str | os.PathLike[str]) -> str:
    """How a path is named in messages (``-`` is ``<stdin>``)."""
    return _STDIN_NAME if os.fspath(path) == STDIN else os.fspath(path)


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    name = display_name(path)
    try:
        if os.fspath(path) == STDIN:
            return _stdin_bytes()
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise JSONFileError(f"cannot read {name}: {error.strerror or error}") from None


def _stdin_bytes() -> bytes:
    if sys.stdin is None:
        raise JSONFileError("cannot read <stdin>: there is no standard input")
    data = getattr(sys.stdin, "buffer", sys.stdin).read()
    return data.encode() if isinstance(data, str) else data


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file (``-`` reads standard input); errors say ``file:line:column``."""
    return parse_json(_read_bytes(path), source=display_name(path))


def read_document(path: str | os.PathLike[str]) -> tuple[Any, list[tuple[str | int, ...]]]:
    """:func:`read_json` with the paths of repeated keys (see :func:`parse_document`)."""
    return parse_document(_read_bytes(path), source=display_name(path))


def iter_json_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, raw_line)`` for every non-blank line of a JSON Lines file.

    Lines are split on ``\\n`` only (``\\r\\n`` is accepted): JSON strings may hold U+2028 and
    other characters that ``str.splitlines`` would split on. Reading is streamed.
    """
    name = display_name(path)
    try:
        if os.fspath(path) == STDIN:
            if sys.stdin is None:
                raise JSONFileError("cannot read <stdin>: there is no standard input")
            stream = getattr(sys.stdin, "buffer", None)
            if stream is None:  # a text stream without a buffer (tests, embedding)
                yield from _numbered(line.encode() for line in sys.stdin)
                return
            yield from _numbered(stream)
            return
        with open(path, "rb") as handle:
            yield from _numbered(handle)
    except OSError as error:
        raise JSONFileError(f"cannot read {name}: {error.strerror or error}") from None


def _numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if raw.strip(b" \t\r\n"):
            yield number, raw.rstrip(b"\r\n")


class _NonStandardConstant(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)


def _reject_constant(name: str) -> Any:
    raise _NonStandardConstant(name)


_CONSTANT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)', re.DOTALL)


def parse_json(data: str | bytes, *, source: str = "<string>", line: int | None = None) -> Any:
    """Parse one JSON text strictly (no NaN/Infinity), or raise ``JSONFileError``.

    The message starts with ``source:line:column``; ``line`` is the line the text starts on
    (for a line of a JSON Lines file), else positions count from the text's first line.
    Numbers are read as a JSON consumer in Python reads them: integers (no fraction, no
    exponent) exactly, every other number as the nearest float64 (``1e-400`` is ``0.0``).
    """
    return parse_document(data, source=source, line=line)[0]


def parse_document(
    data: str | bytes, *, source: str = "<string>", line: int | None = None
) -> tuple[Any, list[tuple[str | int, ...]]]:
    """:func:`parse_json`, with the path of every key that occurs twice in its object (the value
    keeps the last occurrence, as ``json.loads`` does; other parsers keep the first)."""
    repeated: dict[int, list[str]] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) != len(pairs):
            seen: set[str] = set()
            repeated[id(value)] = [key for key, _ in pairs if key in seen or seen.add(key)]
        return value

    value = _parse(data, source=source, line=line, pairs_hook=pairs_hook)
    return value, _duplicate_paths(value, repeated) if repeated else []


def _duplicate_paths(value: Any, repeated: dict[int, list[str]]) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            found.extend((*path, key) for key in dict.fromkeys(repeated.get(id(node), ())))
            stack.extend((child, (*path, key)) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(node))
    return sorted(found, key=lambda path: [(isinstance(p, str), p) for p in path])


def _parse(data: str | bytes, *, source: str, line: int | None, pairs_hook: Any) -> Any:

    def where(row: int, column: int) -> str:
        return f"{source}:{row if line is None else line + row - 1}:{column}"

    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig" if line in (None, 1) else "utf-8")
        except UnicodeDecodeError as error:
            row = data.count(b"\n", 0, error.start) + 1
            column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
            bad = data[error.start : error.start + 1].hex()
            offset = f"byte offset {error.start}" + ("" if line is None else " of the line")
            raise JSONFileError(
                f"{where(row, column)}: not valid UTF-8 (byte 0x{bad} at {offset})"
            ) from None
    else:
        text = data
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as error:
        raise JSONFileError(
            f"{where(error.lineno, error.colno)}: invalid JSON: {error.msg}"
        ) from None
    except _NonStandardConstant as error:
        row, column = _position_of_constant(text)
        raise JSONFileError(
            f"{where(row, column)}: invalid JSON: {error.name} is not a JSON value "
            "(JSON has no NaN or Infinity)"
        ) from None
    except RecursionError:
        raise JSONFileError(f"{source}: JSON nested too deeply to parse") from None
    except ValueError as error:  # e.g. an integer beyond Python's digit limit
        raise JSONFileError(f"{source}: invalid JSON: {error}") from None


def _position_of_constant(text: str) -> tuple[int, int]:
    for match in _CONSTANT_OR_STRING.finditer(text):
        if match.group(1):
            offset = match.start(1)
            return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1
    return 1, 1


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def json_path(path: Iterable[str | int]) -> str:
    """``["a", 0, "b c"]`` → ``$.a[0]["b c"]`` (RFC 9535 JSONPath, dot form where possible)."""
    parts = ["$"]
    for element in path:
        if isinstance(element, int):
            parts.append(f"[{element}]")
        elif _IDENTIFIER.match(element):
            parts.append(f".{element}")
        else:
            parts.append(f"[{json.dumps(element, ensure_ascii=False)}]")
    return "".join(parts)


def json_pointer(path: Iterable[str | int]) -> str:
    """``["properties", "a/b"]`` → ``#/properties/a~1b`` (RFC 6901, fragment form)."""
    tokens = (str(token).replace("~", "~0").replace("/", "~1") for token in path)
    return "#" + "".join("/" + token for token in tokens)
