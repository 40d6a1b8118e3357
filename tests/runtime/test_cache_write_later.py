"""The compiled-schema cache entry is encoded and written by a background thread: it appears,
whole, and loads; readers in the process wait for it; a process that exits right after
compiling still leaves it; a process killed mid-write leaves no entry (only, at worst, a
temporary file) and the next compile is a plain miss."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import structgen
from structgen.runtime import cache as disk_cache
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.serialize import Snapshot
from tests.helpers.synthetic_vocab import synthetic_vocabulary
from tests.runtime.walks import assert_same_masks

VOCAB = synthetic_vocabulary()
SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "string", "maxLength": 5}},
    "required": ["b"],
}
REPOSITORY = Path(__file__).resolve().parents[2]


def _entries(root: Path) -> list[Path]:
    return sorted((root / "compiled").glob("*.sgc"))


def test_the_entry_appears_and_loads(tmp_path):
    compiled = structgen.compile_json_schema(SCHEMA, VOCAB, cache_dir=tmp_path)
    assert not compiled.from_cache
    assert disk_cache.wait_for_writes(timeout=60)
    (entry,) = _entries(tmp_path)
    key, _, blob = entry.read_bytes().partition(b"\n")
    assert entry.name == key.decode("ascii") + disk_cache.SUFFIX
    loaded = CompiledGrammar.from_bytes(blob, VOCAB)
    assert loaded.source == "json schema" and loaded.warnings == compiled.warnings
    assert assert_same_masks(compiled, loaded) > 0
    hit = structgen.compile_json_schema(SCHEMA, VOCAB, cache_dir=tmp_path)
    assert hit.from_cache
    assert_same_masks(structgen.compile_json_schema(SCHEMA, VOCAB, cache=False), hit)


def test_the_entry_holds_the_engine_as_compiled(tmp_path, monkeypatch):
    """Decoding goes on while the write waits: the entry is the state taken at compile time
    (byte for byte what ``to_bytes`` gave then), not a mix of before and after."""
    release = threading.Event()
    encode = Snapshot.to_bytes

    def slow(self: Snapshot) -> bytes:
        release.wait(30)
        return encode(self)

    monkeypatch.setattr(Snapshot, "to_bytes", slow)
    compiled = structgen.compile_json_schema(SCHEMA, VOCAB, cache_dir=tmp_path)
    monkeypatch.setattr(Snapshot, "to_bytes", encode)
    expected = compiled.to_bytes()
    assert assert_same_masks(compiled, compiled) > 0  # builds more lexer states and walks
    assert compiled.to_bytes() != expected  # the engine did change meanwhile
    release.set()
    assert disk_cache.wait_for_writes(timeout=60)
    (entry,) = _entries(tmp_path)
    assert entry.read_bytes().partition(b"\n")[2] == expected


def test_a_read_waits_for_the_pending_write(tmp_path, monkeypatch):
    release = threading.Event()
    encode = Snapshot.to_bytes

    def slow(self: Snapshot) -> bytes:
        release.wait(30)
        return encode(self)

    monkeypatch.setattr(Snapshot, "to_bytes", slow)
    structgen.compile_json_schema(SCHEMA, VOCAB, cache_dir=tmp_path)
    assert _entries(tmp_path) == []  # still encoding
    threading.Timer(0.2, release.set).start()
    assert structgen.compile_json_schema(SCHEMA, VOCAB, cache_dir=tmp_path).from_cache


def _run(code: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "STRUCTGEN_CACHE_DIR": str(cache), "PYTHONPATH": str(REPOSITORY)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


_COMPILE = """
    import os, structgen
    from tests.helpers.synthetic_vocab import synthetic_vocabulary
    from structgen.runtime.serialize import Snapshot
    vocab = synthetic_vocabulary()
    SETUP
    compiled = structgen.compile_json_schema(SCHEMA, vocab)
    print(compiled.from_cache)
    AFTER
""".replace("SCHEMA", repr(SCHEMA))


def _program(setup: str = "", after: str = "") -> str:
    return _COMPILE.replace("SETUP", setup).replace("AFTER", after)


def test_a_process_that_exits_at_once_leaves_the_entry(tmp_path):
    # The encoding is held half a second: the interpreter's exit waits for it.
    setup = (
        "import time; encode = Snapshot.to_bytes; "
        "Snapshot.to_bytes = lambda self: time.sleep(0.5) or encode(self)"
    )
    done = _run(_program(setup), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]
    (entry,) = _entries(tmp_path)
    blob = entry.read_bytes().partition(b"\n")[2]
    assert CompiledGrammar.from_bytes(blob, VOCAB).kind == "grammar"
    again = _run(_program(), tmp_path)
    assert again.stdout.split() == ["True"], again.stderr


def test_a_process_killed_mid_write_leaves_no_entry(tmp_path):
    # The write is held in its encoding, then the process ends without any clean-up.
    setup = "import threading; Snapshot.to_bytes = lambda self: threading.Event().wait() or b''"
    killed = _run(_program(setup, "os._exit(0)"), tmp_path)
    assert killed.returncode == 0, killed.stderr
    assert _entries(tmp_path) == []
    leftovers = list((tmp_path / "compiled").glob("*")) if (tmp_path / "compiled").exists() else []
    assert all(path.suffix == ".tmp" for path in leftovers)
    again = _run(_program(), tmp_path)
    assert again.stdout.split() == ["False"], again.stderr  # a plain miss, then written
    assert len(_entries(tmp_path)) == 1
