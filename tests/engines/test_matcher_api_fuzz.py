"""Issue 10, finding 15 (matcher part): the public matcher API under random misuse.

Random calls of ``advance``, ``accepts``, ``fill_next_token_bitmask``, ``rollback`` and ``fork``
with ids of every type (ints in and out of range, bools, floats, strings, None, numpy and torch
scalars), rows of every kind and bitmasks of every shape, dtype, byte order and flag. Each call
must give the correct result, judged by Python's ``re`` on the text so far, or raise a
:class:`~structgen.errors.StructgenError` and change nothing. Both engines share the language
``ab+c?``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import structgen
from structgen.errors import StructgenError
from tests.helpers.synthetic_vocab import synthetic_vocabulary

VOCAB = synthetic_vocabulary()
WORDS = (VOCAB.size + 31) // 32
EOS = VOCAB.eos_ids[0]
COMPLETE = re.compile(rb"ab+c?")
PREFIX = re.compile(rb"(?:a(?:b+c?)?)?")  # every prefix of the language
COMPILED = {
    "regex": structgen.compile_regex("ab+c?", VOCAB, cache=False),
    "grammar": structgen.compile_grammar('start: "a" "b"+ "c"?\n', VOCAB),
}


class Oracle:
    """The text so far (and whether EOS was read), one entry per successful advance."""

    def __init__(self) -> None:
        self.history: list[tuple[bytes, bool]] = [(b"", False)]

    @property
    def text(self) -> bytes:
        return self.history[-1][0]

    @property
    def terminated(self) -> bool:
        return self.history[-1][1]

    def accepting(self) -> bool:
        return self.terminated or COMPLETE.fullmatch(self.text) is not None

    def after(self, token: int) -> tuple[bytes, bool] | None:
        if token in VOCAB.eos_ids:
            return (self.text, True) if self.accepting() else None
        if self.terminated or not 0 <= token < len(VOCAB.token_bytes) or token in VOCAB.special_ids:
            return None
        data = VOCAB.token_bytes[token]
        if not data or PREFIX.fullmatch(self.text + data) is None:
            return None
        return (self.text + data, False)

    def mask(self) -> np.ndarray:
        allowed = [t for t in range(VOCAB.size) if self.after(t) is not None]
        return _row(allowed)


def _row(allowed: list[int]) -> np.ndarray:
    words = np.zeros(WORDS, dtype=np.uint32)
    for token in allowed:
        words[token >> 5] |= np.uint32(1) << np.uint32(token & 31)
    return words.view(np.int32)


def _integer(value) -> int | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, torch.Tensor):
        return (
            int(value)
            if value.ndim == 0 and not value.dtype.is_floating_point and value.dtype != torch.bool
            else None
        )
    return int(value) if isinstance(value, (int, np.integer)) else None


def _scalars(ints: st.SearchStrategy[int]) -> st.SearchStrategy:
    return st.one_of(
        ints,
        ints.filter(lambda v: abs(v) < 2**63).map(np.int64),
        ints.filter(lambda v: 0 <= v < 2**31).map(np.int32),
        ints.filter(lambda v: abs(v) < 2**62).map(torch.tensor),
        st.booleans(),
        st.floats(allow_nan=True),
        ints.map(float),
        ints.map(np.float64),
        ints.map(str),
        st.none(),
        ints.map(lambda v: [v]),
        st.just(torch.tensor(1.0)),
        st.just(np.bool_(True)),
    )


TOKENS = _scalars(
    st.one_of(
        st.integers(-3, VOCAB.size + 3),
        st.sampled_from([EOS, 97, 98, 99, *VOCAB.special_ids]),
        st.integers(-(2**70), 2**70),
    )
)


@st.composite
def bitmasks(draw):
    """(bitmask, whether it is a valid one) in every layout the API may be handed."""
    batch = draw(st.integers(1, 3))
    kind = draw(
        st.sampled_from(
            [
                "good",
                "good",
                "good",
                "width",
                "dtype",
                "ndim",
                "readonly",
                "strided",
                "fortran",
                "torch",
                "list",
                "none",
            ]
        )
    )
    if kind == "list":
        return [[0] * WORDS] * batch, False
    if kind == "none":
        return None, False
    width = WORDS + draw(st.sampled_from([-1, 1])) if kind == "width" else WORDS
    dtype = (
        draw(st.sampled_from([np.int64, np.uint32, np.float32, np.dtype(">i4"), np.int16]))
        if kind == "dtype"
        else np.int32
    )
    shape = (
        draw(st.sampled_from([(width,), (1, batch, width)])) if kind == "ndim" else (batch, width)
    )
    fill = draw(st.integers(-(2**31), 2**31 - 1))
    array = np.full(shape, fill, dtype=np.int64).astype(dtype)
    if kind == "strided":
        array = np.full((batch, 2 * width), fill, dtype=np.int32)[:, ::2]
    if kind == "fortran":
        array = np.asfortranarray(array)
    if kind == "readonly":
        array.flags.writeable = False
    if kind == "torch":
        tensor_dtype = draw(st.sampled_from([torch.int32, torch.int32, torch.int64, torch.float32]))
        return torch.from_numpy(np.full((batch, width), fill, dtype=np.int64)).to(
            tensor_dtype
        ), tensor_dtype == torch.int32
    return array, kind in ("good", "strided", "fortran")


ROWS = _scalars(st.integers(-2, 4))
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), TOKENS),
        st.tuples(st.just("accepts"), TOKENS),
        st.tuples(st.just("fill"), bitmasks(), ROWS),
        st.tuples(st.just("rollback"), _scalars(st.integers(-1, 4))),
        st.tuples(st.just("fork")),
    ),
    max_size=25,
)


def _as_numpy(bitmask) -> np.ndarray | None:
    if isinstance(bitmask, np.ndarray):
        return bitmask
    if isinstance(bitmask, torch.Tensor):
        return bitmask.numpy()
    return None


def _check_fill(matcher, oracle: Oracle, bitmask, valid_layout: bool, row) -> None:
    array = _as_numpy(bitmask)
    before = None if array is None else array.copy()
    index = _integer(row)
    valid = valid_layout and index is not None and 0 <= index < array.shape[0]
    try:
        changes = matcher.fill_next_token_bitmask(bitmask, row)
    except StructgenError:
        assert not valid
        assert before is None or np.array_equal(array, before)  # refused: nothing written
        return
    assert valid
    expected = oracle.mask()
    assert np.array_equal(array[index], expected)
    others = [r for r in range(array.shape[0]) if r != index]
    assert np.array_equal(array[others], before[others])
    assert changes == (np.unpackbits(expected.view(np.uint8)).sum() < VOCAB.size)


def _check_token(matcher, oracle: Oracle, name: str, token) -> None:
    value = _integer(token)
    steps = matcher.num_steps
    try:
        result = getattr(matcher, name)(token)
    except StructgenError:
        assert value is None
        assert matcher.num_steps == steps
        return
    assert value is not None
    following = oracle.after(value)
    assert result == (following is not None)
    if name == "advance" and following is not None:
        oracle.history.append(following)
    assert matcher.num_steps == len(oracle.history) - 1


def _check_rollback(matcher, oracle: Oracle, n) -> None:
    value = _integer(n)
    try:
        matcher.rollback(n)
    except StructgenError:
        assert value is None or not 0 <= value < len(oracle.history)
        return
    assert value is not None and 0 <= value < len(oracle.history)
    del oracle.history[len(oracle.history) - value :]


@pytest.mark.parametrize("engine", sorted(COMPILED))
@given(operations=OPERATIONS)
def test_every_call_is_correct_or_a_named_error(engine, operations):
    matcher, oracle = COMPILED[engine].matcher(), Oracle()
    for operation in operations:
        name = operation[0]
        if name in ("advance", "accepts"):
            _check_token(matcher, oracle, name, operation[1])
        elif name == "fill":
            (bitmask, valid), row = operation[1], operation[2]
            _check_fill(matcher, oracle, bitmask, valid, row)
        elif name == "rollback":
            _check_rollback(matcher, oracle, operation[1])
        else:
            twin = matcher.fork()
            twin.advance(97)  # the original does not move
            matcher, oracle.history = matcher.fork(), list(oracle.history)
        assert matcher.is_accepting() == oracle.accepting()
        assert matcher.is_terminated() == oracle.terminated


@pytest.mark.parametrize("engine", sorted(COMPILED))
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.advance(1.5), "expected a token id"),
        (lambda m: m.advance("5"), "expected a token id"),
        (lambda m: m.advance(None), "expected a token id"),
        (lambda m: m.accepts(True), "expected a token id"),
        (
            lambda m: m.fill_next_token_bitmask([[0] * WORDS]),
            "numpy array or a torch tensor, got list",
        ),
        (lambda m: m.fill_next_token_bitmask(None), "numpy array or a torch tensor, got NoneType"),
        (lambda m: m.fill_next_token_bitmask(_readonly()), "read-only"),
        (
            lambda m: m.fill_next_token_bitmask(np.zeros((1, WORDS), np.int32), 1),
            r"row index in \[0, 1\)",
        ),
        (lambda m: m.rollback(0.5), "int number of steps"),
    ],
    ids=[
        "advance-float",
        "advance-str",
        "advance-None",
        "accepts-bool",
        "fill-list",
        "fill-None",
        "fill-readonly",
        "fill-row-out-of-range",
        "rollback-float",
    ],
)
def test_misuse_is_a_named_error(engine, call, message):
    matcher = COMPILED[engine].matcher()
    with pytest.raises(StructgenError, match=message):
        call(matcher)
    assert matcher.num_steps == 0


def _readonly() -> np.ndarray:
    array = np.zeros((1, WORDS), np.int32)
    array.flags.writeable = False
    return array
