"""Progress of long work on standard error, for the command line only (the library is silent).

:func:`stage` shows a tqdm line with the elapsed time for work that has lasted over ``delay``
seconds (model load and conversion, compiles); quick work prints nothing. :func:`enabled` says
whether to show it at all: only when standard error is a terminal, so logs and pipes get no
carriage-return noise.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

__all__ = ["enabled", "stage"]

_REFRESH_SECONDS = 0.2


def enabled() -> bool:
    """Show progress: standard error is an interactive terminal."""
    stream = sys.stderr
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


@contextlib.contextmanager
def stage(description: str, *, delay: float = 1.0, file: TextIO | None = None) -> Iterator[None]:
    """While the block runs, after ``delay`` seconds, a line ``description: 0:03`` on ``file``
    (standard error), refreshed until the block ends, then cleared."""
    from tqdm import tqdm

    done = threading.Event()

    def show() -> None:
        if done.wait(delay):
            return
        bar = tqdm(
            total=None,
            desc=description,
            bar_format="{desc}: {elapsed}",
            file=file if file is not None else sys.stderr,
            leave=False,
        )
        try:
            while not done.wait(_REFRESH_SECONDS):
                bar.refresh()
        finally:
            bar.close()

    thread = threading.Thread(target=show, name="structgen-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
