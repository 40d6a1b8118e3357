"""The on-disk cache of compiled constraints: hits and misses, what the key covers, where it
lives, concurrent writers, an unwritable cache, and the ``structgen cache`` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

import structgen
from structgen.cli.main import main
from structgen.runtime import cache as disk_cache
from structgen.runtime.compiled import CompiledGrammar
from tests.helpers.real_vocabs import real_vocab_path
from tests.helpers.synthetic_vocab import synthetic_vocabulary
from tests.runtime.walks import assert_same_masks

VOCAB = synthetic_vocabulary()
REPOSITORY = Path(__file__).resolve().parents[2]


def _entries(root: Path) -> list[Path]:
    return sorted((root / "compiled").glob("*.sgc"))


def test_regex_miss_then_hit(tmp_path):
    first = structgen.compile_regex(r"[a-c]+\d?", VOCAB, cache_dir=tmp_path)
    second = structgen.compile_regex(r"[a-c]+\d?", VOCAB, cache_dir=tmp_path)
    assert not first.from_cache and second.from_cache
    assert second.source == first.source and len(_entries(tmp_path)) == 1
    assert_same_masks(first, second)


def test_cache_false_neither_reads_nor_writes(tmp_path):
    structgen.compile_regex("ab", VOCAB, cache=False, cache_dir=tmp_path)
    assert not (tmp_path / "compiled").exists()
    structgen.compile_regex("ab", VOCAB, cache_dir=tmp_path)
    assert not structgen.compile_regex("ab", VOCAB, cache=False, cache_dir=tmp_path).from_cache


@pytest.mark.parametrize(
    "options",
    [{"max_states": 50}, {"max_nfa_states": 10_000}, {"max_regex_work": 10**7}],
)
def test_the_key_covers_every_limit(tmp_path, options):
    structgen.compile_regex("a+b", VOCAB, cache_dir=tmp_path)
    assert not structgen.compile_regex("a+b", VOCAB, cache_dir=tmp_path, **options).from_cache
    assert len(_entries(tmp_path)) == 2


def test_the_key_covers_the_vocabulary_and_the_constraint(tmp_path):
    structgen.compile_regex("a+b", VOCAB, cache_dir=tmp_path)
    other = synthetic_vocabulary(padding=5)
    assert not structgen.compile_regex("a+b", other, cache_dir=tmp_path).from_cache
    assert not structgen.compile_regex("a+c", VOCAB, cache_dir=tmp_path).from_cache
    assert len(_entries(tmp_path)) == 3


def test_the_key_covers_version_format_and_code(monkeypatch):
    key = disk_cache.cache_key("regex", "a", {}, "v")
    monkeypatch.setattr(disk_cache, "__version__", "9.9.9")
    assert disk_cache.cache_key("regex", "a", {}, "v") != key
    monkeypatch.undo()
    monkeypatch.setattr(disk_cache, "FORMAT_VERSION", 99)
    assert disk_cache.cache_key("regex", "a", {}, "v") != key
    monkeypatch.undo()
    monkeypatch.setattr(disk_cache, "code_digest", lambda: "edited")
    assert disk_cache.cache_key("regex", "a", {}, "v") != key
    monkeypatch.undo()
    assert disk_cache.cache_key("grammar", "a", {}, "v") != key
    assert disk_cache.cache_key("regex", "a", {}, "v") == key


def test_code_digest_follows_the_sources(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub" / "__pycache__").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.py").write_text("y = 2\n")
    first = disk_cache.sources_digest(package)
    (package / "sub" / "__pycache__" / "b.cpython.pyc").write_bytes(b"compiled")
    (package / "notes.txt").write_text("not code")
    assert disk_cache.sources_digest(package) == first
    (package / "sub" / "b.py").write_text("y = 3\n")
    assert disk_cache.sources_digest(package) != first
    (package / "sub" / "b.py").write_text("y = 2\n")
    (package / "sub" / "b.py").rename(package / "sub" / "c.py")  # a moved file counts too
    assert disk_cache.sources_digest(package) != first
    assert disk_cache.code_digest() == disk_cache.sources_digest(Path(structgen.__file__).parent)


def test_default_location_is_structgen_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(tmp_path / "root"))
    structgen.compile_regex("xy+", VOCAB)
    assert len(_entries(tmp_path / "root")) == 1
    assert structgen.compile_regex("xy+", VOCAB).from_cache


def test_an_unwritable_cache_is_skipped_and_still_read(tmp_path, monkeypatch):
    structgen.compile_regex("ab+", VOCAB, cache_dir=tmp_path)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    assert structgen.compile_regex("ab+", VOCAB, cache_dir=tmp_path).from_cache
    compiled = structgen.compile_regex("cd+", VOCAB, cache_dir=tmp_path)  # compiles, not cached
    assert not compiled.from_cache and len(_entries(tmp_path)) == 1
    monkeypatch.undo()
    assert_same_masks(compiled, structgen.compile_regex("cd+", VOCAB, cache=False))


def test_a_read_only_directory_is_skipped(tmp_path):
    # Root ignores permission bits, so the cache folder is made impossible instead: its parent
    # is a regular file. Compiling works; nothing is written anywhere.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    for _ in range(2):
        assert not structgen.compile_regex("ab+", VOCAB, cache_dir=blocker).from_cache
    assert blocker.read_text() == "x" and sorted(tmp_path.iterdir()) == [blocker]


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from structgen.runtime import cache
    key, blob_file, directory, rounds = sys.argv[1:]
    blob = Path(blob_file).read_bytes()
    for _ in range(int(rounds)):
        cache.write_entry(key, blob, Path(directory))
    """
)


def test_concurrent_writers_leave_a_whole_entry(tmp_path):
    compiled = structgen.compile_regex(r"[a-z]{1,8}(,[a-z]{1,8})*", VOCAB, cache=False)
    options = {"max_states": 100_000}
    key = disk_cache.cache_key("regex", "shared", options, VOCAB.fingerprint)
    directory = tmp_path / "compiled"
    blobs = []
    for index in range(2):  # two writers, different bytes (compile times) under one key
        blob_file = tmp_path / f"blob{index}"
        blob_file.write_bytes(
            CompiledGrammar(compiled.automaton, f"writer {index}", float(index)).to_bytes()
        )
        blobs.append(blob_file)
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, key, str(blob), str(directory), "300"], env=env
        )
        for blob in blobs
    ]
    seen = set()
    while any(writer.poll() is None for writer in writers):
        data = disk_cache.read_entry(key, directory)
        if data is not None:
            seen.add(CompiledGrammar.from_bytes(data, VOCAB).source)  # always whole
    assert all(writer.wait(timeout=300) == 0 for writer in writers)
    final = CompiledGrammar.from_bytes(disk_cache.read_entry(key, directory), VOCAB)
    assert final.source in {"writer 0", "writer 1"} and seen <= {"writer 0", "writer 1"}
    assert_same_masks(compiled, final)
    assert [p.suffix for p in directory.iterdir()] == [".sgc"]  # no temporary file left


def test_two_processes_compiling_at_once(tmp_path):
    # Every step runs in a fresh process (keys made from the same sources at the same time);
    # the third process reads what the two concurrent ones wrote.
    code = (
        "import structgen, sys\n"
        "from tests.helpers.synthetic_vocab import synthetic_vocabulary\n"
        "c = structgen.compile_regex(r'(\\w+@)?[a-z]{2,9}', synthetic_vocabulary(),"
        " cache_dir=sys.argv[1])\n"
        "masks = structgen.allocate_token_bitmask(1, c.vocab_size)\n"
        "c.matcher().fill_next_token_bitmask(masks)\n"
        "print(c.from_cache, masks[0].tolist())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)],
            env=env,
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            text=True,
        )

    runs = [start() for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    third = start()
    output = third.communicate(timeout=300)[0]
    assert third.returncode == 0 and output.startswith("True ")
    fresh = structgen.compile_regex(r"(\w+@)?[a-z]{2,9}", VOCAB, cache=False)
    masks = structgen.allocate_token_bitmask(1, fresh.vocab_size)
    fresh.matcher().fill_next_token_bitmask(masks)
    assert {line.split(" ", 1)[1] for line in [*outputs, output]} == {f"{masks[0].tolist()}\n"}
    assert len(_entries(tmp_path)) == 1


def test_info_and_clear(tmp_path):
    directory = tmp_path / "compiled"
    assert disk_cache.info(directory).entries == 0  # absent: nothing, no error
    structgen.compile_regex("a", VOCAB, cache_dir=tmp_path)
    structgen.compile_regex("b", VOCAB, cache_dir=tmp_path)
    (directory / "old-format.npz").write_bytes(b"x")
    (directory / "notes.txt").write_text("not ours")
    found = disk_cache.info(directory)
    assert found.entries == 3 and found.bytes == sum(
        p.stat().st_size for p in directory.iterdir() if p.suffix != ".txt"
    )
    assert disk_cache.clear(directory) == 3
    assert [p.name for p in directory.iterdir()] == ["notes.txt"]
    assert not structgen.compile_regex("a", VOCAB, cache_dir=tmp_path).from_cache


def test_cli_cache_info_and_clear(tmp_path, capsys):
    structgen.compile_regex("a+", VOCAB, cache_dir=tmp_path)
    assert main(["cache", "info", "--cache-dir", str(tmp_path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["entries"] == 1 and shown["directory"] == str(tmp_path / "compiled")
    assert shown["bytes"] == _entries(tmp_path)[0].stat().st_size
    assert main(["cache", "info", "--cache-dir", str(tmp_path)]) == 0
    assert "entries    1" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache-dir", str(tmp_path)]) == 0
    assert "removed 1 file from" in capsys.readouterr().out
    assert _entries(tmp_path) == []


def test_cli_cache_uses_structgen_cache_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(tmp_path))
    structgen.compile_regex("q+", VOCAB)
    assert main(["cache", "clear", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "directory": str(tmp_path / "compiled"),
        "removed": 1,
    }


def test_cli_compile_out_writes_loadable_bytes(tmp_path, capsys):
    from structgen.vocab import Vocabulary

    gguf = real_vocab_path("gpt2")
    out = tmp_path / "date.sgc"
    argv = ["compile", "--regex", r"\d{4}-\d{2}", "--tokenizer", str(gguf), "--no-cache"]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["out_bytes"] == out.stat().st_size
    vocab = Vocabulary.from_gguf(gguf)
    loaded = CompiledGrammar.load(out, vocab)
    assert_same_masks(structgen.compile_regex(r"\d{4}-\d{2}", vocab, cache=False), loaded)
    assert main([*argv, "--out", str(tmp_path / "missing" / "x.sgc")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_a_hit_is_fast(tmp_path, llama3_vocab):
    import time

    pattern = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}"
    structgen.compile_regex(pattern, llama3_vocab, cache_dir=tmp_path)
    started = time.perf_counter()
    hit = structgen.compile_regex(pattern, llama3_vocab, cache_dir=tmp_path)
    elapsed = time.perf_counter() - started
    assert hit.from_cache and hit.compile_seconds <= elapsed
    assert elapsed < 0.5  # milliseconds when the machine is idle; generous for a shared one
    masks = structgen.allocate_token_bitmask(1, hit.vocab_size)
    hit.matcher().fill_next_token_bitmask(masks)
    assert np.count_nonzero(masks) > 0
