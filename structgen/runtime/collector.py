"""structgen and Python's cyclic garbage collector.

A full collection walks every tracked object of the process. Next to a loaded transformers
model that is ~400k objects and ~0.2 s (measured on SmolLM2 here), and a compile or a first-visit
mask allocating ~10^5 objects can start one or more of them. Two remedies, each with one job:

- :func:`collector_paused` keeps the collector off while structgen allocates in bulk (a compile,
  a cache load): the new objects are then looked at once afterwards, not rescanned with the
  whole heap at every threshold the burst crosses;
- :func:`freeze_heap` moves every live object to the collector's permanent generation, so later
  full collections skip what a long-lived process set up once (model, tokenizer, modules).
  Frozen objects are never collected as cyclic garbage: call it after start-up, when what is
  alive is meant to stay (``structgen.warm_up(freeze_heap=True)`` does).
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["collector_paused", "freeze_heap", "with_collector_paused"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_lock = threading.Lock()
_depth = 0  # regions open now, on any thread
_was_enabled = False  # the collector's state when the outermost region opened


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the region, then as it was. Regions nest and may
    overlap across threads: the collector comes back on when the last one closes, and only if
    it was on when the first one opened."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def with_collector_paused(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` run inside :func:`collector_paused`."""

    @functools.wraps(function)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with collector_paused():
            return function(*args, **kwargs)

    return paused


def freeze_heap() -> int:
    """Collect what is garbage now, then move every live object to the permanent generation
    (:func:`gc.freeze`); returns how many objects are frozen in all."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
