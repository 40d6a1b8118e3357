"""Issue 10, findings 4 and 13: the compile cache is read back, never trusted.

Faults: truncated and byte-flipped entries, forged arrays (with and without a recomputed
checksum), another key's entry, a file where the cache directory should be, writes that fail
half way, and a numba kernel module whose cache locations cannot be written. Each later compile
must behave exactly like a compile without the cache, and a damaged entry is rewritten.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import structgen
from structgen.engines.dfa.token_dfa import TokenDFA
from structgen.runtime import serialize
from tests.helpers.synthetic_vocab import synthetic_vocabulary

VOCAB = synthetic_vocabulary()
PATTERN = r"ab+c?"
KERNELS = Path(structgen.__file__).parent / "kernels" / "numba_cpu.py"


def _fresh():
    return structgen.compile_regex(PATTERN, VOCAB, cache=False).automaton


def _same_as_fresh(compiled) -> None:
    fresh, got = _fresh(), compiled.automaton
    assert np.array_equal(fresh.dfa.transitions, got.dfa.transitions)
    assert np.array_equal(fresh.dfa.accepting, got.dfa.accepting)
    for state in range(fresh.num_states):
        assert np.array_equal(fresh.mask(state), got.mask(state))
    matcher = compiled.matcher()
    assert not matcher.is_accepting()  # the empty output is not in the language


def _entry(directory: Path) -> Path:
    (path,) = (directory / "compiled").glob("*.sgc")
    return path


def _compile(directory: Path):
    return structgen.compile_regex(PATTERN, VOCAB, cache_dir=directory)


@pytest.fixture
def cached(tmp_path):
    first = _compile(tmp_path)
    assert not first.from_cache and _compile(tmp_path).from_cache
    return tmp_path


def _rewritten(directory: Path) -> None:
    again = _compile(directory)
    assert again.from_cache  # the damaged entry was replaced by a good one
    _same_as_fresh(again)
    assert not list((directory / "compiled").glob("*.tmp"))


@pytest.mark.parametrize("keep", [0, 1, 22, 100, 400, -1])
def test_truncated_entry_is_a_miss_and_is_rewritten(cached, keep):
    path = _entry(cached)
    data = path.read_bytes()
    path.write_bytes(data[: keep if keep >= 0 else len(data) - 1])
    compiled = _compile(cached)
    assert not compiled.from_cache
    _same_as_fresh(compiled)
    _rewritten(cached)


def test_every_flipped_byte_is_caught_or_harmless(cached):
    path = _entry(cached)
    data = path.read_bytes()
    for position in range(0, len(data), max(1, len(data) // 97)):
        damaged = bytearray(data)
        damaged[position] ^= 0x5A
        path.write_bytes(bytes(damaged))
        _same_as_fresh(_compile(cached))  # read as it was, or a miss: never a different automaton
        path.write_bytes(data)


def _forge(cached: Path, edit, *, redigest: bool, monkeypatch) -> None:
    """Rewrite the entry with its arrays edited; with ``redigest`` its checksum is recomputed,
    else the old checksum stays (a blob whose bytes changed under it)."""
    path = _entry(cached)
    key, blob = path.read_bytes().split(b"\n", 1)
    loaded = serialize.load_automaton(blob, VOCAB)
    meta, arrays = loaded.automaton.to_payload()
    arrays = {name: array.copy() for name, array in arrays.items()}
    edit(arrays)
    monkeypatch.setitem(
        serialize.ENGINES, "regex", (lambda _: (meta, arrays), TokenDFA.from_payload)
    )
    forged = serialize.dump_automaton(loaded.automaton, loaded.info)
    monkeypatch.undo()
    if not redigest:
        forged = forged[: -len(blob[-32:])] + blob[-32:]
    path.write_bytes(key + b"\n" + forged)


def _accept_everywhere(arrays):
    arrays["accepting"][:] = True


def _allow_eos_everywhere(arrays):
    arrays["accepting"][:] = True
    eos = VOCAB.eos_ids[0]
    arrays["mask_rows"][:, eos >> 5] |= np.int32(1) << np.int32(eos & 31)


FORGERIES = {
    "accept everywhere": _accept_everywhere,
    "accept everywhere, EOS in every mask": _allow_eos_everywhere,
    "state_mask out of range": lambda a: a["state_mask"].__setitem__(0, 10**6),
    "negative state_mask": lambda a: a["state_mask"].__setitem__(0, -5),
    "transition out of range": lambda a: a["transitions"].__setitem__((0, 97), 10**6),
    "transitions as int64": lambda a: a.__setitem__(
        "transitions", a["transitions"].astype(np.int64)
    ),
    "too few accepting flags": lambda a: a.__setitem__("accepting", a["accepting"][:1]),
    "mask rows too narrow": lambda a: a.__setitem__("mask_rows", a["mask_rows"][:, :1]),
    "tokens past the vocabulary": lambda a: a["mask_rows"].__setitem__((slice(None), -1), -1),
    "a missing array": lambda a: a.pop("mask_rows"),
    "an extra array": lambda a: a.__setitem__("extra", np.zeros(3)),
}


# Every forgery with the digest left stale, and those that break an invariant with the digest
# recomputed. (Accepting states that also allow EOS, digest recomputed, is consistent with
# itself: only recompiling the pattern could tell. The digest guards against damage and edits
# made without recomputing it; a cache directory others may write is not a trust boundary.)
CASES = [(name, False) for name in sorted(FORGERIES)] + [
    (name, True) for name in sorted(FORGERIES) if name != "accept everywhere, EOS in every mask"
]


@pytest.mark.parametrize(("name", "redigest"), CASES)
def test_forged_arrays_are_a_miss(cached, name, redigest, monkeypatch):
    _forge(cached, FORGERIES[name], redigest=redigest, monkeypatch=monkeypatch)
    compiled = _compile(cached)
    assert not compiled.from_cache
    _same_as_fresh(compiled)
    _rewritten(cached)


def test_entry_replaced_by_other_files_is_a_miss(cached):
    path = _entry(cached)
    for content in (b"", b"not numpy at all", None):
        if content is None:
            with path.open("wb") as stream:
                np.save(stream, np.ones(3))  # a numpy file where an entry belongs
        else:
            path.write_bytes(content)
        compiled = _compile(cached)
        assert not compiled.from_cache
        _same_as_fresh(compiled)
    path.unlink()
    path.mkdir()  # a directory named like the entry
    _same_as_fresh(_compile(cached))


def test_another_keys_entry_is_a_miss(tmp_path):
    other = structgen.compile_regex("x+", VOCAB, cache_dir=tmp_path)
    (source,) = (tmp_path / "compiled").glob("*.sgc")
    _compile(tmp_path)
    target = next(p for p in (tmp_path / "compiled").glob("*.sgc") if p != source)
    target.write_bytes(source.read_bytes())  # a whole, valid entry under the wrong name
    compiled = _compile(tmp_path)
    assert not compiled.from_cache and other.from_cache is False
    _same_as_fresh(compiled)
    _rewritten(tmp_path)


def test_unwritable_cache_location_still_compiles(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    for _ in range(2):
        compiled = structgen.compile_regex(PATTERN, VOCAB, cache_dir=blocker)
        assert not compiled.from_cache
        _same_as_fresh(compiled)


def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", disk_full)
    _same_as_fresh(_compile(tmp_path))
    assert list((tmp_path / "compiled").iterdir()) == []
    monkeypatch.setattr(os, "replace", disk_full)
    monkeypatch.undo()
    monkeypatch.setattr(os, "replace", disk_full)
    _same_as_fresh(_compile(tmp_path))
    assert list((tmp_path / "compiled").iterdir()) == []


def test_kernels_import_where_numba_cannot_cache(tmp_path):
    # Neither numba locator can write: the module's own __pycache__ and NUMBA_CACHE_DIR are both
    # paths below a regular file (root ignores permission bits, so a file is what blocks it).
    folder = tmp_path / "installed"
    folder.mkdir()
    shutil.copy(KERNELS, folder / "numba_cpu.py")
    (folder / "__pycache__").write_text("not a directory")
    blocked = tmp_path / "home"
    blocked.write_text("not a directory")
    copy = str(folder / "numba_cpu.py")
    code = (
        "import importlib.util, numpy as np\n"
        f"spec = importlib.util.spec_from_file_location('kernels_copy', {copy!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(module.subtree_ends(np.array([0, 1, 2, 1], np.int32)).tolist())\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(blocked / "numba"), "HOME": str(blocked)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["[4,", "3,", "3,", "4]"]
