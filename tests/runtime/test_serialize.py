"""The byte form of compiled regexes: round trips bit for bit, and every bad blob is refused by
name (``SerializationError``), never a crash and never a different automaton."""

from __future__ import annotations

import os
import pickle
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import structgen
from structgen.engines.dfa.token_dfa import TokenDFA
from structgen.errors import SerializationError, StructgenError
from structgen.runtime import serialize
from structgen.runtime.compiled import CompiledGrammar
from structgen.vocab import Vocabulary
from tests.helpers.regex_strategies import regexes
from tests.helpers.synthetic_vocab import synthetic_vocabulary
from tests.runtime.walks import assert_same_masks

VOCAB = synthetic_vocabulary()

# Regexes of the suite's regex tables: classes, counted repeats, UTF-8, alternation, anchors
# of a full match, a dead-ending class, the empty language's neighbours.
PATTERNS = [
    r"ab+c?",
    r"[a-c]+\d?",
    r"[a-z]{1,4}@\d+",
    r"abc(d|e)",
    r"日本",
    r"(xy|é)*[0-9]{2,5}",
    r"\w+(\s\w+)*",
    r"(?i)hello|world",
    r"[^a]{3}",
    r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?",
    r'"([^"\\]|\\.)*"',
    r"a{0,30}",
    r"",
    r"😀+.",
]


def _compile(pattern: str, vocab: Vocabulary = VOCAB, **options) -> CompiledGrammar:
    return structgen.compile_regex(pattern, vocab, cache=False, **options)


def _same_automaton(first: CompiledGrammar, second: CompiledGrammar) -> None:
    a, b = first.automaton, second.automaton
    assert np.array_equal(a.dfa.transitions, b.dfa.transitions)
    assert np.array_equal(a.dfa.accepting, b.dfa.accepting)
    for state in range(a.num_states):
        assert np.array_equal(a.mask(state), b.mask(state))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_regex_round_trip_bit_for_bit(pattern):
    compiled = _compile(pattern)
    blob = compiled.to_bytes()
    restored = CompiledGrammar.from_bytes(blob, VOCAB)
    assert restored.kind == "regex" and restored.source == compiled.source
    assert restored.to_bytes() == blob  # the byte form is a fixed point
    _same_automaton(compiled, restored)
    assert assert_same_masks(compiled, restored) > 0


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(regexes())
def test_random_regexes_round_trip(pattern):
    compiled = _compile(pattern)
    restored = CompiledGrammar.from_bytes(compiled.to_bytes(), VOCAB)
    _same_automaton(compiled, restored)
    assert_same_masks(compiled, restored, walks=3, steps=12)


def test_lazily_masked_regex_keeps_what_it_computed():
    compiled = _compile(r"[a-z]{2,6}(-[0-9]+)*", eager_mask_bytes=0)
    matcher = compiled.matcher()
    masks = structgen.allocate_token_bitmask(1, compiled.vocab_size)
    for token in b"ab-1":
        matcher.fill_next_token_bitmask(masks)  # computes this state's mask
        assert matcher.advance(token)
    state_mask = compiled.automaton.state_mask
    assert (state_mask == -1).any() and (state_mask >= 0).any()
    restored = CompiledGrammar.from_bytes(compiled.to_bytes(), VOCAB)
    assert np.array_equal(restored.automaton.state_mask, state_mask)
    assert_same_masks(compiled, restored)
    assert_same_masks(_compile(r"[a-z]{2,6}(-[0-9]+)*"), restored, seed=1)


def test_masks_compress(llama3_vocab):
    compiled = _compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", llama3_vocab)
    rows = compiled.automaton.masks.to_arrays()["mask_rows"]
    blob = compiled.to_bytes()
    assert len(blob) * 20 < rows.nbytes  # mostly-zero rows deflate
    restored = CompiledGrammar.from_bytes(blob, llama3_vocab)
    assert_same_masks(compiled, restored, walks=3, steps=12)


def test_save_and_load(tmp_path):
    compiled = _compile(r"(ab|c)+")
    path = tmp_path / "constraint.sgc"
    compiled.save(path)
    assert path.read_bytes() == compiled.to_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["constraint.sgc"]  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not a 0600 one
    assert_same_masks(compiled, CompiledGrammar.load(path, VOCAB))


def test_pickle_goes_through_the_byte_form():
    compiled = _compile(r"[a-c]+\d?")
    data = pickle.dumps(compiled)
    assert b"TokenDFA" not in data and b"numpy" not in data  # no engine object, no array pickle
    restored = pickle.loads(data)
    assert isinstance(restored, CompiledGrammar) and restored.vocab == VOCAB
    assert_same_masks(compiled, restored)
    # Constraints sharing a vocabulary pickle it once.
    both = pickle.dumps([compiled, _compile("x+")])
    assert len(both) < len(data) + len(pickle.dumps(VOCAB)) // 2 + 4096


def test_pickle_across_processes(tmp_path):
    import multiprocessing

    compiled = _compile(r"(ab|c)+d")
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result = pool.apply(_allowed_at_start, (compiled,))
    matcher = compiled.matcher()
    masks = structgen.allocate_token_bitmask(1, compiled.vocab_size)
    matcher.fill_next_token_bitmask(masks)
    assert result == masks[0].tolist()


def _allowed_at_start(compiled: CompiledGrammar) -> list[int]:
    masks = structgen.allocate_token_bitmask(1, compiled.vocab_size)
    compiled.matcher().fill_next_token_bitmask(masks)
    return masks[0].tolist()


# -- bad blobs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blob() -> bytes:
    return _compile(r"[a-z]{1,4}@\d+").to_bytes()


def _refused(data, vocab: Vocabulary = VOCAB, match: str | None = None) -> SerializationError:
    with pytest.raises(SerializationError, match=match) as caught:
        CompiledGrammar.from_bytes(data, vocab)
    assert isinstance(caught.value, StructgenError) and isinstance(caught.value, ValueError)
    return caught.value


def test_every_truncation_is_refused(blob):
    for keep in range(len(blob)):
        _refused(blob[:keep])
    _refused(blob[: len(blob) - 1], match="truncated")
    _refused(blob + b"\0", match="trailing")


def test_every_flipped_byte_is_refused(blob):
    for position in range(len(blob)):
        damaged = bytearray(blob)
        damaged[position] ^= 0x41
        _refused(bytes(damaged))
    middle = bytearray(blob)
    middle[len(blob) // 2] ^= 1
    _refused(bytes(middle), match="checksum")


@pytest.mark.parametrize(
    "data",
    [b"", b"\x89SG", b"PK\x03\x04 a zip file", b"not a constraint at all" * 5, "text", None],
)
def test_foreign_data_is_refused(data):
    _refused(data)


def test_a_text_mode_copy_is_refused(blob):
    _refused(blob.replace(b"\r\n", b"\n"), match="magic")


def test_another_format_version_is_refused(blob):
    changed = bytearray(blob)
    struct.pack_into("<H", changed, len(serialize.MAGIC), serialize.FORMAT_VERSION + 1)
    _refused(bytes(changed), match=f"format version {serialize.FORMAT_VERSION + 1}")


def test_another_structgen_version_is_refused(monkeypatch):
    monkeypatch.setattr(serialize, "__version__", "0.0.0-other")
    data = _compile("ab").to_bytes()
    monkeypatch.undo()
    _refused(data, match="written by structgen 0.0.0-other")


def test_a_vocabulary_is_required(blob):
    with pytest.raises(
        structgen.errors.ConfigurationError, match="expected the structgen.Vocabulary"
    ):
        CompiledGrammar.from_bytes(blob, VOCAB.token_bytes)  # type: ignore[arg-type]


def test_another_vocabulary_is_refused(blob):
    other = Vocabulary([bytes([b]) for b in range(256)], name="bytes")
    error = _refused(blob, other, match="another vocabulary")
    assert "bytes" in str(error)
    padded = synthetic_vocabulary(padding=38)  # one more padding id: another fingerprint
    _refused(blob, padded, match="another vocabulary")


def _forge(monkeypatch, edit) -> bytes:
    """A blob whose regex payload ``edit`` changed, with a correct checksum."""
    automaton = _compile(r"[a-z]{1,4}@\d+").automaton
    meta, arrays = automaton.to_payload()
    arrays = {name: array.copy() for name, array in arrays.items()}
    edit(meta, arrays)
    monkeypatch.setitem(
        serialize.ENGINES, "regex", (lambda _: (meta, arrays), TokenDFA.from_payload)
    )
    data = serialize.dump_automaton(automaton, {"source": "forged", "warnings": []})
    monkeypatch.undo()
    return data


def _set(name, value):
    return lambda meta, arrays: arrays.__setitem__(name, value)


FORGERIES = {
    "accept everywhere": lambda m, a: a["accepting"].__setitem__(slice(None), True),
    "state_mask out of range": lambda m, a: a["state_mask"].__setitem__(0, 10**6),
    "negative state_mask": lambda m, a: a["state_mask"].__setitem__(0, -5),
    "transition out of range": lambda m, a: a["transitions"].__setitem__((0, 97), 10**6),
    "transitions as int64": lambda m, a: a.__setitem__(
        "transitions", a["transitions"].astype(np.int64)
    ),
    "too few accepting flags": lambda m, a: a.__setitem__("accepting", a["accepting"][:1]),
    "mask rows too narrow": lambda m, a: a.__setitem__("mask_rows", a["mask_rows"][:, :1]),
    "tokens past the vocabulary": lambda m, a: a["mask_rows"].__setitem__((slice(None), -1), -1),
    "repeated mask rows": lambda m, a: a.__setitem__(
        "mask_rows", np.concatenate([a["mask_rows"], a["mask_rows"][:1]])
    ),
    "a missing array": lambda m, a: a.pop("mask_rows"),
    "an extra array": lambda m, a: a.__setitem__("extra", np.zeros(3)),
    "state count": lambda m, a: m.__setitem__("states", 1),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forged_payloads_are_refused(monkeypatch, name):
    _refused(_forge(monkeypatch, FORGERIES[name]))


def test_non_numeric_arrays_are_not_written(monkeypatch):
    automaton = _compile("ab").automaton
    monkeypatch.setitem(
        serialize.ENGINES,
        "regex",
        (lambda _: ({}, {"names": np.array(["a", "b"], dtype=object)}), TokenDFA.from_payload),
    )
    with pytest.raises(SerializationError, match="not a plain number type"):
        serialize.dump_automaton(automaton, {})


# -- arrays decoded when read ---------------------------------------------------------------


def _stored(arrays: dict[str, np.ndarray]) -> tuple[list, bytes]:
    entries, sections = zip(*(serialize._encode(name, arrays[name]) for name in arrays))
    return list(entries), b"".join(sections)


def test_stored_arrays_decode_on_read_to_fresh_writable_copies():
    arrays = {
        "table": np.full((40, 256), -1, dtype=np.int32),  # compresses
        "flags": np.array([True, False, True]),
        "noise": np.frombuffer(np.random.default_rng(0).bytes(2400), dtype=np.int64).copy(),
    }
    entries, data = _stored(arrays)
    assert [entry[3] for entry in entries] == ["zlib", "raw", "raw"]
    stored = serialize.StoredArrays(memoryview(data), entries)
    assert sorted(stored) == sorted(arrays) and len(stored) == 3
    for name, array in arrays.items():
        first, second = stored[name], stored[name]
        assert first.dtype == array.dtype and np.array_equal(first, array)
        assert first.flags.writeable and first is not second
        first[...] = 0
        assert np.array_equal(stored[name], array)  # a read never changes the stored bytes
    with pytest.raises(KeyError):
        stored["missing"]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda e: e[0].__setitem__(1, "|O"), "not allowed"),
        (lambda e: e[0].__setitem__(3, "gzip"), "not allowed"),
        (lambda e: e[1].__setitem__(4, e[1][4] + 1), "run past|for shape"),
        (lambda e: e[1].__setitem__(2, [2]), "for shape"),
        (lambda e: e[1].__setitem__(2, [-3]), "bad shape"),
        (lambda e: e[1].__setitem__(0, e[0][0]), "repeated"),
        (lambda e: e.pop(), "bytes after its last array"),
        (lambda e: e[0].pop(), "'table'"),
    ],
)
def test_stored_array_entries_are_checked_at_once(edit, match):
    entries, data = _stored({"table": np.zeros((8, 256), np.int32), "flags": np.ones(3, bool)})
    edit(entries)
    with pytest.raises(SerializationError, match=match):
        serialize.StoredArrays(memoryview(data), entries)


def test_a_compressed_array_of_the_wrong_length_is_refused_when_read():
    entries, data = _stored({"table": np.zeros((8, 256), np.int32)})
    entries[0][2] = [9, 256]  # the header claims more than the stream inflates to
    stored = serialize.StoredArrays(memoryview(data), entries)
    with pytest.raises(SerializationError, match="'table'.*inflated"):
        stored["table"]


def test_bytes_that_may_change_are_copied_before_loading(blob):
    mutable = bytearray(blob)
    restored = CompiledGrammar.from_bytes(mutable, VOCAB)
    mutable[:] = bytes(len(mutable))  # the caller reuses its buffer
    assert_same_masks(_compile(r"[a-z]{1,4}@\d+"), restored)


@pytest.mark.parametrize("enabled", [True, False])
def test_loading_leaves_the_garbage_collector_as_it_was(blob, enabled):
    import gc

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        CompiledGrammar.from_bytes(blob, VOCAB)
        assert gc.isenabled() is enabled
        with pytest.raises(SerializationError):
            CompiledGrammar.from_bytes(blob[:-1], VOCAB)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
