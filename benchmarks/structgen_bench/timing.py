"""Small measuring tools shared by the benchmarks: summaries of samples, memory, machine facts."""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import structgen

__all__ = [
    "summarize_ns",
    "summarize_seconds",
    "rss_bytes",
    "heap_bytes",
    "gc_paused",
    "gc_frozen",
    "machine_info",
    "package_version",
    "now",
]

now = time.perf_counter


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of already sorted values (numpy's default method)."""
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarize_ns(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50/p90/p99/max/mean of nanosecond samples, in microseconds, with the sample count."""
    values = sorted(s / 1000.0 for s in samples_ns)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_us": _percentile(values, 50),
        "p90_us": _percentile(values, 90),
        "p99_us": _percentile(values, 99),
        "max_us": values[-1],
        "mean_us": sum(values) / len(values),
    }


def summarize_seconds(samples: Sequence[float]) -> dict[str, float]:
    """median/min/max of repeated durations in milliseconds, with the sample count."""
    values = sorted(samples)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median_ms": _percentile(values, 50) * 1e3,
        "min_ms": values[0] * 1e3,
        "max_ms": values[-1] * 1e3,
    }


def rss_bytes() -> int | None:
    """Resident set size of this process, or ``None`` where it cannot be read."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        return None


_MALLINFO: Any = None


def heap_bytes() -> int | None:
    """Bytes currently allocated through the C heap (glibc ``mallinfo2``), or ``None``.

    It sees every engine's native allocations (C++, Rust and numpy buffers alike, all arenas,
    mmap-ed blocks included) and not Python's small-object arenas, which makes its growth
    over a compile a uniform measure of a compiled object's size across engines.
    """
    global _MALLINFO
    if _MALLINFO is None:
        _MALLINFO = False
        try:
            import ctypes

            fields = ("arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks "
                      "keepcost").split()  # fmt: skip

            class MallInfo2(ctypes.Structure):
                _fields_ = [(name, ctypes.c_size_t) for name in fields]

            libc = ctypes.CDLL("libc.so.6")
            function = libc.mallinfo2
            function.restype = MallInfo2
            function.argtypes = []
            _MALLINFO = function
        except (OSError, AttributeError):
            pass
    if not _MALLINFO:
        return None
    info = _MALLINFO()
    return int(info.uordblks + info.hblkhd)


@contextmanager
def gc_paused(*, collect: bool = True) -> Iterator[None]:
    """Keep Python's cyclic collector off for a timed region (as ``timeit`` does)."""
    if collect:
        gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def gc_frozen() -> Iterator[None]:
    """Move every live object to the collector's permanent generation for the region.

    A loaded tokenizer holds millions of objects; without this each collection walks them all
    (0.1-0.2 s for Qwen2), which dominates a benchmark's wall time.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or ``None``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total() -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _git_revision(repo: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def machine_info() -> dict[str, Any]:
    """Facts that a reader needs to compare two benchmark runs."""
    repo = Path(structgen.__file__).resolve().parent.parent
    return {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": _memory_total(),
        "python": sys.version.split()[0],
        "structgen": structgen.__version__,
        "git_revision": _git_revision(repo),
        "numpy": package_version("numpy"),
        "numba": package_version("numba"),
        "transformers": package_version("transformers"),
        "tokenizers": package_version("tokenizers"),
    }
