"""Run the JSON Schema Test Suite against the schema compiler, byte by byte.

For every test group: either compiling raises ``SchemaError``/``UnsupportedSchemaError``
("rejected", which must name a keyword), or every ``valid`` instance, serialised with
``json.dumps`` (ASCII-escaped and not), is accepted byte by byte and ends accepting, and no
``invalid`` one is.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from structgen.errors import LimitExceededError
from structgen.runtime.compiler import compile_json_schema
from structgen.schema import SchemaError, SchemaWarning, UnsupportedSchemaError

SUITE = Path(__file__).resolve().parent.parent / "data" / "json-schema-test-suite"
DRAFTS = ("draft2020-12", "draft7")


def suite_files(draft: str) -> list[Path]:
    return sorted((SUITE / draft).rglob("*.json"))


def file_id(path: Path) -> str:
    return str(path.relative_to(SUITE))


@dataclass
class GroupResult:
    description: str
    status: str  # "compiled" | "rejected"
    error: str = ""
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    tests: int = 0


def accepts(compiled, data: bytes) -> bool:
    matcher = compiled.matcher()
    for byte in data:  # the synthetic vocabulary's ids 0..255 are the single bytes
        if not matcher.advance(byte):
            return False
    return matcher.is_accepting()


def options_for(path: Path) -> dict:
    # Outside optional/format, `format` is an annotation (the suite checks it is not asserted).
    draft = "7" if file_id(path).startswith("draft7") else "2020-12"
    return {
        "formats": "strict" if path.parent.name == "format" else "annotation",
        "default_draft": draft,
    }


def run_group(group: dict, vocab, options: dict) -> GroupResult:
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SchemaWarning)  # dropped branches: expected here
            compiled = compile_json_schema(group["schema"], vocab, **options)
    except (UnsupportedSchemaError, SchemaError, LimitExceededError) as error:
        return GroupResult(
            group["description"],
            "rejected",
            f"{type(error).__name__}: {error}",
            seconds=time.perf_counter() - started,
            tests=len(group["tests"]),
        )
    result = GroupResult(group["description"], "compiled", tests=len(group["tests"]))
    for test in group["tests"]:
        for ensure_ascii in (True, False):
            text = json.dumps(test["data"], ensure_ascii=ensure_ascii)
            if accepts(compiled, text.encode("utf-8")) != test["valid"]:
                verdict = "rejected a valid" if test["valid"] else "accepted an invalid"
                result.failures.append(f"{verdict} instance {text[:80]} ({test['description']})")
                break
    result.seconds = time.perf_counter() - started
    return result


def run_file(path: Path, vocab) -> list[GroupResult]:
    groups = json.loads(path.read_text(encoding="utf-8"))
    return [run_group(group, vocab, options_for(path)) for group in groups]
