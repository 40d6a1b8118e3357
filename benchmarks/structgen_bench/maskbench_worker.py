"""MaskBench's inner loop, and the worker processes that run it with a hard compile timeout.

:func:`run_schema` is the protocol for one (engine, schema): compile cold and compute the first
mask (the two make the time to first mask), then feed every test instance token by token — fill
the mask (timed), check that the token is in it, advance — and at the end check that EOS is in
the mask. It returns plain data (what happened, the raw mask times); the caller classifies.

Every engine is also asked whether its mask and its ``advance`` agree: each token is offered to
``advance`` whether or not the mask allows it, and at the end EOS in the mask is compared with
the engine's own accepting-state query. A disagreement is recorded (the mask stays the verdict).

An :class:`EngineWorker` runs one engine in a child process (a fresh interpreter) that
loads the tokenizer itself, prepares and warms up the engine once, then serves jobs. The parent
waits for the "first mask ready" message at most ``timeout_s`` seconds: a compile in Rust or C++
cannot be interrupted, so a late worker is killed and replaced. All times are taken inside the
worker, around the engine calls only; the pipe is outside the timed regions.
"""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from structgen_bench.maskbench_data import TokenizerRef, load_tokenizer
from structgen_bench.masks import mask_bit, new_bitmask
from structgen_bench.memory import RssPeak, traced_peak
from structgen_bench.peers import EngineAdapter, make_engine
from structgen_bench.runs import set_up
from structgen_bench.timing import gc_frozen, gc_paused

__all__ = ["Job", "run_schema", "repeat_schema", "walk_instance", "schema_set_up", "EngineWorker"]

_ERROR_CHARS = 500


@dataclass
class Job:
    """One schema for one engine: its text and its instances as token ids."""

    schema_text: str
    tests: list[tuple[bool, list[int]]]  # (valid, token ids)
    eos_id: int
    timeout_s: float  # on compile + first mask
    walk_budget_s: float  # on all the instances together
    repeat: bool = True  # compile a second time after the walks (see repeat_schema)
    trace_memory: bool = True  # the tracemalloc pass, for engines whose memory it sees

    @property
    def repeat_timeout_s(self) -> float:
        """How long the second compile and the memory pass may take together."""
        return 2 * self.timeout_s + self.walk_budget_s


def _shorten(text: str) -> str:
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


def _short_error(error: BaseException) -> str:
    return _shorten(f"{type(error).__name__}: {error}")


def schema_set_up(engine: EngineAdapter, tokenizer: Any) -> dict[str, Any]:
    """:func:`~structgen_bench.runs.set_up` with the schema warm-up, and the schema options the
    engine runs with; an error is shortened and drops the rest."""
    setup = set_up(engine, tokenizer, engine.schema_warm_up)
    if setup["status"] != "ok":
        return {"status": "error", "error": _shorten(setup["error"])}
    return {**setup, "options": engine.schema_options_used()}


def walk_instance(engine: EngineAdapter, compiled: Any, ids: list[int], eos_id: int,
                  bitmask: np.ndarray, times: list[int]) -> dict[str, Any]:  # fmt: skip
    """Feed ``ids`` one token at a time; appends each fill's time (ns) to ``times``.

    Returns ``{"accepted": bool, "step": int, "why": str | None, "disagreement": str | None}``;
    ``step`` is where the walk stopped (``len(ids)`` for the end check).
    """
    fill, advance, clock = engine.fill, engine.advance, time.perf_counter_ns
    matcher = engine.matcher(compiled)
    for step, token in enumerate(ids):
        started = clock()
        fill(matcher, bitmask)
        times.append(clock() - started)
        allowed = mask_bit(bitmask, token)
        advanced = advance(matcher, token)
        if allowed and advanced:
            continue
        disagreement = None
        if allowed != advanced:
            disagreement = (
                "the mask allows the token but advance rejects it"
                if allowed
                else "advance takes a token the mask excludes"
            )
        why = "token not in the mask" if not allowed else "advance rejected a token in the mask"
        return {"accepted": False, "step": step, "why": why, "disagreement": disagreement}
    started = clock()
    fill(matcher, bitmask)
    times.append(clock() - started)
    eos = mask_bit(bitmask, eos_id)
    accepting = engine.is_accepting(matcher)
    disagreement = None
    if eos != accepting:
        disagreement = (
            f"EOS {'in' if eos else 'not in'} the mask but the engine says "
            f"{'accepting' if accepting else 'not accepting'}"
        )
    why = None if eos else "not accepting at the end (EOS not in the mask)"
    return {"accepted": eos, "step": len(ids), "why": why, "disagreement": disagreement}


def run_schema(
    engine: EngineAdapter, job: Job, on_compiled: Callable[[float, float], None] | None = None
) -> dict[str, Any]:
    """The MaskBench protocol for one schema on one engine; never raises.

    Returns ``status`` ("ok", "compile error" or "timeout"), ``error``, ``compile_s``,
    ``first_mask_s``, ``from_cache`` (the engine's word, ``None`` when it has none),
    ``outcomes`` (one :func:`walk_instance` result per test, or ``{"skipped": True}`` past the
    walk budget, or ``{"exception": ...}``), ``mask_ns``, and the peak RSS of the compile and
    walks (:meth:`~structgen_bench.memory.RssPeak.stop`'s fields).
    """
    result: dict[str, Any] = {"status": "ok", "error": None, "compile_s": None,
                              "first_mask_s": None, "outcomes": [], "mask_ns": []}  # fmt: skip
    try:
        schema = json.loads(job.schema_text)
    except ValueError as error:
        result.update(status="compile error", error=f"schema is not JSON: {_short_error(error)}")
        return result
    bitmask = new_bitmask(engine.mask_words)
    rss = RssPeak()
    with gc_paused():
        rss.start()
        try:
            started = time.perf_counter()
            compiled = engine.compile_schema(schema)
            compile_s = time.perf_counter() - started
            matcher = engine.matcher(compiled)
            started = time.perf_counter()
            engine.fill(matcher, bitmask)
            first_s = time.perf_counter() - started
        except Exception as error:  # an engine's failure is a result
            result.update(status="compile error", error=_short_error(error), **rss.stop())
            return result
    del matcher
    result.update(compile_s=compile_s, first_mask_s=first_s,
                  from_cache=engine.from_cache(compiled))  # fmt: skip
    if engine.schema_warnings:
        result["warnings"] = [w[:300] for w in engine.schema_warnings[:10]]
    if on_compiled is not None:
        on_compiled(compile_s, first_s)
    if compile_s + first_s > job.timeout_s:
        result.update(status="timeout", error=f"compile + first mask took "
                      f"{compile_s + first_s:.1f} s > {job.timeout_s:g} s", **rss.stop())
        return result
    deadline = time.perf_counter() + job.walk_budget_s
    times: list[int] = result["mask_ns"]
    with gc_paused():
        for _valid, ids in job.tests:
            if time.perf_counter() > deadline:
                result["outcomes"].append({"skipped": True})
                continue
            try:
                outcome = walk_instance(engine, compiled, ids, job.eos_id, bitmask, times)
            except Exception as error:  # an engine's failure on an instance is a result
                outcome = {"accepted": False, "exception": _short_error(error)}
            result["outcomes"].append(outcome)
    result.update(rss.stop())
    return result


def _walk_untimed(engine: EngineAdapter, compiled: Any, job: Job, deadline: float) -> int:
    """Walk the instances (times thrown away) until ``deadline``; how many were walked."""
    bitmask = new_bitmask(engine.mask_words)
    walked = 0
    for _valid, ids in job.tests:
        if time.perf_counter() > deadline:
            break
        try:
            walk_instance(engine, compiled, ids, job.eos_id, bitmask, [])
        except Exception:  # counted by the timed pass; here only the memory matters
            pass
        walked += 1
    return walked


def repeat_schema(engine: EngineAdapter, job: Job) -> dict[str, Any]:
    """What follows a compiled schema's walks; never raises.

    1. The **second compile** (:meth:`~EngineAdapter.compile_schema_again`: for structgen a
       warm-cache compile after its memo caches are dropped — untimed, in
       :meth:`~EngineAdapter.before_compile_again` — for the peers a second cold one)
       and its first mask: ``repeat_compile_s``, ``repeat_first_mask_s``, ``repeat_from_cache``
       (or ``repeat_error``).
    2. For an engine whose memory tracemalloc sees (``traces_memory``) and when
       ``job.trace_memory``: a cold compile and the walks again (within the walk budget),
       untimed, under tracemalloc: ``traced_peak_bytes`` and ``traced_tests`` (or
       ``traced_error``).
    """
    out: dict[str, Any] = {}
    schema = json.loads(job.schema_text)
    bitmask = new_bitmask(engine.mask_words)
    with gc_paused():
        try:
            engine.before_compile_again()
            started = time.perf_counter()
            compiled = engine.compile_schema_again(schema)
            compile_s = time.perf_counter() - started
            matcher = engine.matcher(compiled)
            started = time.perf_counter()
            engine.fill(matcher, bitmask)
            first_s = time.perf_counter() - started
        except Exception as error:
            out["repeat_error"] = _short_error(error)
        else:
            out.update(repeat_compile_s=compile_s, repeat_first_mask_s=first_s,
                       repeat_from_cache=engine.from_cache(compiled))  # fmt: skip
            del compiled, matcher
    if not (engine.traces_memory and job.trace_memory):
        return out
    deadline = time.perf_counter() + job.walk_budget_s

    def compile_and_walk() -> int:
        return _walk_untimed(engine, engine.compile_schema(schema), job, deadline)

    with gc_paused(), engine.cold_scope():
        try:
            walked, peak = traced_peak(compile_and_walk)
        except Exception as error:
            out["traced_error"] = _short_error(error)
        else:
            out.update(traced_peak_bytes=peak, traced_tests=walked)
    return out


# -- worker processes ---------------------------------------------------------------------------


def _serve(conn: Connection, engine_name: str, ref: TokenizerRef,
           memory_limit_bytes: int = 0) -> None:  # fmt: skip
    """A worker's life: load the tokenizer, prepare the engine, then run jobs until told.

    ``memory_limit_bytes`` (0: none) caps the address space, so that an engine blowing up on
    one schema fails there (recorded) instead of starving the machine."""
    warnings.simplefilter("ignore")
    if memory_limit_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    try:
        tokenizer = load_tokenizer(ref.path, key=ref.key, title=ref.title)
        engine = make_engine(engine_name)
    except Exception as error:
        conn.send(("ready", {"status": "error", "error": _short_error(error)}))
        return
    info = schema_set_up(engine, tokenizer)
    if info["status"] == "ok":
        info["mask_words"] = engine.mask_words
    conn.send(("ready", info))
    if info["status"] != "ok":
        return
    with gc_frozen():
        while True:
            message = conn.recv()
            if message is None:
                return
            with engine.schema_scope():
                result = run_schema(engine, message,
                                    lambda c, f: conn.send(("compiled", c, f)))  # fmt: skip
                conn.send(("walked", result))
                extra = {}
                if message.repeat and result["status"] == "ok":
                    extra = repeat_schema(engine, message)
            conn.send(("done", extra))


class EngineWorker:
    """One engine in a child process; :meth:`run` enforces the timeouts by killing it.

    The child is ``python -m structgen_bench.maskbench_worker`` talking over a socket pair
    (a :class:`multiprocessing.connection.Connection`): nothing is inherited, and the caller's
    ``__main__`` is never re-imported.
    """

    def __init__(self, engine_name: str, ref: TokenizerRef, *, start_timeout_s: float = 600.0,
                 memory_limit_bytes: int = 0):  # fmt: skip
        self.engine_name = engine_name
        self.ref = ref
        self.start_timeout_s = start_timeout_s
        self.memory_limit_bytes = memory_limit_bytes
        self.process: Any = None
        self.conn: Any = None
        self.starts = 0
        self.setup: dict[str, Any] = {}
        self.log: Any = None

    def launch(self) -> None:
        """Start (or restart) the child without waiting for it (see :meth:`wait_ready`)."""
        self.stop()
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-m", "structgen_bench.maskbench_worker", str(theirs.fileno()),
                   self.engine_name, self.ref.key, self.ref.title, self.ref.path,
                   str(self.memory_limit_bytes)]  # fmt: skip
        self.log = tempfile.TemporaryFile()  # the child's stderr, quoted when it dies
        self.process = subprocess.Popen(command, pass_fds=(theirs.fileno(),),
                                        stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT)  # fmt: skip
        theirs.close()
        self.conn = Connection(ours.detach())
        self.starts += 1

    def wait_ready(self) -> dict[str, Any]:
        """The child's set-up report (``status`` "ok" or "error"); an error stops the child."""
        try:
            ready = self.conn.poll(self.start_timeout_s)
            info = self.conn.recv()[1] if ready else {
                "status": "error", "error": f"no answer in {self.start_timeout_s:g} s"}
        except (EOFError, OSError):
            info = {"status": "error", "error": self._death()}
        if info["status"] != "ok":
            self._kill()
        return info

    def start(self) -> dict[str, Any]:
        """Start (or restart) the child and wait for its set-up report."""
        self.launch()
        return self.wait_ready()

    def _death(self) -> str:
        """Why the child died: its exit code and the end of what it printed."""
        code = self._exit_code()
        tail = ""
        if self.log is not None:
            self.log.seek(0, 2)
            size = self.log.tell()
            self.log.seek(max(0, size - 400))
            tail = self.log.read().decode("utf-8", "replace").strip()
        return f"worker died (exit {code})" + (f": …{tail}" if tail else "")

    def _exit_code(self) -> int | None:
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=2.0)
        except Exception:
            return None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Ask the child to leave; kill it when it does not (it may be stuck in a compile)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self.conn.send(None)
                self.process.wait(timeout=5.0)
            except Exception:
                self.process.kill()
                self.process.wait(timeout=10.0)
        self.conn.close()
        if self.log is not None:
            self.log.close()
        self.process = None
        self.conn = None
        self.log = None

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10.0)
        self.stop()

    def run(self, job: Job, *, walk_timeout_s: float) -> dict[str, Any]:
        """:func:`run_schema` in the child; a child past ``job.timeout_s`` before its first mask
        is killed ("timeout"), past ``walk_timeout_s`` more before the end likewise ("walk
        timeout", the compile times kept); a dead child is "crashed". Then
        :func:`repeat_schema`'s fields are added (see :meth:`_repeat`)."""
        if not self.alive():
            self.setup = self.start()
            if self.setup["status"] != "ok":
                return {"status": "crashed", "error": f"worker set-up: {self.setup['error']}",
                        "outcomes": [], "mask_ns": []}  # fmt: skip
        conn = self.conn
        try:
            conn.send(job)
        except OSError:  # the child died since its last job
            why = self._death()
            self._kill()
            return {"status": "crashed", "error": why, "outcomes": [], "mask_ns": []}
        compiled: tuple[float, float] | None = None
        waited = time.perf_counter()
        while True:
            limit = job.timeout_s if compiled is None else walk_timeout_s
            remaining = limit - (time.perf_counter() - waited)
            try:
                ready = conn.poll(max(0.0, remaining))
                message = conn.recv() if ready else None
            except (EOFError, OSError):
                why = self._death()
                self._kill()
                return {"status": "crashed", "error": why,
                        "compile_s": compiled[0] if compiled else None,
                        "first_mask_s": compiled[1] if compiled else None,
                        "outcomes": [], "mask_ns": []}  # fmt: skip
            if message is None:
                self._kill()
                if compiled is None:
                    return {"status": "timeout", "error": f"compile + first mask over "
                            f"{job.timeout_s:g} s (worker killed)", "outcomes": [],
                            "mask_ns": []}  # fmt: skip
                return {"status": "walk timeout", "error": f"instances not walked in "
                        f"{walk_timeout_s:g} s (worker killed)", "compile_s": compiled[0],
                        "first_mask_s": compiled[1], "outcomes": [], "mask_ns": []}  # fmt: skip
            if message[0] == "compiled":
                compiled = (message[1], message[2])
                waited = time.perf_counter()
                continue
            return self._repeat(job, message[1])

    def _repeat(self, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        """``result`` (the walks' answer) with :func:`repeat_schema`'s fields from the child;
        a child past ``job.repeat_timeout_s`` is killed, a dead one reported, in
        ``repeat_error`` (the walks' results kept)."""
        try:
            ready = self.conn.poll(job.repeat_timeout_s)
            if ready:
                return {**result, **self.conn.recv()[1]}
            why = f"second compile and memory pass over {job.repeat_timeout_s:g} s (worker killed)"
        except (EOFError, OSError):
            why = self._death()
        self._kill()
        return {**result, "repeat_error": why}


def main(argv: list[str]) -> None:
    """The child's entry point: ``FD ENGINE KEY TITLE PATH MEMORY_LIMIT_BYTES``."""
    fd, engine_name, key, title, path, limit = argv
    _serve(Connection(int(fd)), engine_name, TokenizerRef(key, title, path), int(limit))


if __name__ == "__main__":
    main(sys.argv[1:])
