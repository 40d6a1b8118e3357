"""End-to-end overhead of constraining a generator that people run: SmolLM2 through
transformers' ``model.generate`` (no processor, structgen's ``StructgenLogitsProcessor``,
xgrammar's ``contrib.hf.LogitsProcessor``) and through llama-cpp-python's
``create_completion`` (no processor, structgen's ``LlamaCppLogitsProcessor``).

Greedy, short runs on a few schemas; per schema and generator one untimed-for-the-table
one-token run measures the prompt's forward pass (*prefill*), then the configurations run one
after another (a busy machine slows them alike), each compile done before its timed run, the
prompt evaluated afresh every time (llama.cpp's prompt cache reset). Reported per
configuration: output tokens, wall seconds, tokens per second (wall, and *decode* with the
prefill left out), valid outputs, and the slowdown of the decode time per token against the
unconstrained run of the same generator.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from structgen.runtime.compiler import compile_json_schema
from structgen.validation import DocumentValidator
from structgen.vocab import Vocabulary
from structgen_bench.decode_bench import prompt_for

__all__ = ["measure_llama_cpp", "measure_transformers", "summarise_e2e"]


def _valid(text: str, schema: Any) -> bool:
    try:
        return DocumentValidator(schema).is_valid(json.loads(text))
    except ValueError:
        return False


def _record(generator: str, config: str, index: int, tokens: int, seconds: float, text: str,
            schema: Any, prefill: float) -> dict[str, Any]:  # fmt: skip
    constrained = config != "none"
    return {"generator": generator, "config": config, "schema": index, "tokens": tokens,
            "seconds": seconds, "prefill_seconds": prefill,
            "valid": _valid(text, schema) if constrained else None, "text": text[:200]}  # fmt: skip


def measure_transformers(
    model: Any, tokenizer: Any, schemas: Sequence[Any], *, max_new_tokens: int,
    with_xgrammar: bool = True,
) -> list[dict[str, Any]]:  # fmt: skip
    """Greedy ``model.generate`` per schema: free, structgen's processor, xgrammar's."""
    import torch

    from structgen.integrations.transformers import StructgenLogitsProcessor

    vocab = Vocabulary.from_tokenizer(tokenizer, vocab_size=model.config.vocab_size)
    xgr_compiler = None
    if with_xgrammar:
        try:
            import xgrammar as xgr

            info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=model.config.vocab_size)
            xgr_compiler = xgr.GrammarCompiler(info)
        except ImportError:
            xgr_compiler = None
    runs: list[dict[str, Any]] = []
    for index, schema in enumerate(schemas):
        messages = [{"role": "user", "content": prompt_for(schema)}]
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                            return_tensors="pt")  # fmt: skip
        if not isinstance(ids, torch.Tensor):
            ids = ids["input_ids"]
        factories: list[tuple[str, Callable[[], list[Any]]]] = [("none", list)]
        compiled = compile_json_schema(schema, vocab)
        factories.append(("structgen", lambda c=compiled: [
            StructgenLogitsProcessor(c, pad_token_id=tokenizer.eos_token_id)]))  # fmt: skip
        if xgr_compiler is not None:
            import xgrammar as xgr

            grammar = xgr_compiler.compile_json_schema(json.dumps(schema))
            factories.append(("xgrammar", lambda g=grammar: [xgr.contrib.hf.LogitsProcessor(g)]))

        def generate(processors: list[Any], budget: int) -> tuple[list[int], float]:
            started = time.perf_counter()
            with torch.inference_mode():
                out = model.generate(ids, attention_mask=torch.ones_like(ids),
                                     logits_processor=processors, do_sample=False,
                                     max_new_tokens=budget,
                                     pad_token_id=tokenizer.eos_token_id)  # fmt: skip
            return out[0, ids.shape[1] :].tolist(), time.perf_counter() - started

        prefill = generate([], 1)[1]
        for name, make in factories:
            new, seconds = generate(make(), max_new_tokens)
            text = tokenizer.decode(new, skip_special_tokens=True)
            runs.append(_record("transformers", name, index, len(new), seconds, text, schema,
                                prefill))  # fmt: skip
    return runs


def measure_llama_cpp(llama: Any, schemas: Sequence[Any], *,
                      max_new_tokens: int) -> list[dict[str, Any]]:  # fmt: skip
    """Greedy ``create_chat_completion`` per schema: free, and with structgen's processor."""
    import llama_cpp

    from structgen.integrations.llama_cpp import make_logits_processor

    runs: list[dict[str, Any]] = []
    for index, schema in enumerate(schemas):
        messages = [{"role": "user", "content": prompt_for(schema)}]
        processor = make_logits_processor(llama, schema=schema)

        def complete(budget: int, **extra: Any) -> tuple[dict[str, Any], float]:
            llama.reset()  # no prompt reuse from the previous run: every run evaluates it
            started = time.perf_counter()
            out = llama.create_chat_completion(messages=messages, max_tokens=budget,
                                               temperature=0.0, top_k=1, **extra)  # fmt: skip
            return out, time.perf_counter() - started

        prefill = complete(1)[1]
        for name in ("none", "structgen"):
            extra = {}
            if name == "structgen":
                extra["logits_processor"] = llama_cpp.LogitsProcessorList([processor])
            out, seconds = complete(max_new_tokens, **extra)
            text = out["choices"][0]["message"]["content"] or ""
            tokens = int(out["usage"]["completion_tokens"])
            runs.append(_record("llama-cpp-python", name, index, tokens, seconds, text, schema,
                                prefill))  # fmt: skip
    return runs


def summarise_e2e(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per generator and configuration: runs, tokens, seconds, tokens/s (wall, and decode:
    the prefill left out), valid outputs, and the slowdown (decode seconds per token over the
    unconstrained run's)."""
    summary: dict[str, dict[str, Any]] = {}
    for run in runs:
        mine = summary.setdefault(run["generator"], {}).setdefault(
            run["config"],
            {"runs": 0, "tokens": 0, "seconds": 0.0, "decode_seconds": 0.0, "valid": 0},
        )
        mine["runs"] += 1
        mine["tokens"] += run["tokens"]
        mine["seconds"] += run["seconds"]
        mine["decode_seconds"] += max(run["seconds"] - run.get("prefill_seconds", 0.0), 1e-9)
        mine["valid"] += 1 if run["valid"] else 0
    for configs in summary.values():
        for row in configs.values():
            row["tokens_per_s"] = row["tokens"] / row["seconds"] if row["seconds"] else None
            row["decode_tokens_per_s"] = row["tokens"] / row["decode_seconds"]
        free = configs.get("none", {}).get("decode_tokens_per_s")
        for row in configs.values():
            speed = row["decode_tokens_per_s"]
            row["slowdown"] = free / speed if free and speed else None
            row["added_ms_per_token"] = (1e3 / speed - 1e3 / free) if free and speed else None
    return summary
