"""``structgen bench grammar``: context-free grammars, engine by engine, on real documents.

For each vocabulary, engine and grammar (JSON and the other bundled grammars) the run

1. compiles the grammar cold (each engine from its own text of it, see
   :mod:`structgen_bench.grammar_forms`; caches off or cleared, see each adapter's note),
2. walks every document, tokenized by the real tokenizer, once: at each step it times the mask
   fill alone (``perf_counter_ns`` around the call, garbage collector paused), then **checks**
   that the document's next token is allowed and advances; at the end EOS must be allowed. A
   document an engine fails is recorded as an error for that document (its times are
   dropped), never a crash. This first pass is the honest number for engines that memoise
   masks (structgen computes the mask of a new parser configuration once, then reuses it);
3. walks the documents a second time on the same compiled grammar (``mask_warm``: what a
   long-running server sees once its memo tables are warm),
4. measures memory as the C heap's growth from before the compile to after the first pass,
5. compiles ``repeat - 1`` more times, cold, each followed by one timed first mask.

Mask times are summarised over the documents no primary engine (structgen, xgrammar,
llguidance) failed, so that rows compare the same steps. The masks of the first
``check_docs`` documents are compared across engines (:mod:`structgen_bench.grammar_agreement`);
tokens that only one side allows are judged by an independent prefix oracle
(:mod:`structgen_bench.grammar_oracle`).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from structgen.errors import ConfigurationError, StructgenError
from structgen_bench import vocabs
from structgen_bench.errors import GrammarNotSupported
from structgen_bench.grammar_agreement import compare_masks
from structgen_bench.grammar_docs import (
    CORPUS,
    BenchDocument,
    check_corpus,
    corpus_documents,
    default_data_dir,
    json_documents,
)
from structgen_bench.grammar_forms import BenchGrammar, bundled_grammar
from structgen_bench.masks import allowed_ids, mask_bit, new_bitmask
from structgen_bench.peers import GRAMMAR_ENGINES, EngineAdapter, make_grammar_engine
from structgen_bench.runs import (
    MemoryProbe,
    for_each_tokenizer,
    recompile,
    record_compiles,
    set_up,
    timed_walk,
)
from structgen_bench.timing import gc_frozen, gc_paused, machine_info, summarize_ns

__all__ = ["GrammarBenchConfig", "run_grammar_benchmark", "GRAMMARS", "PRIMARY_ENGINES"]

SCHEMA_VERSION = 1
GRAMMARS = ("json", "arithmetic", "sql_select", "csv", "python_expr")
DEFAULT_TOKENIZERS = ("llama3", "smollm2")
PRIMARY_ENGINES = ("structgen", "xgrammar", "llguidance")  # same grammar, same language
QUICK_TOKENIZER = "smollm2"
QUICK_SAMPLE = 10
QUICK_CORPUS_DOCS = 5
HEAP_METHOD = (
    "C-heap growth (glibc mallinfo2) from before the compile to after the first pass over "
    "the documents, compiled object alive: the compiled object plus the state built lazily "
    "while masking (memoised masks, lazily built lexer states)"
)
_MAX_KEPT_STEPS = 3000  # masks kept per (engine, grammar) for the cross-check


@dataclass
class GrammarBenchConfig:
    """What to run; the CLI fills it from its options."""

    tokenizers: list[str] | None = None  # None: llama3 and smollm2 (smollm2 alone when quick)
    engines: list[str] = field(default_factory=lambda: list(GRAMMAR_ENGINES))
    grammars: list[str] | None = None
    sample: int | None = None  # JSON documents (None: 200, or 10 when quick)
    max_doc_bytes: int = 8192
    max_corpus_docs: int | None = None
    data_dir: Path | None = None
    vocab_dir: Path | None = None
    repeat: int = 3
    check_docs: int = 10
    warm_pass: bool = True
    budget_s: float = 90.0  # per pass of one (engine, grammar); the rest is skipped
    seed: int = 0
    quick: bool = False
    progress: bool = True

    def validate(self) -> None:
        if self.repeat < 1:
            raise ConfigurationError(f"--repeat must be at least 1, got {self.repeat}")
        if self.sample is not None and self.sample < 1:
            raise ConfigurationError(f"--sample must be at least 1, got {self.sample}")
        unknown = [t for t in self.tokenizers or () if t not in vocabs.TOKENIZERS]
        if unknown:
            raise ConfigurationError(
                f"unknown tokenizer(s) {', '.join(unknown)}; "
                f"expected some of: {', '.join(vocabs.TOKENIZERS)}"
            )
        for name in self.engines:
            make_grammar_engine(name)
        bad = [g for g in self.grammars or () if g not in GRAMMARS]
        if bad:
            raise ConfigurationError(
                f"unknown grammar(s) {', '.join(bad)}; expected some of: {', '.join(GRAMMARS)}"
            )


@dataclass
class _Walks:
    """A grammar's documents as token ids under one tokenizer."""

    grammar: BenchGrammar
    documents: list[tuple[BenchDocument, list[int]]]
    dropped: list[dict[str, str]]


def _tokenize(tokenizer: vocabs.LoadedTokenizer, grammar: BenchGrammar,
              documents: list[BenchDocument]) -> _Walks:  # fmt: skip
    kept: list[tuple[BenchDocument, list[int]]] = []
    dropped: list[dict[str, str]] = []
    for document in documents:
        try:
            ids = vocabs.tokenize_exact(tokenizer.hf, tokenizer.token_bytes, document.text)
        except StructgenError as error:
            dropped.append({"source": document.source, "reason": str(error)[:300]})
            continue
        kept.append((document, ids))
    return _Walks(grammar, kept, dropped)


# -- one engine on one grammar ------------------------------------------------------------------


@dataclass
class _Run:
    """What one (engine, grammar) produced: the JSON record and the raw material of the
    summaries that need every engine (per-document times, kept masks)."""

    record: dict[str, Any]
    doc_times: dict[int, list[int]] = field(default_factory=dict)  # passed documents only
    warm_times: dict[int, list[int]] = field(default_factory=dict)
    masks: dict[int, list[np.ndarray]] = field(default_factory=dict)
    first_fill_ns: int | None = None  # the first mask after the first compile
    failed: set[int] = field(default_factory=set)
    skipped: int = 0  # documents not walked: the time budget ran out


def _describe_failure(
    tokenizer: vocabs.LoadedTokenizer,
    ids: list[int],
    step: int,
    document: BenchDocument,
    what: str,
    allowed: int,
) -> dict[str, Any]:
    prefix = b"".join(tokenizer.token_bytes[i] or b"" for i in ids[:step])
    token = ids[step] if step < len(ids) else tokenizer.eos_id
    return {
        "source": document.source,
        "step": step,
        "what": what,
        "token": int(token),
        "token_bytes": repr(tokenizer.token_bytes[token]) if step < len(ids) else "EOS",
        "prefix_tail": repr(prefix[-60:].decode("utf-8", "replace")),
        "allowed_tokens": allowed,
        "document_chars": len(document.text),
    }


def _first_pass(engine: EngineAdapter, compiled: Any, walks: _Walks,
                tokenizer: vocabs.LoadedTokenizer, run: _Run, check_docs: int,
                budget_s: float, bar: Any) -> list[dict[str, Any]]:  # fmt: skip
    """Walk every document once: time each fill, then check the token; returns the failures.

    Documents left when ``budget_s`` seconds have passed are skipped (counted in ``run``)."""
    bitmask = new_bitmask(engine.mask_words)
    fill, advance, clock = engine.fill, engine.advance, time.perf_counter_ns
    eos = tokenizer.eos_id
    failures: list[dict[str, Any]] = []
    kept_steps = 0
    deadline = time.perf_counter() + budget_s
    for index, (document, ids) in enumerate(walks.documents):
        if time.perf_counter() > deadline:
            run.skipped = len(walks.documents) - index
            bar.update(run.skipped)
            break
        keep = index < check_docs and kept_steps < _MAX_KEPT_STEPS
        kept: list[np.ndarray] = []
        times: list[int] = []
        failure: dict[str, Any] | None = None
        try:
            matcher = engine.matcher(compiled)
            for step in range(len(ids) + 1):
                started = clock()
                fill(matcher, bitmask)
                times.append(clock() - started)
                if run.first_fill_ns is None:
                    run.first_fill_ns = times[0]
                if keep:
                    kept.append(bitmask.copy())
                expected = eos if step == len(ids) else ids[step]
                if not mask_bit(bitmask, expected):
                    what = "EOS not allowed at the end" if step == len(ids) else (
                        "valid token masked out")  # fmt: skip
                    failure = _describe_failure(
                        tokenizer, ids, step, document, what,
                        int(allowed_ids(bitmask, tokenizer.vocab_size).size),
                    )  # fmt: skip
                    break
                if step == len(ids):
                    break
                token = expected
                if not advance(matcher, token):
                    failure = _describe_failure(tokenizer, ids, step, document,
                                                "valid token rejected by advance", -1)  # fmt: skip
                    break
        except Exception as error:  # an engine's failure on a document is a result
            failure = {"source": document.source, "what": f"{type(error).__name__}: {error}"}
        if kept:
            run.masks[index] = kept
            kept_steps += len(kept)
        if failure is None:
            run.doc_times[index] = times
        else:
            failures.append(failure)
            run.failed.add(index)
        bar.update(1)
    return failures


def _warm_pass(engine: EngineAdapter, compiled: Any, walks: _Walks, run: _Run,
               budget_s: float) -> None:  # fmt: skip
    """Walk the passed documents again on the same compiled grammar, timing the fills only."""
    bitmask = new_bitmask(engine.mask_words)
    deadline = time.perf_counter() + budget_s
    for index in run.doc_times:
        if time.perf_counter() > deadline:
            break
        _document, ids = walks.documents[index]
        times: list[int] = []
        timed_walk(engine, compiled, ids, bitmask, times)
        run.warm_times[index] = times


def _run_grammar(engine: EngineAdapter, walks: _Walks, tokenizer: vocabs.LoadedTokenizer,
                 config: GrammarBenchConfig, bar: Any) -> _Run:  # fmt: skip
    """Compile, walk (checked, timed), re-compile one (engine, grammar); never raises."""
    grammar = walks.grammar
    run = _Run({"status": "ok", "error": None, "grammar_form": engine.grammar_form})
    record = run.record
    if engine.name == "xgrammar":
        record["grammar_form"] = f"{grammar.xgrammar_source()} ({engine.grammar_form})"
    documents = len(walks.documents)
    if engine.only_grammars is not None and grammar.name not in engine.only_grammars:
        record.update(status="n/a", error=None)
        return run
    memory = MemoryProbe()
    compile_times: list[float] = []
    try:
        with gc_paused():
            started = time.perf_counter()
            compiled = engine.compile_grammar(grammar)
            compile_times.append(time.perf_counter() - started)
    except GrammarNotSupported as error:
        record.update(status="not expressible", error=str(error))
        bar.update(documents)
        return run
    except Exception as error:  # an engine's failure is a result, not a crash
        record.update(status="error", error=f"compile: {type(error).__name__}: {error}")
        bar.update(documents)
        return run
    memory.compiled()
    try:
        record["memory_own_bytes"] = engine.memory_bytes(compiled)
    except Exception:
        record["memory_own_bytes"] = None
    with gc_paused():
        failures = _first_pass(engine, compiled, walks, tokenizer, run, config.check_docs,
                               config.budget_s, bar)  # fmt: skip
    passed = len(run.doc_times)
    record["correctness"] = {
        "documents": documents,
        "passed": passed,
        "failed": len(failures),
        "skipped_time_budget": run.skipped,
        "checked_steps": sum(len(t) for t in run.doc_times.values()),
        "all_passed": not failures,
        "failures": failures[:10],
    }
    if failures:
        record["error"] = f"{len(failures)} of {documents} documents failed; first: " + (
            f"{failures[0]['source']}: {failures[0]['what']}"
            + (f" at step {failures[0]['step']}, token {failures[0]['token_bytes']} after "
               f"{failures[0]['prefix_tail']}" if "step" in failures[0] else "")  # fmt: skip
        )
        if not passed:
            record["status"] = "error"
    kept = sum(int(m.nbytes) for masks in run.masks.values() for m in masks)
    if not memory.finish(record, kept, HEAP_METHOD):
        record["memory_method"] = f"own report: {engine.own_memory}"
    if config.warm_pass and passed:
        try:
            with gc_paused():
                _warm_pass(engine, compiled, walks, run, config.budget_s)
        except Exception as error:
            record["warm_error"] = f"{type(error).__name__}: {error}"
    del compiled
    first_masks = [run.first_fill_ns / 1e9] if run.first_fill_ns is not None else []
    failed = recompile(engine, lambda: engine.compile_grammar(grammar), config.repeat - 1,
                       compile_times, first_masks)  # fmt: skip
    if failed is not None:
        record["recompile_error"] = failed
    record_compiles(record, compile_times, first_masks)
    return run


# -- summaries that need every engine -----------------------------------------------------------


def _summarise(runs: dict[str, _Run], walks: _Walks) -> None:
    """Mask statistics over the documents no primary engine failed (written into records).

    A row's statistics cover the documents it walked (the time budget may cut a slow engine
    short) less those any primary engine failed, so rows compare the same kind of steps."""
    primaries = [
        name for name in PRIMARY_ENGINES
        if name in runs and runs[name].record.get("status") == "ok"
    ]  # fmt: skip
    failed_somewhere: set[int] = set()
    for name in primaries:
        failed_somewhere |= runs[name].failed
    for name, run in runs.items():
        record = run.record
        if record.get("status") != "ok":
            continue
        used = sorted(set(run.doc_times) - failed_somewhere)
        record["documents_in_stats"] = len(used)
        samples = [t for index in used for t in run.doc_times[index]]
        record["mask"] = summarize_ns(samples)
        own = [t for times in run.doc_times.values() for t in times]
        record["mask_own_documents"] = summarize_ns(own)
        per_doc = [sum(run.doc_times[i]) / len(run.doc_times[i]) for i in used]
        record["per_document"] = summarize_ns([int(v) for v in per_doc])
        record["per_document"]["description"] = (
            "mean mask time per token of each document (µs), summarised over documents"
        )
        if used:
            record["total_mask_ms"] = sum(samples) / 1e6
            record["tokens"] = len(samples)
        warm = [t for index in used if index in run.warm_times for t in run.warm_times[index]]
        if warm:
            record["mask_warm"] = summarize_ns(warm)


# -- the run --------------------------------------------------------------------------------------


def _engine_info(engine: EngineAdapter) -> dict[str, Any]:
    return {
        **engine.info(),
        "cold_compile": engine.cold_compile_grammar,
        "grammar_form": engine.grammar_form,
        "own_memory": engine.own_memory,
        "only_grammars": list(engine.only_grammars) if engine.only_grammars else None,
    }


def _resolve_vocab_dir(config: GrammarBenchConfig, data_dir: Path) -> Path | None:
    if config.vocab_dir is not None:
        return vocabs.resolve_vocab_dir(config.vocab_dir, download=False)
    shipped = data_dir / "vocabs"
    if all((shipped / s.gguf_file).is_file() for s in vocabs.TOKENIZERS.values() if s.in_vocab_dir):
        return shipped
    return vocabs.resolve_vocab_dir(None, download=False)


def _documents(config: GrammarBenchConfig, names: list[str], data_dir: Path
               ) -> tuple[dict[str, list[BenchDocument]], dict[str, Any]]:  # fmt: skip
    documents: dict[str, list[BenchDocument]] = {}
    info: dict[str, Any] = {}
    sample = config.sample or (QUICK_SAMPLE if config.quick else 200)
    corpus_limit = config.max_corpus_docs or (QUICK_CORPUS_DOCS if config.quick else None)
    for name in names:
        if name == "json":
            found, counts = json_documents(data_dir, sample, seed=config.seed,
                                           max_bytes=config.max_doc_bytes)  # fmt: skip
            documents[name] = found
            info[name] = {"source": f"JSONSchemaBench data in {data_dir}", "kinds": counts,
                          "max_bytes": config.max_doc_bytes, "seed": config.seed}  # fmt: skip
        else:
            documents[name] = corpus_documents(name)[:corpus_limit]
            info[name] = {"source": "structgen_bench.grammar_docs.CORPUS (checked with lark)"}
        texts = [d.text for d in documents[name]]
        info[name].update(
            documents=len(texts),
            bytes_mean=sum(len(t.encode()) for t in texts) / max(1, len(texts)),
            bytes_max=max((len(t.encode()) for t in texts), default=0),
        )
    return documents, info


def run_grammar_benchmark(config: GrammarBenchConfig) -> dict[str, Any]:
    """Run the grammar benchmark; returns the JSON-able results (see the module docstring)."""
    config.validate()
    tokenizer_keys = list(config.tokenizers or DEFAULT_TOKENIZERS)
    if config.quick and len(tokenizer_keys) != 1:
        tokenizer_keys = [QUICK_TOKENIZER]
    names = list(config.grammars or GRAMMARS)
    data_dir = config.data_dir or default_data_dir()
    check_corpus([n for n in names if n in CORPUS])
    grammars = {name: bundled_grammar(name) for name in names}
    documents, document_info = _documents(config, names, data_dir)
    vocab_dir, download_error = vocabs.vocab_dir_for(
        tokenizer_keys, _resolve_vocab_dir(config, data_dir)
    )

    engines = {name: make_grammar_engine(name) for name in config.engines}
    results: dict[str, Any] = {
        "benchmark": "grammar",
        "schema_version": SCHEMA_VERSION,
        "machine": machine_info(),
        "config": {
            "tokenizers": tokenizer_keys,
            "engines": list(engines),
            "grammars": names,
            "repeat": config.repeat,
            "check_docs": config.check_docs,
            "quick": config.quick,
            "data_dir": str(data_dir),
            "vocab_dir": str(vocab_dir) if vocab_dir else None,
            "warm_pass": config.warm_pass,
            "budget_s": config.budget_s,
        },
        "engines": {name: _engine_info(engine) for name, engine in engines.items()},
        "grammars": {
            name: {
                **document_info[name],
                "xgrammar_source": grammar.xgrammar_source(),
                "llguidance_changes": grammar.llguidance_changes(),
            }
            for name, grammar in grammars.items()
        },
        "tokenizers": {},
        "setup": [],
        "results": [],
        "mask_agreement": [],
    }
    runnable = [n for n, info in results["engines"].items() if info["status"] == "ok"]
    per_tokenizer = sum(
        len(documents[g]) for n in runnable for g in names
        if engines[n].only_grammars is None or g in engines[n].only_grammars
    )  # fmt: skip
    for_each_tokenizer(
        tokenizer_keys, vocab_dir, download_error, results, steps=per_tokenizer, unit="doc",
        progress=config.progress,
        run=lambda tokenizer, bar: _run_tokenizer(tokenizer, engines, grammars, documents,
                                                  config, results, bar),
    )  # fmt: skip
    return results


def _run_tokenizer(
    tokenizer: vocabs.LoadedTokenizer,
    engines: dict[str, EngineAdapter],
    grammars: dict[str, BenchGrammar],
    documents: dict[str, list[BenchDocument]],
    config: GrammarBenchConfig,
    results: dict[str, Any],
    bar: Any,
) -> None:
    """Every engine on every grammar for one vocabulary; appends to ``results``."""
    key = tokenizer.spec.key
    walks = {name: _tokenize(tokenizer, grammar, documents[name])
             for name, grammar in grammars.items()}  # fmt: skip
    results["tokenizers"][key] = {
        **vocabs.tokenizer_facts(tokenizer),
        "documents": {
            name: {
                "tokens_total": sum(len(ids) for _d, ids in w.documents),
                "tokens_max": max((len(ids) for _d, ids in w.documents), default=0),
                "documents": len(w.documents),
                "dropped": w.dropped,
            }
            for name, w in walks.items()
        },
    }
    runs: dict[str, dict[str, _Run]] = {name: {} for name in grammars}
    for name, engine in engines.items():
        applicable = [g for g in grammars
                      if engine.only_grammars is None or g in engine.only_grammars]  # fmt: skip
        if results["engines"][name]["status"] != "ok":
            for grammar in grammars:
                results["results"].append({"tokenizer": key, "engine": name, "grammar": grammar,
                                           "status": "not installed", "error": None})  # fmt: skip
            continue
        bar.set_description(f"{key}: {name} setup")
        setup = {"tokenizer": key, "engine": name,
                 **set_up(engine, tokenizer, engine.grammar_warm_up)}  # fmt: skip
        results["setup"].append(setup)
        with gc_frozen():
            for grammar in grammars:
                bar.set_description(f"{key}: {name} {grammar}")
                if setup["status"] != "ok":
                    run = _Run({"status": "error", "error": f"setup: {setup['error']}"})
                    if grammar in applicable:
                        bar.update(len(walks[grammar].documents))
                elif not walks[grammar].documents:
                    run = _Run({"status": "error", "error": "no document could be tokenized"})
                else:
                    run = _run_grammar(engine, walks[grammar], tokenizer, config, bar)
                runs[grammar][name] = run
        engine.release()
        gc.collect()
    for grammar, by_engine in runs.items():
        _summarise(by_engine, walks[grammar])
        for name, run in by_engine.items():
            results["results"].append({"tokenizer": key, "engine": name, "grammar": grammar,
                                       **run.record})  # fmt: skip
        kept = {name: run.masks for name, run in by_engine.items()}
        compared = compare_masks(kept, grammars[grammar].ir, walks[grammar].documents, tokenizer)
        for name, agreement in compared.items():
            results["mask_agreement"].append({"tokenizer": key, "grammar": grammar,
                                              "engine": name, **agreement})  # fmt: skip
        by_engine.clear()
        gc.collect()

