"""structgen and the cyclic garbage collector: compiles run with it paused (so a burst of
allocations never starts a collection that rescans the heap), pauses nest and overlap across
threads, and freezing the heap moves what is alive out of later collections."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import structgen
from structgen.runtime.cache import wait_for_writes
from structgen.runtime.collector import collector_paused, freeze_heap, with_collector_paused
from structgen.runtime.compiler import compile_grammar, compile_json_schema, compile_regex
from tests.helpers.synthetic_vocab import synthetic_vocabulary

VOCAB = synthetic_vocabulary()
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "tags": {"type": "array", "items": {"enum": ["x", "y", "z"]}},
        "size": {"type": "integer", "minimum": 0},
    },
    "required": ["name"],
}


PACKAGE = Path(structgen.__file__).parent
OUTSIDE_THE_WORK = {PACKAGE / "__init__.py", PACKAGE / "runtime" / "collector.py"}


def _inside_structgen() -> bool:
    """Whether a frame of structgen's own work (not the pause's entry or exit) is running."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(PACKAGE) and path not in OUTSIDE_THE_WORK:
            return True
        frame = frame.f_back
    return False


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The collector on for the test, then as it was."""
    enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        (gc.enable if enabled else gc.disable)()


@pytest.fixture
def eager_collector(collector_on: None) -> Iterator[list[tuple[int, bool]]]:
    """The collector on with a tiny threshold (a collection every few allocations), recording
    every collection that starts (its generation, and whether structgen's work was running);
    restored afterwards."""
    started: list[tuple[int, bool]] = []
    test_thread = threading.get_ident()
    wait_for_writes(timeout=60)  # (no earlier test's cache writer left running structgen code)

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            inside = threading.get_ident() == test_thread and _inside_structgen()
            started.append((info["generation"], inside))

    thresholds = gc.get_threshold()
    gc.set_threshold(10, 2, 2)
    gc.callbacks.append(record)
    try:
        yield started
    finally:
        gc.callbacks.remove(record)
        gc.set_threshold(*thresholds)


@pytest.mark.parametrize(
    "compile_once",
    [
        lambda: compile_json_schema(SCHEMA, VOCAB, cache=False),
        lambda: compile_grammar('start: "a" B+\nB: /[bc]/', VOCAB, cache=False),
        lambda: compile_regex(r"(ab|cd){2,5}[0-9]+", VOCAB, cache=False),
    ],
    ids=["schema", "grammar", "regex"],
)
def test_a_compile_starts_no_collection(eager_collector, compile_once) -> None:
    compiled = compile_once()
    assert not [generation for generation, inside in eager_collector if inside]
    assert gc.isenabled()
    # The objects it made are looked at afterwards, as soon as allocation goes on.
    garbage = [[] for _ in range(100)]
    del garbage
    assert eager_collector
    bitmask = structgen.allocate_token_bitmask(1, VOCAB.size)
    compiled.matcher().fill_next_token_bitmask(bitmask)
    assert bitmask.any()  # (and the constraint works)


def test_the_same_compile_collects_without_the_pause(eager_collector) -> None:
    # The control: the tiny threshold does start collections in such a compile's work.
    from structgen.schema.options import SchemaOptions
    from structgen.schema.to_grammar import schema_to_grammar_with

    schema_to_grammar_with(SCHEMA, SchemaOptions.build(None), {}, stacklevel=2)
    assert [generation for generation, inside in eager_collector if inside]


def test_pauses_nest_and_restore_the_state_they_found(collector_on: None) -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()  # off before: stays off
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_pauses_on_two_threads_end_with_the_last(collector_on: None) -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    try:
        thread.start()
        assert inside.wait(10)
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the other thread's pause is still open
        release.set()
        thread.join(10)
        assert gc.isenabled()
    finally:
        release.set()
        thread.join(10)


def test_the_decorator_keeps_the_function_and_pauses_around_it(collector_on: None) -> None:
    @with_collector_paused
    def state(value: int) -> tuple[int, bool]:
        """Doc."""
        return value, gc.isenabled()

    assert state(3) == (3, False)
    assert gc.isenabled()
    assert state.__name__ == "state" and state.__doc__ == "Doc."


@pytest.mark.parametrize("via_warm_up", [False, True])
def test_freezing_moves_live_objects_out_of_collections(via_warm_up: bool) -> None:
    kept = [{"n": n} for n in range(1000)]
    assert gc.get_freeze_count() == 0
    try:
        if via_warm_up:
            structgen.warm_up(freeze_heap=True)
            frozen = gc.get_freeze_count()
        else:
            frozen = freeze_heap()
        # (not ``frozen == gc.get_freeze_count()``: a thread still running — numba's loader —
        # may free frozen objects between the two reads; it cannot free ``kept``)
        assert frozen >= len(kept) and gc.get_freeze_count() >= len(kept)
        tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        assert not any(id(o) in tracked for o in kept)
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_warm_up_leaves_the_heap_alone_by_default() -> None:
    structgen.warm_up()
    assert gc.get_freeze_count() == 0


def test_models_loaded_inside_the_cli_block_freeze_the_heap(monkeypatch) -> None:
    from structgen import models

    loaded = (object(), object())
    monkeypatch.setattr(models, "load_default", lambda device=None: loaded)
    try:
        assert models.resolve_model(None) is loaded
        assert gc.get_freeze_count() == 0  # a library call leaves the heap alone
        with models.freezing_heap_after_loads():
            assert models.resolve_model(None) is loaded
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
