"""Peak memory of one schema's compile and walks: the process's peak RSS, and tracemalloc's peak.

**Peak RSS** is read for every engine the same way. On Linux, writing ``5`` to
``/proc/self/clear_refs`` resets the process's RSS high-water mark (``VmHWM``, which
``getrusage``'s ``ru_maxrss`` also reports) to its current RSS; the mark read after the work is
then the peak RSS *during* the work — native (C++, Rust) and Python allocations alike. Where the
reset is refused, ``ru_maxrss`` is read before and after instead: a high-water mark of the whole
process, which grows only when the work sets a new peak (method ``"ru_maxrss growth"``).

Either way the growth (peak less the RSS at the start) undercounts memory that the allocator
reuses from earlier schemas without asking the OS, and the absolute peak includes everything
the process already holds (tokenizer, vocabulary tables).

**tracemalloc** traces Python's allocator and numpy's array buffers, so its peak is the most a
compile and its walks held at once in Python objects and numpy arrays; it does not see native
allocations of other libraries, nor arrays that numba-compiled kernels allocate inside
themselves. Tracing slows allocation, so it runs on an untimed repeat of the work.
"""

from __future__ import annotations

import resource
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

__all__ = [
    "PeakMethod",
    "reset_peak_rss",
    "peak_rss_bytes",
    "current_rss_bytes",
    "RssPeak",
    "traced_peak",
]

PeakMethod = Literal["VmHWM reset", "ru_maxrss growth"]
T = TypeVar("T")

_CLEAR_REFS = "/proc/self/clear_refs"


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark to its current RSS; whether it worked."""
    try:
        with open(_CLEAR_REFS, "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _maxrss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


def peak_rss_bytes() -> int:
    """The process's RSS high-water mark (``VmHWM``, else ``ru_maxrss``)."""
    kib = _status_kib("VmHWM")
    return kib * 1024 if kib is not None else _maxrss_bytes()


def current_rss_bytes() -> int | None:
    """The process's RSS now (``VmRSS``), or ``None`` where it cannot be read."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


@dataclass
class RssPeak:
    """Peak RSS over a stretch of work: :meth:`start` before it, :meth:`stop` after it.

    Run the window under :func:`~structgen_bench.timing.gc_paused`: a collection inside it can
    free earlier garbage and hide the work's growth.
    """

    method: PeakMethod = "VmHWM reset"
    start_bytes: int = 0
    peak_before: int = 0

    def start(self) -> None:
        if reset_peak_rss():
            self.method = "VmHWM reset"
            self.start_bytes = current_rss_bytes() or peak_rss_bytes()
        else:
            self.method = "ru_maxrss growth"
            self.start_bytes = current_rss_bytes() or 0
        self.peak_before = peak_rss_bytes()

    def stop(self) -> dict[str, Any]:
        """``peak_rss_bytes`` (the process's peak during the work, or for ``ru_maxrss growth``
        its peak so far), ``peak_rss_growth_bytes`` (above the RSS at the start; for
        ``ru_maxrss growth``, how far the high-water mark rose) and ``peak_rss_method``."""
        peak = peak_rss_bytes()
        if self.method == "VmHWM reset":
            growth = max(0, peak - self.start_bytes)
        else:
            growth = max(0, peak - self.peak_before)
        return {"peak_rss_bytes": peak, "peak_rss_growth_bytes": growth,
                "peak_rss_method": self.method}  # fmt: skip


def traced_peak(work: Callable[[], T]) -> tuple[T, int]:
    """``work()``'s result and the peak of tracemalloc's traced memory while it ran (bytes
    above what was traced when it started; tracing is on only for the call)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, max(0, peak - base)
