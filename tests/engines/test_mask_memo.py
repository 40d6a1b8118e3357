"""The grammar engine's mask memo: masks kept on their configurations, at most
``mask_cache_size`` of them, the oldest not read since last looked at evicted first (a second
chance for a mask read since); an evicted mask is rebuilt equal, and every mask equals a fresh
engine's."""

from __future__ import annotations

import numpy as np

import structgen
from tests.helpers.synthetic_vocab import synthetic_vocabulary

GRAMMAR = 'start: "[" item ("," item)* "]"\nitem: WORD | NUMBER\nWORD: /[a-z]+/\nNUMBER: /[0-9]+/\n'
TEXT = "[ab,12,cd,3]"


def _engine(mask_cache_size: int):
    engine = structgen.compile_grammar(GRAMMAR, synthetic_vocabulary()).automaton
    engine._mask_cache_size = mask_cache_size
    return engine


def _configs(engine) -> list:
    """The configurations along TEXT, one byte at a time (distinct ones, in order)."""
    config, found = engine.initial, [engine.initial]
    for byte in TEXT.encode():
        config = engine.step(config, byte)
        assert config is not None
        if config not in found:
            found.append(config)
    return found


def test_the_memo_keeps_at_most_its_size_and_masks_stay_right():
    reference = _engine(4096)
    small = _engine(3)
    expected = [reference.mask(c)[0].copy() for c in _configs(reference)]
    configs = _configs(small)
    assert len(configs) > 6
    for _ in range(2):  # the second pass rebuilds evicted masks
        for config, words in zip(configs, expected, strict=True):
            assert np.array_equal(small.mask(config)[0], words)
            assert len(small._masks) <= 3
    held = [c for c in configs if c.mask is not None]
    assert set(held) == set(small._masks)  # a mask is on its configuration while memoised


def test_a_mask_read_since_gets_a_second_chance():
    engine = _engine(3)
    configs = _configs(engine)
    first, second, third, fourth = configs[1:5]
    for config in (first, second, third):
        engine.mask(config)
    for config in (first, second, third):
        config.recent = False  # as if the memo had looked at them all
    engine.mask(first)  # read again: first is marked
    engine.mask(fourth)  # the memo is full: the oldest unmarked (second) goes
    assert second.mask is None and second not in engine._masks
    assert first.mask is not None and third.mask is not None and fourth.mask is not None
    assert not first.recent  # its second chance is spent
