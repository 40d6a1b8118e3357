"""Which rows pay structgen's first-visit mask time: an extra, separately timed pass.

The fill benchmark times whole batch calls, so a slow first-visit step does not say which
schema made it slow. This pass compiles the rows cold again (memo caches dropped), walks the
same steps on fresh matchers with the same protocol (a finished row starts again), and times
each row's ``fill_next_token_bitmask`` on its own; it is not part of the batch figures.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from structgen_bench.batch_fill import FillEngine
from structgen_bench.batch_rows import Row
from structgen_bench.structgen_caches import drop_memo_caches

__all__ = ["attribute_first_visit"]


def attribute_first_visit(engine: FillEngine, rows: Sequence[Row], *, steps: int, words: int,
                          top: int = 5) -> dict[str, Any]:  # fmt: skip
    """Per row: the seconds of its fills over the pass and its slowest fill (with the token
    position); the ``top`` rows by total, and the share of the pass they took."""
    drop_memo_caches()
    engine.compile(rows)
    engine.fresh()
    masks = np.zeros((len(rows), words), dtype=np.int32)
    positions = [0] * len(rows)
    totals = [0.0] * len(rows)
    slowest = [(0.0, 0)] * len(rows)
    for _step in range(steps):
        for row, matcher in enumerate(engine.matchers):
            started = time.perf_counter_ns()
            matcher.fill_next_token_bitmask(masks, row)
            seconds = (time.perf_counter_ns() - started) / 1e9
            totals[row] += seconds
            if seconds > slowest[row][0]:
                slowest[row] = (seconds, positions[row])
        for row, data in enumerate(rows):
            if positions[row] == len(data.ids) or not engine.advance(row, data.ids[positions[row]]):
                positions[row] = 0
                engine.restart(row)
            else:
                positions[row] += 1
    order = sorted(range(len(rows)), key=lambda row: -totals[row])
    whole = sum(totals)
    return {
        "rows": len(rows),
        "steps": steps,
        "seconds": whole,
        "top": [
            {
                "row": rows[row].key,
                "seconds": totals[row],
                "share": totals[row] / whole if whole else 0.0,
                "slowest_fill_seconds": slowest[row][0],
                "slowest_fill_position": slowest[row][1],
            }
            for row in order[:top]
        ],
    }
