"""A grammar's rules as int arrays, for the passes whose cost grows with the rules.

A JSON schema object whose keys may come in any order is a machine over the sets of keys seen:
twelve keys make 4,096 states and ~28k rules, and a schema with three such objects ~100k. Each
pass over rules as named :class:`~structgen.ir.Rule` objects costs ~1 µs a symbol in Python;
numbered once, the same passes are numba loops of a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from structgen.ir import Rule

__all__ = ["PruneKernel", "RuleArrays", "prune_with"]

PruneKernel = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]
""":func:`structgen.kernels.numba_cpu.prune_rules`'s signature."""


@dataclass(frozen=True)
class RuleArrays:
    """Rules numbered: symbol ``i`` is ``symbols[i]``, terminals first; rule ``i`` is
    ``lhs[i] → rhs[offsets[i]:offsets[i + 1]]``."""

    symbols: list[str]
    num_terminals: int
    lhs: np.ndarray  # int32 [rules]
    offsets: np.ndarray  # int64 [rules + 1]
    rhs: np.ndarray  # int32

    @classmethod
    def of(cls, rules: Sequence[Rule], terminals: Iterable[str]) -> RuleArrays:
        """``rules`` numbered (``terminals`` first, in their order; then every other symbol by
        first appearance), in C-level passes."""
        terminals = list(terminals)
        heads = [rule.lhs for rule in rules]
        bodies = [rule.rhs for rule in rules]
        body = list(chain.from_iterable(bodies))
        symbols = list(dict.fromkeys(chain(terminals, heads, body)))
        number = dict(zip(symbols, range(len(symbols)))).__getitem__
        offsets = np.zeros(len(rules) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, bodies), dtype=np.int64, count=len(rules)), out=offsets[1:])
        return cls(
            symbols=symbols,
            num_terminals=len(terminals),
            lhs=np.fromiter(map(number, heads), dtype=np.int32, count=len(rules)),
            offsets=offsets,
            rhs=np.fromiter(map(number, body), dtype=np.int32, count=len(body)),
        )


def prune_with(
    kernel: PruneKernel, rules: Sequence[Rule], terminals: Iterable[str], start: str
) -> tuple[list[Rule], Callable[[str], bool], set[str]]:
    """The productive rules of ``rules`` reachable from ``start`` (in their order), whether a
    symbol is productive, and the terminals the kept rules read — the work of
    :func:`structgen.ir.derivable_rules` and a reachability pass, done by ``kernel``."""
    arrays = RuleArrays.of(rules, terminals)
    number = {name: index for index, name in enumerate(arrays.symbols)}
    start_number = number.setdefault(start, len(number))  # (a start without rules: unproductive)
    keep, productive, used = kernel(
        arrays.lhs, arrays.offsets, arrays.rhs, len(number), arrays.num_terminals, start_number
    )
    flags = productive.tolist()

    def is_productive(symbol: str) -> bool:
        index = number.get(symbol)
        return index is not None and flags[index]

    kept = [rule for rule, flag in zip(rules, keep.tolist()) if flag]
    return kept, is_productive, {arrays.symbols[i] for i in np.flatnonzero(used).tolist()}
