"""The child process of :mod:`structgen_bench.fresh_start`: one engine's first compile.

``python -m structgen_bench.fresh_start_child ENGINE GGUF KEY [prime]`` prints one JSON line with
the seconds of (a) import, (b) tokenizer / vocabulary and (c) compile + first mask of
:data:`SMALL_SCHEMA` (of :data:`PRIMING_SCHEMA` with ``prime``), and how many tokens the first
mask allows. Nothing but the standard library is imported at the top: the engine's imports are
what (a) times, so they happen inside the functions, on purpose.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

__all__ = ["SMALL_SCHEMA", "PRIMING_SCHEMA", "FRESH_START_ENGINES", "run_child"]

SMALL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name"],
}
# Compiled once, untimed, to fill a disk cache with what is per vocabulary (not per schema).
PRIMING_SCHEMA: dict[str, Any] = {"type": "array", "items": {"type": "number"}}
FRESH_START_ENGINES = ("structgen", "llguidance", "xgrammar", "outlines-core")
_PEER_MODULES = {"llguidance": "llguidance", "xgrammar": "xgrammar",
                 "outlines-core": "outlines_core"}  # fmt: skip


def _allowed(bitmask: Any) -> int:
    """How many tokens a ``[1, words]`` int32 bitmask allows."""
    import numpy as np  # loaded by every engine's step (c) already

    return int(np.unpackbits(np.ascontiguousarray(bitmask).view(np.uint8)).sum())


def _structgen(path: str, schema: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    from structgen.runtime.compiler import compile_json_schema
    from structgen.vocab import Vocabulary
    from structgen.vocab.trie import build_trie

    imported = time.perf_counter()
    vocab = Vocabulary.from_gguf(path)
    # The token trie is structgen's per-vocabulary table (built, or read from the disk cache),
    # as a peer's (b) builds its own (llguidance's token trie, xgrammar's TokenizerInfo).
    build_trie(vocab)
    loaded = time.perf_counter()
    compiled = compile_json_schema(schema, vocab, whitespace="flexible")
    matcher = compiled.matcher()
    import numpy as np  # already imported by structgen

    bitmask = np.zeros((1, (vocab.size + 31) // 32), dtype=np.int32)
    matcher.fill_next_token_bitmask(bitmask, 0)
    done = time.perf_counter()
    return {"import_s": imported - started, "tokenizer_s": loaded - imported,
            "compile_first_mask_s": done - loaded, "allowed": _allowed(bitmask),
            "vocab_size": int(vocab.size)}  # fmt: skip


def _peer(engine: str, path: str, key: str, schema: dict[str, Any]) -> dict[str, Any]:
    import importlib

    started = time.perf_counter()
    importlib.import_module(_PEER_MODULES[engine])
    imported = time.perf_counter()
    # The harness (and structgen under it) is imported here, inside the tokenizer step.
    from structgen_bench.maskbench_data import load_tokenizer
    from structgen_bench.masks import new_bitmask
    from structgen_bench.peers import make_engine

    tokenizer = load_tokenizer(path, key=key, title=key)  # the key names its cached HF files
    adapter = make_engine(engine)
    adapter.prepare(tokenizer)
    bitmask = new_bitmask(adapter.mask_words)
    loaded = time.perf_counter()
    compiled = adapter.compile_schema(schema)
    adapter.fill(adapter.matcher(compiled), bitmask)
    done = time.perf_counter()
    return {"import_s": imported - started, "tokenizer_s": loaded - imported,
            "compile_first_mask_s": done - loaded, "allowed": _allowed(bitmask),
            "vocab_size": int(tokenizer.vocab_size)}  # fmt: skip


def run_child(engine: str, path: str, key: str,
              schema: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """One fresh process's measurement of ``schema`` (:data:`SMALL_SCHEMA` when ``None``) on
    the GGUF vocabulary ``path`` (``key``: the harness's name for it)."""
    schema = SMALL_SCHEMA if schema is None else schema
    if engine == "structgen":
        return _structgen(path, schema)
    if engine in _PEER_MODULES:
        return _peer(engine, path, key, schema)
    raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(FRESH_START_ENGINES)}")


def main(argv: list[str]) -> None:
    """The child's entry point: ``ENGINE GGUF_PATH KEY [prime]``; prints one JSON line."""
    engine, path, key, *mode = argv
    schema = PRIMING_SCHEMA if mode == ["prime"] else SMALL_SCHEMA
    print(json.dumps(run_child(engine, path, key, schema)))


if __name__ == "__main__":
    main(sys.argv[1:])
