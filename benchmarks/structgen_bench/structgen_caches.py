"""structgen's caches as MaskBench handles them: the disk cache in a directory of the run's own,
and the in-memory memo caches dropped before a repeat compile.

- The **disk cache** lives under ``$STRUCTGEN_CACHE_DIR``. Every MaskBench run (each worker
  process, or the in-process run) points it at a new empty temporary directory, so the first
  compile of a schema is cold whatever the user's cache holds, and a second compile of it can
  read what the first wrote.
- The **compiled-schema entries** go to a directory of each schema's own
  (``compile_json_schema(..., cache_dir=...)``, see ``StructgenEngine.schema_scope``): the
  first compile of a schema is always cold, even when the same schema text came earlier in
  the run (JSONSchemaBench has duplicates), and the second compile reads what the first wrote.
- The **memo caches** are the ``functools`` caches of structgen's modules that memoise
  per-input work (compiled patterns, string-terminal tables and the like):
  :func:`drop_memo_caches` empties them, so a repeat compile gets nothing from memory that a
  new process would lack — except what belongs to the process and the vocabulary (the token
  trie memoised per vocabulary, argument-less caches such as the source digest), which every
  server has before its first schema, like the peers' tokenizer tables.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from structgen_bench import vocabs

__all__ = ["CACHE_ENV", "cache_dir_env", "fresh_cache_dir", "drop_memo_caches"]

CACHE_ENV = "STRUCTGEN_CACHE_DIR"


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@contextmanager
def cache_dir_env(path: str | Path) -> Iterator[Path]:
    """``$STRUCTGEN_CACHE_DIR`` set to ``path`` for the region (the previous value restored);
    the harness's own cache (:func:`structgen_bench.vocabs.cache_root`: tokenizers, downloads)
    stays where it was, pinned by ``$STRUCTGEN_BENCH_CACHE_DIR``."""
    with _env(vocabs.BENCH_CACHE_ENV, str(vocabs.cache_root())), _env(CACHE_ENV, str(path)):
        yield Path(path)


@contextmanager
def fresh_cache_dir(prefix: str = "structgen-bench-cache-") -> Iterator[Path]:
    """A new empty directory as ``$STRUCTGEN_CACHE_DIR`` for the region, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with cache_dir_env(path):
            yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _is_memo(value: object) -> bool:
    """A ``functools`` cache of a function that takes arguments (memoised per-input work); an
    argument-less one holds a process-wide constant (e.g. the digest of structgen's sources)
    that a running server has computed once, like its vocabulary."""
    if not (callable(getattr(value, "cache_clear", None))
            and callable(getattr(value, "cache_info", None))):  # fmt: skip
        return False
    try:
        return bool(inspect.signature(value).parameters)
    except (TypeError, ValueError):
        return True


def drop_memo_caches() -> int:
    """Empty the ``functools`` caches of every loaded ``structgen`` module that memoise
    per-input work (see :func:`_is_memo`); how many there were."""
    seen: set[int] = set()
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "structgen" or name.startswith("structgen.")):
            continue
        for value in list(vars(module).values()):
            if _is_memo(value) and id(value) not in seen:
                seen.add(id(value))
                value.cache_clear()
    return len(seen)
