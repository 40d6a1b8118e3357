"""One compiled constraint shared by many matchers across threads (issue 13, part 7).

Oracle: the same constraint compiled again and driven on one thread. Random valid token
sequences are drawn from that reference (a seeded random allowed token per step, an
end-of-sequence token now and then once the text is complete) and every mask along them is
recorded. Then a cold copy of the constraint (compiled without the cache, so its lazy state
grows while the threads run) is shared by many threads, each driving its own matchers along
those sequences — with forks and rollbacks on the way — and every mask, ``accepts``,
``advance`` and ``is_accepting`` answer is compared with the reference. The interpreter is
told to switch threads as often as it can, so that unlocked shared state would be caught
mid-update (without ``engines.cfg.engine.GROWTH_LOCK`` this test fails within a few rounds:
wrong masks, valid tokens refused, numpy errors).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from structgen.bitmask import allocate_token_bitmask
from structgen.kernels.numpy_ref import unpack_bitmask
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.compiler import compile_grammar, compile_json_schema, compile_regex
from structgen.vocab import Vocabulary
from tests.helpers.vocab_fixtures import gguf_vocab

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}},
        "kind": {"enum": ["alpha", "beta", "gamma delta"]},
        "score": {"type": "number"},
    },
    "required": ["name", "age"],
}
GRAMMAR = r"""
start: call (";" call)*
call: NAME "(" [arg ("," arg)*] ")"
arg: NUMBER | ESCAPED_STRING | call
NAME: /[a-z_][a-z0-9_]*/
%import common.NUMBER
%import common.ESCAPED_STRING
%import common.WS
%ignore WS
"""
REGEX = r"(\d{3}-){1,3}[A-Z][a-z]{2,8}( [a-z]+)*"

COMPILERS: dict[str, Callable[[Vocabulary], CompiledGrammar]] = {
    "schema": lambda vocab: compile_json_schema(SCHEMA, vocab, cache=False),
    "grammar": lambda vocab: compile_grammar(GRAMMAR, vocab, precompute=False, cache=False),
    "regex": lambda vocab: compile_regex(REGEX, vocab, cache=False),
}
THREADS = 8
PATHS_PER_THREAD = 2
MAX_STEPS = 40


@dataclass(frozen=True)
class Path:
    """A token sequence the constraint allows and, per position, the reference's answers."""

    tokens: list[int]
    masks: list[np.ndarray]  # the mask before each token (and one after the last)
    accepting: list[bool]


def reference_paths(compiled: CompiledGrammar, count: int, seed: int) -> list[Path]:
    """``count`` random allowed token sequences, driven on this thread alone."""
    rng = np.random.default_rng(seed)
    vocab_size = compiled.vocab_size
    bitmask = allocate_token_bitmask(1, vocab_size)
    eos = list(compiled.vocab.eos_ids)
    paths = []
    for _ in range(count):
        matcher = compiled.matcher()
        tokens, masks, accepting = [], [], []
        while True:
            matcher.fill_next_token_bitmask(bitmask, 0)
            masks.append(bitmask[0].copy())
            accepting.append(matcher.is_accepting())
            allowed = np.flatnonzero(unpack_bitmask(bitmask, vocab_size)[0])
            if matcher.is_terminated() or len(allowed) == 0 or len(tokens) == MAX_STEPS:
                break
            ending = [t for t in eos if t in set(allowed.tolist())]
            token = int(ending[0] if ending and rng.random() < 0.3 else rng.choice(allowed))
            assert matcher.advance(token)
            tokens.append(token)
        paths.append(Path(tokens, masks, accepting))
    return paths


def drive(compiled: CompiledGrammar, path: Path, seed: int) -> Iterator[str]:
    """Follow ``path`` with a new matcher of ``compiled``; yield every disagreement with the
    reference. Every few steps a fork is advanced and dropped, or the matcher rolls back one
    token and takes it again, so histories are shared and undone while others work."""
    rng = np.random.default_rng(seed)
    matcher = compiled.matcher()
    bitmask = allocate_token_bitmask(1, compiled.vocab_size)
    for step, expected in enumerate(path.masks):
        matcher.fill_next_token_bitmask(bitmask, 0)
        if not np.array_equal(bitmask[0], expected):
            yield f"mask {step}"
        if matcher.is_accepting() != path.accepting[step]:
            yield f"is_accepting {step}"
        if step == len(path.tokens):
            return
        token = path.tokens[step]
        if not matcher.accepts(token):
            yield f"accepts {step}"
        if rng.random() < 0.2:
            twin = matcher.fork()
            if not twin.advance(token):
                yield f"fork advance {step}"
        if not matcher.advance(token):
            yield f"advance {step}"
            return
        if rng.random() < 0.2:
            matcher.rollback(1)
            if not matcher.advance(token):
                yield f"advance after rollback {step}"
                return


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """The interpreter switches threads every microsecond (then as it was)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def run_threads(jobs: list[Callable[[], list[str]]]) -> list[str]:
    """Start every job at once (a barrier), one thread each; every failure and exception."""
    barrier = threading.Barrier(len(jobs))
    failures: list[str] = []

    def worker(job: Callable[[], list[str]]) -> None:
        barrier.wait()
        try:
            failures.extend(job())
        except Exception as error:  # reported, compared below: the test names it
            failures.append(repr(error))

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return gguf_vocab("smollm2")


@pytest.fixture(scope="module")
def references(vocab: Vocabulary) -> dict[str, list[Path]]:
    return {
        kind: reference_paths(compile(vocab), THREADS * PATHS_PER_THREAD, seed=13)
        for kind, compile in COMPILERS.items()
    }


def test_the_reference_paths_are_long_and_varied(references):
    """The oracle's own check: the sequences go somewhere and differ from one another."""
    for kind, paths in references.items():
        assert sum(len(p.tokens) for p in paths) > 5 * len(paths), kind
        assert len({tuple(p.tokens) for p in paths}) == len(paths), kind
    ended = sum(p.accepting[-1] for paths in references.values() for p in paths)
    assert ended > 0, "some sequences reach a complete text"


@pytest.mark.parametrize("kind", sorted(COMPILERS))
@pytest.mark.parametrize("round_", range(3))
def test_one_compiled_constraint_shared_by_many_threads(
    kind, round_, vocab, references, frequent_switches
):
    shared = COMPILERS[kind](vocab)  # cold: its lazy state grows while the threads run
    paths = references[kind]

    def job(thread: int) -> Callable[[], list[str]]:
        mine = paths[thread * PATHS_PER_THREAD : (thread + 1) * PATHS_PER_THREAD]
        return lambda: [
            f"path {thread}.{i}: {failure}"
            for i, path in enumerate(mine)
            for failure in drive(shared, path, seed=round_ * 100 + thread)
        ]

    assert run_threads([job(thread) for thread in range(THREADS)]) == []


def test_different_constraints_on_different_threads_at_once(vocab, references, frequent_switches):
    """Engines of one process share walks and terminal automata: two cold schemas, a cold
    grammar and a regex, all driven at once."""
    compiled = {kind: COMPILERS[kind](vocab) for kind in COMPILERS}
    twin_schema = COMPILERS["schema"](vocab)
    jobs = []
    for thread in range(THREADS):
        kind = sorted(COMPILERS)[thread % len(COMPILERS)]
        target = twin_schema if kind == "schema" and thread % 2 else compiled[kind]
        path = references[kind][thread]
        jobs.append(lambda t=target, p=path, s=thread: list(drive(t, p, seed=s)))
    assert run_threads(jobs) == []
