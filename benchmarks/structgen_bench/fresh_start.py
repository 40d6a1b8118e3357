"""The first compile in a fresh process: what a new CLI call or a new worker pays.

For each engine, ``runs`` new ``python`` processes (:mod:`structgen_bench.fresh_start_child`)
each measure, in order:

(a) **import**: the engine's modules (structgen: its compiler and vocabulary modules, numpy
    with them; a peer: its package);
(b) **tokenizer**: the vocabulary the engine compiles against and the engine's own tables of it
    (structgen: ``Vocabulary.from_gguf`` and its token trie, built or read from the disk cache;
    a peer: the Hugging Face tokenizer of the GGUF file — transformers imported, the tokenizer
    read from the harness's cache — then its own tables, as in MaskBench's ``prepare``: a
    token trie too, for llguidance); a server does this once per model, so it is apart;
(c) **compile + first mask** of the small schema (MaskBench's options);
(d) **total excluding the tokenizer**: (a) + (c), the figure issue 11's target (≤ 300 ms for
    structgen) is about.

Every process gets a new disk cache directory (``$STRUCTGEN_CACHE_DIR``), so the small schema
is never read back compiled. structgen has two rows: its disk cache empty (the first process
ever on the machine: whatever is kept per vocabulary is built too), and (:data:`PRIMED`) a copy
of the cache one untimed process left after compiling another schema (the priming schema):
what every later process, CLI call or worker finds. numba's compiled kernels come from numba's
own cache in both, as after installation; so does Python's bytecode: the children write it to
one directory of the measurement (``PYTHONPYCACHEPREFIX``, even where the machine sets
``PYTHONDONTWRITEBYTECODE``), and one untimed run per engine fills it first — what ``pip
install`` leaves (it compiles every module), not what an editable checkout without bytecode
pays. The first mask is checked to allow some tokens but
not all. Reported: the median of each figure over the runs, and each run's (d).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from structgen_bench.fresh_start_child import FRESH_START_ENGINES, PRIMING_SCHEMA, SMALL_SCHEMA
from structgen_bench.structgen_caches import CACHE_ENV
from structgen_bench.vocabs import BENCH_CACHE_ENV, cache_root

__all__ = ["PRIMED", "measure_fresh_start"]

PRIMED = "structgen, vocabulary cached"  # the row of runs whose disk cache was primed
_FIGURES = ("import_ms", "tokenizer_ms", "compile_first_mask_ms", "total_ms")


def _one_run(engine: str, path: str, key: str, timeout_s: float, *, bytecode: Path,
             seed: Path | None = None, keep: Path | None = None,
             prime: bool = False) -> dict[str, Any]:  # fmt: skip
    """A child process's answer (``error`` when it failed). Its disk cache is a new directory:
    a copy of ``seed`` when given, else empty; ``keep`` receives the directory afterwards;
    ``prime`` compiles :data:`PRIMING_SCHEMA` instead of :data:`SMALL_SCHEMA`; Python's bytecode
    is read from (and written to) ``bytecode``."""
    with tempfile.TemporaryDirectory(prefix="structgen-bench-fresh-") as scratch:
        cache = Path(scratch) / "cache"
        if seed is not None:
            shutil.copytree(seed, cache)
        env = {**os.environ, BENCH_CACHE_ENV: str(cache_root()), CACHE_ENV: str(cache),
               "PYTHONPYCACHEPREFIX": str(bytecode)}  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        command = [sys.executable, "-m", "structgen_bench.fresh_start_child", engine, path, key]
        try:
            done = subprocess.run(
                command + (["prime"] if prime else []), capture_output=True, text=True,
                timeout=timeout_s, env=env, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"error": f"no answer in {timeout_s:g} s"}
        if keep is not None and cache.is_dir():
            shutil.copytree(cache, keep, dirs_exist_ok=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip()[-300:]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(lines[-1])


def _summary(runs: list[dict[str, Any]], tokens: int) -> dict[str, Any]:
    good = [r for r in runs if "error" not in r]
    entry: dict[str, Any] = {"runs": len(runs), "ok": len(good)}
    errors = [r["error"] for r in runs if "error" in r]
    if errors:
        entry["error"] = errors[0]
    if not good:
        return entry
    per_run = [
        {"import_ms": r["import_s"] * 1e3, "tokenizer_ms": r["tokenizer_s"] * 1e3,
         "compile_first_mask_ms": r["compile_first_mask_s"] * 1e3,
         "total_ms": (r["import_s"] + r["compile_first_mask_s"]) * 1e3}
        for r in good
    ]  # fmt: skip
    for figure in _FIGURES:
        entry[figure] = statistics.median(run[figure] for run in per_run)
    entry["total_ms_runs"] = [run["total_ms"] for run in per_run]
    entry["allowed"] = sorted({r["allowed"] for r in good})
    bad = [r for r in good if not 0 < r["allowed"] < tokens]
    if bad:
        entry["error"] = f"first mask allows {bad[0]['allowed']} of {tokens} tokens"
    return entry


def measure_fresh_start(engines: list[str], gguf_path: str, key: str, *, runs: int = 5,
                        timeout_s: float = 300.0, vocab_size: int) -> dict[str, Any]:  # fmt: skip
    """Per engine: the medians of (a)–(d) over ``runs`` fresh processes (see the module
    docstring), each run's total, and the first mask's allowed-token counts."""
    results: dict[str, Any] = {"schema": SMALL_SCHEMA, "priming_schema": PRIMING_SCHEMA,
                               "runs": runs, "engines": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="structgen-bench-bytecode-") as bytecode_dir:
        bytecode = Path(bytecode_dir)
        for engine in engines:
            if engine not in FRESH_START_ENGINES:
                continue
            _one_run(engine, gguf_path, key, timeout_s, bytecode=bytecode)  # writes bytecode
            answers = [_one_run(engine, gguf_path, key, timeout_s, bytecode=bytecode)
                       for _ in range(runs)]  # fmt: skip
            results["engines"][engine] = _summary(answers, vocab_size)
            if engine != "structgen":
                continue
            with tempfile.TemporaryDirectory(prefix="structgen-bench-primed-") as primed:
                seed = Path(primed) / "cache"
                priming = _one_run(engine, gguf_path, key, timeout_s, bytecode=bytecode,
                                   keep=seed, prime=True)  # fmt: skip
                if "error" in priming:
                    answers = [priming]
                else:
                    answers = [_one_run(engine, gguf_path, key, timeout_s, bytecode=bytecode,
                                        seed=seed if seed.is_dir() else None)
                               for _ in range(runs)]  # fmt: skip
            results["engines"][PRIMED] = _summary(answers, vocab_size)
    return results


