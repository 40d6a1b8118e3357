"""MaskBench's inputs: the schemas and test instances of a data directory, and the tokenizer.

The directory has the layout of ``shared/data``: ``jsonschemabench/<subset>/<name>.json`` (one
schema per file) and ``maskbench-tests/<subset>.jsonl`` (one line per schema,
``{"file": "<name>.json", "tests": [{"valid": bool, "data": <instance>, ...}]}``). Each instance
is serialised once (:data:`SERIALISATION`) and tokenized once, the same ids for every engine.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from structgen.errors import ConfigurationError, StructgenError
from structgen_bench import vocabs

__all__ = [
    "SUBSETS",
    "SERIALISATION",
    "Case",
    "TokenizerRef",
    "load_cases",
    "tokenize_cases",
    "resolve_tokenizer",
    "load_tokenizer",
]

# JSONSchemaBench's ten subsets, then the five that only MaskBench has (shared/data's README).
SUBSETS = (
    "Github_trivial", "Github_easy", "Github_medium", "Github_hard", "Github_ultra",
    "Glaiveai2K", "JsonSchemaStore", "Kubernetes", "Snowplow", "WashingtonPost",
    "MCPspec", "Handwritten", "Synthesized", "BFCL", "JME",
)  # fmt: skip
SERIALISATION = "json.dumps(instance, ensure_ascii=False)"  # MaskBench's own


@dataclass
class Case:
    """One schema with its test instances (``ids[i]`` is ``None`` when test ``i`` could not be
    tokenized exactly; such a test is dropped for every engine)."""

    subset: str
    file: str
    schema_text: str
    tests: list[dict[str, Any]]
    texts: list[str] = field(default_factory=list)
    ids: list[list[int] | None] = field(default_factory=list)

    def walkable(self) -> list[tuple[int, bool, list[int]]]:
        """(test index, valid, token ids) of the tests every engine walks."""
        pairs = enumerate(zip(self.tests, self.ids))
        return [(i, bool(test["valid"]), ids) for i, (test, ids) in pairs if ids is not None]


def _subset_names(schemas_dir: Path, wanted: list[str] | None) -> list[str]:
    found = {p.name for p in schemas_dir.iterdir() if p.is_dir()}
    if wanted is not None:
        missing = [s for s in wanted if s not in found]
        if missing:
            raise ConfigurationError(
                f"no subset(s) {', '.join(missing)} in {schemas_dir}; found: "
                f"{', '.join(sorted(found))}"
            )
        return list(wanted)
    return [s for s in SUBSETS if s in found] + sorted(found - set(SUBSETS))


def load_cases(data_dir: Path, *, subsets: list[str] | None = None, sample: int | None = None,
               seed: int = 0) -> tuple[dict[str, list[Case]], dict[str, Any]]:  # fmt: skip
    """The schemas of each subset (a deterministic sample of ``sample`` when given) and their
    tests, with facts per subset. Schemas without a ``maskbench-tests`` line have no tests."""
    schemas_dir = data_dir / "jsonschemabench"
    tests_dir = data_dir / "maskbench-tests"
    if not schemas_dir.is_dir():
        raise ConfigurationError(
            f"--data {str(data_dir)!r} has no jsonschemabench/ folder (the layout of the "
            "JSONSchemaBench data in shared/data: jsonschemabench/<subset>/*.json and "
            "maskbench-tests/<subset>.jsonl)"
        )
    cases: dict[str, list[Case]] = {}
    info: dict[str, Any] = {}
    for subset in _subset_names(schemas_dir, subsets):
        files = sorted(p.name for p in (schemas_dir / subset).glob("*.json"))
        chosen = files
        if sample is not None and sample < len(files):
            chosen = sorted(random.Random(f"{seed}:{subset}").sample(files, sample))
        wanted = set(chosen)
        tests: dict[str, list[dict[str, Any]]] = {}
        lines = tests_dir / f"{subset}.jsonl"
        if lines.is_file():
            with lines.open(encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    record = json.loads(line)
                    if record.get("file") in wanted:
                        tests[record["file"]] = list(record.get("tests") or [])
        cases[subset] = [
            Case(subset, name, (schemas_dir / subset / name).read_text(encoding="utf-8"),
                 tests.get(name, []))
            for name in chosen
        ]  # fmt: skip
        found = cases[subset]
        info[subset] = {
            "schemas_available": len(files),
            "schemas": len(found),
            "schemas_without_tests": sum(1 for c in found if not c.tests),
            "tests_valid": sum(1 for c in found for t in c.tests if t.get("valid") is True),
            "tests_invalid": sum(1 for c in found for t in c.tests if t.get("valid") is False),
        }
    return cases, info


def tokenize_cases(cases: dict[str, list[Case]], tokenizer: vocabs.LoadedTokenizer,
                   info: dict[str, Any]) -> None:  # fmt: skip
    """Serialise and tokenize every test once (fills ``Case.texts`` and ``Case.ids``)."""
    for subset, found in cases.items():
        dropped: list[dict[str, Any]] = []
        tokens = 0
        for case in found:
            case.texts, case.ids = [], []
            for index, test in enumerate(case.tests):
                text = json.dumps(test["data"], ensure_ascii=False)  # SERIALISATION
                ids: list[int] | None
                try:
                    ids = vocabs.tokenize_exact(tokenizer.hf, tokenizer.token_bytes, text)
                except StructgenError as error:
                    ids = None
                    dropped.append({"file": case.file, "test": index,
                                    "reason": str(error)[:200]})  # fmt: skip
                case.texts.append(text)
                case.ids.append(ids)
                tokens += len(ids or ())
        info[subset].update(tokens=tokens, dropped_tests=dropped)


# -- the tokenizer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenizerRef:
    """Where the benchmark's tokenizer comes from: enough for a worker process to load it."""

    key: str
    title: str
    path: str  # the GGUF file


def resolve_tokenizer(name: str, data_dir: Path, vocab_dir: Path | None = None) -> TokenizerRef:
    """``name``: a GGUF file, or a key of :data:`structgen_bench.vocabs.TOKENIZERS` (its file
    from ``vocab_dir``, else ``<data>/vocabs``, else the download cache)."""
    path = Path(name).expanduser()
    if path.suffix == ".gguf" or path.is_file():
        if not path.is_file():
            raise ConfigurationError(f"--tokenizer {name!r}: no such GGUF file")
        for spec in vocabs.TOKENIZERS.values():
            if spec.gguf_file == path.name:
                return TokenizerRef(spec.key, spec.title, str(path.resolve()))
        return TokenizerRef(path.stem, path.name, str(path.resolve()))
    spec = vocabs.TOKENIZERS.get(name)
    if spec is None:
        raise ConfigurationError(
            f"--tokenizer {name!r} is neither a GGUF file nor one of: "
            f"{', '.join(vocabs.TOKENIZERS)}"
        )
    folder = None
    if spec.in_vocab_dir:
        if vocab_dir is not None:
            folder = vocabs.resolve_vocab_dir(vocab_dir, download=False)
        elif (data_dir / "vocabs" / spec.gguf_file).is_file():
            folder = data_dir / "vocabs"
        else:
            folder = vocabs.resolve_vocab_dir(None, download=True)
    return TokenizerRef(spec.key, spec.title, str(vocabs.gguf_path(spec, folder)))


def load_tokenizer(path: str | Path, *, key: str, title: str) -> vocabs.LoadedTokenizer:
    """The GGUF file at ``path`` as the benchmarks load it (Hugging Face tokenizer, cached)."""
    path = Path(path)
    # A spec whose file sits in ``path.parent``: the benchmarks' loader then reads it.
    spec = vocabs.TokenizerSpec(key, title, path.name, vocabs.SDIST_NAME)
    return vocabs.load_tokenizer(spec, path.parent)
