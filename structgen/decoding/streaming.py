"""Streaming: a decoding run read as text pieces while it goes, and JSON read as it grows.

- :func:`text_pieces` turns the token lists a :class:`~structgen.decoding.loop.Decoding` yields
  (one per forward pass) into text: one piece per forward pass that completed at least one
  character. A token that ends inside a UTF-8 character waits for the rest, so every piece is
  whole characters, and the pieces join to exactly ``bytes.decode("utf-8", "replace")`` of all
  the tokens' bytes (the end-of-sequence token and what follows it left out).
- :func:`json_events` reads those pieces with :class:`~structgen.decoding.partial_json.PartialJSON`:
  each :class:`StreamEvent` carries the piece, the value so far and the values it completed.
- :class:`Stream` is what a caller iterates: the pieces, then, once they run out, the run's
  final check (which may raise, after the last piece) and its result.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from structgen.decoding.partial_json import Completed, PartialJSON, PartialJSONError

__all__ = ["Stream", "StreamEvent", "json_events", "text_pieces"]

Item = TypeVar("Item")
Result = TypeVar("Result")


def text_pieces(
    steps: Iterable[Sequence[int]],
    token_bytes: Sequence[bytes],
    *,
    stop_ids: Collection[int] = (),
) -> Iterator[str]:
    """Whole-character text of each step's tokens, up to the first ``stop_ids`` token.

    A step whose bytes end inside a character yields what is whole and keeps the rest for the
    next step; a step that completes no character yields nothing. Bytes that can never be
    UTF-8 become U+FFFD, as a one-shot decode with ``errors="replace"`` would make them.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for tokens in steps:
        chunk = bytearray()
        stopped = False
        for token in tokens:
            if token in stop_ids:
                stopped = True
                break
            chunk += token_bytes[token]
        text = decoder.decode(bytes(chunk), final=stopped)
        if text:
            yield text
        if stopped:
            return
    rest = decoder.decode(b"", final=True)  # an unfinished character at the very end
    if rest:
        yield rest


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One piece of a streamed JSON document, read.

    ``value`` is a copy of the document so far (see
    :class:`~structgen.decoding.partial_json.PartialJSON`: strings being read included, numbers
    being read left out; None before it starts); ``completed`` the values this piece made whole,
    innermost first, each with its path (keys and indices from the root, ``()`` for the whole
    document) and its span in the text; ``done`` whether the document is whole.
    """

    piece: str
    value: Any
    completed: tuple[Completed, ...]
    done: bool

    @property
    def completed_paths(self) -> tuple[tuple[str | int, ...], ...]:
        """The paths of :attr:`completed`."""
        return tuple(item.path for item in self.completed)


def json_events(pieces: Iterable[str]) -> Iterator[StreamEvent]:
    """A :class:`StreamEvent` per piece of a JSON text.

    When the pieces run out, a top-level number is completed by one last event with an empty
    piece. Text that cannot be JSON raises
    :class:`~structgen.decoding.partial_json.PartialJSONError` at the piece that shows it; text
    that stops short of a whole document just ends the events (the caller's run says why it
    stopped).
    """
    parser = PartialJSON()
    for piece in pieces:
        completed = tuple(parser.feed(piece))
        yield StreamEvent(piece, parser.value, completed, parser.done)
    if parser.done:
        return
    try:
        completed = tuple(parser.close())
    except PartialJSONError:
        return  # the document stopped short: the run's own check reports it
    yield StreamEvent("", parser.value, completed, parser.done)


class Stream(Generic[Item, Result]):
    """An iterator over ``items`` that runs ``finish`` once they are exhausted.

    ``finish`` checks the whole run and returns its :attr:`result`; an exception it raises comes
    out of the ``next()`` call after the last item (so a caller has every piece first). The
    result is there once the iteration has ended without an error.
    """

    def __init__(self, items: Iterator[Item], finish: Callable[[], Result]) -> None:
        self._items = items
        self._finish: Callable[[], Result] | None = finish
        self._result: Result | None = None
        self._ended = False

    def __iter__(self) -> Stream[Item, Result]:
        return self

    def __next__(self) -> Item:
        try:
            return next(self._items)
        except StopIteration:
            finish, self._finish = self._finish, None
            if finish is not None:
                self._result = finish()
                self._ended = True
            raise

    @property
    def result(self) -> Result:
        """What ``finish`` returned; raises :class:`RuntimeError` before the stream has ended."""
        if not self._ended:
            raise RuntimeError("the stream's result is known once it has been read to its end")
        return self._result  # type: ignore[return-value]  # (set with _ended)
