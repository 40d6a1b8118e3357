"""A grammar's rules as int arrays, for the passes whose cost grows with the rules.

A JSON schema object whose keys may come in any order is a machine over the sets of keys seen:
twelve keys make 4,096 states and ~28k rules, and a schema with three such objects ~100k. Each
pass over rules as named :class:`~structgen.ir.Rule` objects costs ~1 µs a symbol in Python;
numbered once, the same passes are numba loops of a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from structgen.ir import Rule, RuleArrays

__all__ = ["PruneKernel", "prune_with"]

PruneKernel = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]
""":func:`structgen.kernels.numba_cpu.prune_rules`'s signature."""


def prune_with(
    kernel: PruneKernel, rules: Sequence[Rule], terminals: Iterable[str], start: str
) -> tuple[list[Rule], Callable[[str], bool], set[str], RuleArrays]:
    """The productive rules of ``rules`` reachable from ``start`` (in their order), whether a
    symbol is productive, the terminals the kept rules read — the work of
    :func:`structgen.ir.derivable_rules` and a reachability pass, done by ``kernel`` — and the
    kept rules numbered."""
    arrays = RuleArrays.of(rules, terminals)
    number, count = arrays.number, len(arrays.symbols)
    # a start without rules is numbered past the others: unproductive
    start_number = number.get(start, count)
    keep, productive, used = kernel(
        arrays.lhs, arrays.offsets, arrays.rhs, count + (start not in number),
        arrays.num_terminals, start_number,
    )  # fmt: skip
    flags = productive.tolist()

    def is_productive(symbol: str) -> bool:
        index = number.get(symbol)
        return index is not None and flags[index]

    kept = [rule for rule, flag in zip(rules, keep.tolist()) if flag]
    used_names = {arrays.symbols[i] for i in np.flatnonzero(used).tolist()}
    return kept, is_productive, used_names, arrays.take(keep)
