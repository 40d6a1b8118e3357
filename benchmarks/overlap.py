"""How much mask time hides behind the forward pass (issue 13, part 2), with SmolLM2 on CPU.

Greedy decoding of a batch of JSON Schema requests, token by token, twice in one process:

- *serial*: forward pass, then fill the masks, apply, pick;
- *overlap*: after the matchers take the new tokens, ``fill_async`` starts the next masks on a
  background thread, the forward pass runs meanwhile, and the loop waits for the masks only
  when it needs them.

Both runs must produce the same tokens (checked first). Each run compiles its schemas cold
(``cache=False``) so the masks have real work; the serial run goes second and finds the
process-wide shared walks warm, which flatters it. Reported: the time spent filling masks, the
part of it the main thread waited for, and the hidden fraction. Usage::

    .venv/bin/python benchmarks/overlap.py [--rows 4] [--tokens 40]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from structgen.bitmask import allocate_token_bitmask, apply_token_bitmask
from structgen.decoding import TransformersLM
from structgen.models import load_default
from structgen.runtime.batch import fill_async, fill_next_token_bitmasks
from structgen.runtime.compiler import compile_json_schema
from structgen.vocab import Vocabulary

SCHEMAS = [
    {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    },
    {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "minItems": 2},
    {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 30}, "zip": {"pattern": r"^\d{5}$"}},
        "required": ["city", "zip"],
    },
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}},
]


def run(lm, tokenizer, vocab, rows: int, steps: int, *, overlap: bool) -> dict:
    matchers = [
        compile_json_schema(SCHEMAS[i % len(SCHEMAS)], vocab, cache=False).matcher()
        for i in range(rows)
    ]
    prompt = tokenizer("Reply with JSON only.\n")["input_ids"]
    prefix = lm.new_sequence()
    bitmask = allocate_token_bitmask(rows, vocab.size)
    fill_seconds = waited = forward_seconds = 0.0
    started = time.perf_counter()
    logits = prefix.extend(prompt)[-1:]  # [1, V]
    batch = lm.new_batch(prefix, rows)
    logits = np.repeat(logits, rows, axis=0)
    fill_seconds -= time.perf_counter()
    fill_next_token_bitmasks(matchers, bitmask, threads=1)
    fill_seconds += time.perf_counter()
    out: list[list[int]] = [[] for _ in range(rows)]
    for _ in range(steps):
        apply_token_bitmask(logits, bitmask)
        chosen = [int(np.argmax(row)) for row in logits]
        for row, token in enumerate(chosen):
            if not matchers[row].is_terminated():
                matchers[row].advance(token)
                out[row].append(token)
        if all(m.is_terminated() for m in matchers):
            break
        live = [None if m.is_terminated() else m for m in matchers]
        if overlap:
            pending = fill_async(live, bitmask, threads=1)
            pending.add_done_callback(
                lambda f, t0=time.perf_counter(): _timed.append(time.perf_counter() - t0)
            )
            forward_seconds -= time.perf_counter()
            logits = batch.step(chosen)
            forward_seconds += time.perf_counter()
            waited -= time.perf_counter()
            pending.result()
            waited += time.perf_counter()
        else:
            forward_seconds -= time.perf_counter()
            logits = batch.step(chosen)
            forward_seconds += time.perf_counter()
            fill_seconds -= time.perf_counter()
            fill_next_token_bitmasks(live, bitmask, threads=1)
            fill_seconds += time.perf_counter()
    if overlap:
        fill_seconds += sum(_timed)
        _timed.clear()
    return {
        "tokens": out,
        "seconds": time.perf_counter() - started,
        "forward_seconds": forward_seconds,
        "fill_seconds": fill_seconds,
        "exposed_fill_seconds": fill_seconds if not overlap else waited,
        "forward_passes": lm.forward_passes,
    }


_timed: list[float] = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=40)
    args = parser.parse_args()
    torch.manual_seed(0)
    model, tokenizer = load_default(device="cpu")
    vocab = Vocabulary.from_tokenizer(tokenizer, vocab_size=model.config.vocab_size)
    lm = TransformersLM(model)
    overlapped = run(lm, tokenizer, vocab, args.rows, args.tokens, overlap=True)
    serial = run(lm, tokenizer, vocab, args.rows, args.tokens, overlap=False)
    if overlapped["tokens"] != serial["tokens"]:
        raise SystemExit("the overlapped loop chose different tokens than the serial one")
    report = {
        "rows": args.rows,
        "tokens_per_row": [len(t) for t in serial["tokens"]],
        "texts": [tokenizer.decode(t) for t in serial["tokens"]],
        **{
            f"{name}_{key}": round(value, 4)
            for name, result in (("serial", serial), ("overlap", overlapped))
            for key, value in result.items()
            if key.endswith("seconds")
        },
    }
    report["hidden_fraction"] = round(
        1 - overlapped["exposed_fill_seconds"] / max(overlapped["fill_seconds"], 1e-9), 3
    )
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
