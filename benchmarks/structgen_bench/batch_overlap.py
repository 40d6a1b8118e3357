"""How much mask time hides behind the forward pass (``fill_async``), with a real model.

Greedy decoding of a batch of JSON Schema requests, token by token, twice in one process:

- *serial*: forward pass, then fill the masks, apply, pick;
- *overlap*: after the matchers take the new tokens, ``fill_async`` starts the next masks on a
  background thread, the forward pass runs meanwhile, and the loop waits for the masks only
  when it needs them.

Both runs must produce the same tokens (checked). Each run compiles its schemas cold
(``cache=False``) so the masks have real work; the serial run goes second and finds the
process-wide shared walks warm, which flatters it. Reported: the time spent filling masks, the
part of it the main thread waited for, and the hidden fraction.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from structgen.bitmask import allocate_token_bitmask, apply_token_bitmask
from structgen.runtime.batch import fill_async, fill_next_token_bitmasks
from structgen.runtime.compiler import compile_json_schema

__all__ = ["OVERLAP_SCHEMAS", "measure_overlap", "overlap_run"]

OVERLAP_SCHEMAS: list[dict[str, Any]] = [
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


def overlap_run(lm: Any, prompt: list[int], vocab: Any, rows: int, steps: int, *,
                overlap: bool) -> dict[str, Any]:  # fmt: skip
    """One greedy batch decode of ``rows`` requests for at most ``steps`` tokens: the tokens,
    and the seconds of the whole, of forward passes, of filling and of waiting for masks."""
    matchers = [
        compile_json_schema(OVERLAP_SCHEMAS[i % len(OVERLAP_SCHEMAS)], vocab, cache=False).matcher()
        for i in range(rows)
    ]
    prefix = lm.new_sequence()
    bitmask = allocate_token_bitmask(rows, vocab.size)
    fill_seconds = waited = forward_seconds = 0.0
    background: list[float] = []
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
                lambda _f, t0=time.perf_counter(): background.append(time.perf_counter() - t0)
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
        time.sleep(0.01)  # the last done-callback runs on the pool thread
        fill_seconds += sum(background)
    return {
        "tokens": out,
        "seconds": time.perf_counter() - started,
        "forward_seconds": forward_seconds,
        "fill_seconds": fill_seconds,
        "exposed_fill_seconds": waited if overlap else fill_seconds,
    }


def measure_overlap(lm: Any, tokenizer: Any, vocab: Any, *, rows: int,
                    steps: int) -> dict[str, Any]:  # fmt: skip
    """Overlapped then serial on the same requests; the report (same tokens checked)."""
    prompt = list(tokenizer("Reply with JSON only.\n")["input_ids"])
    overlapped = overlap_run(lm, prompt, vocab, rows, steps, overlap=True)
    serial = overlap_run(lm, prompt, vocab, rows, steps, overlap=False)
    report: dict[str, Any] = {
        "rows": rows,
        "steps": steps,
        "same_tokens": overlapped["tokens"] == serial["tokens"],
        "tokens_per_row": [len(t) for t in serial["tokens"]],
        "texts": [tokenizer.decode(t) for t in serial["tokens"]],
    }
    for name, result in (("serial", serial), ("overlap", overlapped)):
        report[name] = {key: value for key, value in result.items() if key.endswith("seconds")}
    fill = overlapped["fill_seconds"]
    report["hidden_fraction"] = 1 - overlapped["exposed_fill_seconds"] / fill if fill else None
    return report
