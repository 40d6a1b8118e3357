"""Where structgen keeps files between runs: one place, right on every OS.

``$STRUCTGEN_CACHE_DIR`` when set, else the user cache directory that ``platformdirs`` gives
for ``structgen`` (``$XDG_CACHE_HOME/structgen`` or ``~/.cache/structgen`` on Linux,
``~/Library/Caches/structgen`` on macOS, ``%LOCALAPPDATA%\\structgen\\Cache`` on Windows).
Everything below it can be deleted at any time: it is rebuilt on demand.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """The cache root, or the folder ``parts`` below it (not created here)."""
    explicit = os.environ.get("STRUCTGEN_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().joinpath(*parts)
    # Imported here: platformdirs (with tempfile and shutil) is ~5 ms of a fresh process's
    # start, which a process with $STRUCTGEN_CACHE_DIR set (servers, the benchmarks) never needs.
    import platformdirs

    return Path(platformdirs.user_cache_dir("structgen", appauthor=False)).joinpath(*parts)
