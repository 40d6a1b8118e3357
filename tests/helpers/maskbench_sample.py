"""The vendored MaskBench sample (``tests/data/maskbench-sample``, see its README).

Same layout as the full data: ``jsonschemabench/<subset>/<name>.json`` holds the schemas and
``maskbench-tests/<subset>.jsonl`` one line per schema with its ``"tests"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["SampleCase", "load_sample", "sample_dir", "sample_subsets"]

_SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "maskbench-sample"


class SampleCase(NamedTuple):
    subset: str
    name: str  # the schema file name, e.g. "o10008.json"
    schema: dict[str, Any]
    tests: list[dict[str, Any]]  # [{"description", "valid": bool, "data": ...}, ...]


def sample_dir() -> Path:
    """The sample's root folder (pass it wherever a JSONSchemaBench data dir is expected)."""
    return _SAMPLE_DIR


def sample_subsets(root: Path | None = None) -> list[str]:
    """The subset names, sorted."""
    root = root or _SAMPLE_DIR
    return sorted(p.name for p in (root / "jsonschemabench").iterdir() if p.is_dir())


def load_sample(root: Path | None = None) -> Iterator[SampleCase]:
    """Every (subset, schema name, schema, tests) of the sample, by subset then file order."""
    root = root or _SAMPLE_DIR
    for subset in sample_subsets(root):
        lines = (root / "maskbench-tests" / f"{subset}.jsonl").read_text(encoding="utf-8")
        for line in lines.splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            path = root / "jsonschemabench" / subset / record["file"]
            schema = json.loads(path.read_text(encoding="utf-8"))
            yield SampleCase(subset, record["file"], schema, record["tests"])
