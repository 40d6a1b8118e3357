"""The rows of ``structgen bench batch``: one JSON Schema per row with one valid MaskBench
instance of it, tokenized once (the same ids for every engine).

Rows come from the data directory's subsets in turn (seeded), one instance per schema (the
first valid test that the tokenizer reproduces exactly), so a batch mixes subsets as a server's
batch mixes requests.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from structgen.errors import ConfigurationError, StructgenError
from structgen_bench import vocabs
from structgen_bench.maskbench_data import load_cases

__all__ = ["Row", "load_rows"]


@dataclass(frozen=True)
class Row:
    """One request of a batch: its schema and the token ids of a valid instance."""

    key: str
    schema: Any
    ids: tuple[int, ...]


def load_rows(data_dir: Path, tokenizer: vocabs.LoadedTokenizer, *, count: int, seed: int,
              per_subset: int = 8, max_tokens: int = 400, max_schema_bytes: int = 6000,
              compact: bool = True, subsets: list[str] | None = None) -> list[Row]:  # fmt: skip
    """Up to ``count`` rows, the subsets taken in turn (``per_subset`` schemas sampled from
    each); schemas whose instances are all longer than ``max_tokens`` or not reproduced
    exactly by the tokenizer are left out, and so are schemas longer than
    ``max_schema_bytes`` (xgrammar's compile of a large schema on a 128k vocabulary takes tens
    of seconds). Instances are serialised as ``json.dumps`` does, with ``(",", ":")``
    separators when ``compact``."""
    if count < 1:
        raise ConfigurationError("a batch benchmark needs at least one row")
    cases, _info = load_cases(data_dir, subsets=subsets, sample=per_subset, seed=seed)
    queues: list[list[Row]] = []
    for subset, found in cases.items():
        rows = [
            row
            for case in found
            if len(case.schema_text) <= max_schema_bytes
            and (row := _row(case, tokenizer, max_tokens, compact)) is not None
        ]
        random.Random(f"{seed}:{subset}:rows").shuffle(rows)
        queues.append(rows)
    order: list[Row] = []
    while any(queues) and len(order) < count:
        for queue in queues:
            if queue and len(order) < count:
                order.append(queue.pop(0))
    return order


def _row(case: Any, tokenizer: vocabs.LoadedTokenizer, max_tokens: int,
         compact: bool) -> Row | None:  # fmt: skip
    try:
        schema = json.loads(case.schema_text)
    except ValueError:
        return None
    for test in case.tests:
        if test.get("valid") is not True:
            continue
        separators = (",", ":") if compact else None  # None: MaskBench's serialisation
        text = json.dumps(test["data"], ensure_ascii=False, separators=separators)
        try:
            ids = vocabs.tokenize_exact(tokenizer.hf, tokenizer.token_bytes, text)
        except StructgenError:
            continue
        if 0 < len(ids) <= max_tokens:
            return Row(f"{case.subset}/{case.file}", schema, tuple(ids))
    return None
