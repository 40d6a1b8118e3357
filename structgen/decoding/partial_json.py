"""An incremental JSON parser: feed text in pieces, read the value so far and what completed.

Streaming JSON out of a model, a caller wants to act on a field as soon as it is whole, not at
the end of the document. :class:`PartialJSON` reads any split of a JSON text (RFC 8259, the
grammar ``json.loads`` accepts without NaN/Infinity) one character at a time and reports, for
each piece, the values that became complete, with their path and their span in the text.

- ``value``: the document so far — every completed member, open arrays and objects, and the
  string being read (its characters so far). A number or ``true``/``false``/``null`` being read
  is left out, as is a key without its value yet.
- A string, array or object completes at its closing character; ``true``/``false``/``null`` at
  their last letter; a number when the character after it arrives (``1`` may become ``12``),
  or at :meth:`PartialJSON.close`.
- Values equal ``json.loads``'s: ints and floats as it reads them, surrogate-pair escapes
  joined, a lone surrogate escape kept as it is, later duplicate keys replacing earlier ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from structgen.errors import StructgenError

__all__ = ["Completed", "PartialJSON", "PartialJSONError", "Path", "copy_value"]

Path = tuple[str | int, ...]

_WHITESPACE = frozenset(" \t\n\r")
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NUMBER_PREFIX = re.compile(r"-?(?:0|[1-9][0-9]*)?(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?")
_LITERALS = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX = frozenset("0123456789abcdefABCDEF")


class PartialJSONError(StructgenError, ValueError):
    """The text is not a prefix of a JSON document (``position`` counts characters fed)."""

    def __init__(self, message: str, position: int) -> None:
        self.position = position
        super().__init__(f"{message} at character {position}")


class Completed(NamedTuple):
    """A value that became whole: where it sits, what it is, and its span ``text[start:end]``
    (character offsets over everything fed)."""

    path: Path
    value: Any
    start: int
    end: int


@dataclass(slots=True)
class _Container:
    """An open array or object: its value so far and what it waits for next."""

    value: list[Any] | dict[str, Any]
    path: Path
    start: int
    # object: "key" (or "}"), "key!" (a key, after a comma), ":", "value", "," (or "}")
    # array:  "item" (or "]"), "item!" (after a comma), "," (or "]")
    expect: str
    key: str = ""

    def child_path(self) -> Path:
        if isinstance(self.value, list):
            return (*self.path, len(self.value))
        return (*self.path, self.key)


@dataclass(slots=True)
class _Scalar:
    """A string, number or literal being read."""

    kind: str  # "string", "key", "number" or "literal"
    start: int
    chars: list[str]
    escape: str | None = None  # None, "\\" after a backslash, or "u" + the hex digits so far
    high: str | None = None  # a high-surrogate escape waiting for its low half
    literal: str = ""
    literal_value: Any = None


def copy_value(value: Any) -> Any:
    """A copy of a JSON value's arrays and objects (strings and numbers are immutable)."""
    if isinstance(value, dict):
        return {key: copy_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_value(item) for item in value]
    return value


class PartialJSON:
    """One JSON document read piece by piece (see the module docstring).

    >>> parser = PartialJSON()
    >>> [c.path for c in parser.feed('{"a": [1, "x"], "b": tr')]
    [('a', 0), ('a', 1), ('a',)]
    >>> parser.value
    {'a': [1, 'x']}
    >>> [c.path for c in parser.feed('ue}')]
    [('b',), ()]
    """

    def __init__(self) -> None:
        self._stack: list[_Container] = []
        self._scalar: _Scalar | None = None
        self._root: Any = None
        self._started = False
        self._done = False
        self._position = 0
        self._completed: list[Completed] = []

    # -- reading ------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether the top-level value is complete (only whitespace may follow)."""
        return self._done

    @property
    def started(self) -> bool:
        """Whether the top-level value has begun."""
        return self._started

    @property
    def position(self) -> int:
        """Characters fed so far."""
        return self._position

    @property
    def value(self) -> Any:
        """A copy of the document so far (None before it starts; see the module docstring)."""
        if not self._started:
            return None
        root = copy_value(self._root)
        scalar = self._scalar
        if scalar is None or scalar.kind != "string":
            return root
        text = self._string_so_far(scalar)
        if not self._stack:
            return text
        # The string being read belongs to the innermost open container: add it to the copy.
        target = root
        for container in self._stack[1:]:
            target = target[container.path[-1]]
        if isinstance(target, list):
            target.append(text)
        else:
            target[self._stack[-1].key] = text
        return root

    def feed(self, text: str) -> list[Completed]:
        """Read ``text``; the values it completed, innermost first. Raises
        :class:`PartialJSONError` as soon as the text can no longer be a JSON prefix."""
        self._completed = []
        for char in text:
            self._step(char)
            self._position += 1
        return self._completed

    def close(self) -> list[Completed]:
        """End of input: completes a top-level number; raises :class:`PartialJSONError` when
        the document is not whole."""
        self._completed = []
        scalar = self._scalar
        if (
            scalar is not None
            and scalar.kind == "number"
            and _NUMBER.fullmatch("".join(scalar.chars))
        ):
            self._finish_number(scalar)
        if not self._done:
            raise PartialJSONError("the JSON document is incomplete", self._position)
        return self._completed

    # -- the machine --------------------------------------------------------------------------

    def _fail(self, message: str) -> PartialJSONError:
        return PartialJSONError(message, self._position)

    def _step(self, char: str) -> None:
        scalar = self._scalar
        if scalar is not None:
            if scalar.kind in ("string", "key"):
                self._string_char(scalar, char)
                return
            if scalar.kind == "literal":
                self._literal_char(scalar, char)
                return
            if char in _NUMBER_CHARS:
                scalar.chars.append(char)
                if _NUMBER_PREFIX.fullmatch("".join(scalar.chars)) is None:
                    raise self._fail(f"{''.join(scalar.chars)!r} is not a JSON number")
                return
            self._finish_number(scalar)  # then read ``char`` as what follows the number
        if char in _WHITESPACE:
            return
        if self._done:
            raise self._fail(f"unexpected {char!r} after the JSON document")
        if not self._stack:
            self._start_value(char)
            return
        container = self._stack[-1]
        expect = container.expect
        if expect in ("key", "key!"):
            if char == '"':
                self._scalar = _Scalar("key", self._position, [])
            elif char == "}" and expect == "key":
                self._close_container()
            else:
                raise self._fail(f"expected an object key, not {char!r}")
        elif expect == ":":
            if char != ":":
                raise self._fail(f"expected ':' after the key, not {char!r}")
            container.expect = "value"
        elif expect in ("value", "item", "item!"):
            if char == "]" and expect == "item":
                self._close_container()
            else:
                self._start_value(char)
        else:  # ","
            closer = "]" if isinstance(container.value, list) else "}"
            if char == ",":
                container.expect = "item!" if closer == "]" else "key!"
            elif char == closer:
                self._close_container()
            else:
                raise self._fail(f"expected ',' or {closer!r}, not {char!r}")

    def _start_value(self, char: str) -> None:
        self._started = True
        start = self._position
        if char == "{" or char == "[":
            value: list[Any] | dict[str, Any] = {} if char == "{" else []
            path = self._stack[-1].child_path() if self._stack else ()
            self._place(value)
            self._stack.append(_Container(value, path, start, "key" if char == "{" else "item"))
        elif char == '"':
            self._scalar = _Scalar("string", start, [])
        elif char == "-" or char.isdigit() and char.isascii():
            self._scalar = _Scalar("number", start, [char])
        elif char in _LITERALS:
            literal, value = _LITERALS[char]
            self._scalar = _Scalar("literal", start, [char], literal=literal, literal_value=value)
        else:
            raise self._fail(f"expected a JSON value, not {char!r}")

    def _place(self, value: Any) -> None:
        """Put a value begun (container) or ended (scalar) into its parent."""
        if not self._stack:
            self._root = value
            return
        container = self._stack[-1]
        if isinstance(container.value, list):
            container.value.append(value)
            container.expect = ","
        else:
            container.value[container.key] = value
            container.expect = ","

    def _complete_scalar(self, scalar: _Scalar, value: Any, end: int) -> None:
        """The scalar being read ends before ``end`` with ``value``."""
        self._scalar = None
        path = self._stack[-1].child_path() if self._stack else ()
        self._place(value)
        self._completed.append(Completed(path, value, scalar.start, end))
        if not self._stack:
            self._done = True

    def _close_container(self) -> None:
        container = self._stack.pop()
        end = self._position + 1
        self._completed.append(Completed(container.path, container.value, container.start, end))
        if not self._stack:
            self._done = True

    def _literal_char(self, scalar: _Scalar, char: str) -> None:
        index = len(scalar.chars)
        if char != scalar.literal[index]:
            raise self._fail(f"expected {scalar.literal!r}, not {''.join(scalar.chars) + char!r}")
        scalar.chars.append(char)
        if index + 1 == len(scalar.literal):
            self._complete_scalar(scalar, scalar.literal_value, self._position + 1)

    def _finish_number(self, scalar: _Scalar) -> None:
        text = "".join(scalar.chars)
        match = _NUMBER.fullmatch(text)
        if match is None:
            raise self._fail(f"{text!r} is not a JSON number")
        value = float(text) if match.group(1) or match.group(2) else int(text)
        self._complete_scalar(scalar, value, scalar.start + len(text))

    # -- strings ------------------------------------------------------------------------------

    @staticmethod
    def _string_so_far(scalar: _Scalar) -> str:
        """The characters read (a high surrogate waiting for its pair left out)."""
        return "".join(scalar.chars)

    def _string_char(self, scalar: _Scalar, char: str) -> None:
        escape = scalar.escape
        if escape is None:
            if scalar.high is not None and char != "\\":
                scalar.chars.append(scalar.high)  # a lone high surrogate, kept as it is
                scalar.high = None
            if char == '"':
                self._end_string(scalar)
            elif char == "\\":
                scalar.escape = "\\"
            elif char < " ":
                raise self._fail(f"control character {char!r} inside a string")
            else:
                scalar.chars.append(char)
            return
        if escape == "\\":
            if char == "u":
                scalar.escape = "u"
                return
            if char not in _ESCAPES:
                raise self._fail(f"invalid escape '\\{char}'")
            self._flush_high(scalar)
            scalar.chars.append(_ESCAPES[char])
            scalar.escape = None
            return
        if char not in _HEX:
            raise self._fail(f"invalid \\u escape digit {char!r}")
        escape += char
        if len(escape) < 5:
            scalar.escape = escape
            return
        scalar.escape = None
        code = int(escape[1:], 16)
        if 0xDC00 <= code <= 0xDFFF and scalar.high is not None:
            high = ord(scalar.high)
            scalar.chars.append(chr(0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)))
            scalar.high = None
            return
        self._flush_high(scalar)
        if 0xD800 <= code <= 0xDBFF:
            scalar.high = chr(code)
        else:
            scalar.chars.append(chr(code))

    @staticmethod
    def _flush_high(scalar: _Scalar) -> None:
        if scalar.high is not None:
            scalar.chars.append(scalar.high)
            scalar.high = None

    def _end_string(self, scalar: _Scalar) -> None:
        text = "".join(scalar.chars)
        if scalar.kind == "string":
            self._complete_scalar(scalar, text, self._position + 1)
            return
        self._scalar = None
        container = self._stack[-1]
        container.key = text
        container.expect = ":"
