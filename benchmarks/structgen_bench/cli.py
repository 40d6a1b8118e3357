"""``structgen bench …`` (and ``structgen-bench …``): the benchmarks' command line.

Each benchmark is a sub-command (``regex``, ``grammar``, ``maskbench``, ``decode`` and
``batch``): it runs, writes ``<out>/<name>.json`` and ``<out>/<name>.png``, and replaces its
own marked section of ``BENCHMARKS.md``. The options every benchmark shares come from
:func:`add_common_options`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from structgen.errors import StructgenError
from structgen_bench import (
    batch_report,
    decode_report,
    grammar_report,
    maskbench_report,
    regex_report,
)
from structgen_bench.batch_bench import DEFAULT_BATCH_SIZES, BatchBenchConfig, run_batch_benchmark
from structgen_bench.decode_bench import DEFAULT_CONFIGS, DecodeBenchConfig, run_decode_benchmark
from structgen_bench.grammar_bench import (
    DEFAULT_TOKENIZERS as GRAMMAR_DEFAULT_TOKENIZERS,
)
from structgen_bench.grammar_bench import (
    GRAMMARS,
    QUICK_SAMPLE,
    GrammarBenchConfig,
    run_grammar_benchmark,
)
from structgen_bench.maskbench import (
    DEFAULT_TOKENIZER as MASKBENCH_DEFAULT_TOKENIZER,
)
from structgen_bench.maskbench import MASKBENCH_ENGINES, MaskBenchConfig, run_maskbench
from structgen_bench.patterns import PATTERNS, QUICK_PATTERNS
from structgen_bench.peers import ENGINES, GRAMMAR_ENGINES
from structgen_bench.regex_bench import RegexBenchConfig, run_regex_benchmark
from structgen_bench.report import update_markdown_file, write_json
from structgen_bench.vocabs import TOKENIZERS

__all__ = ["build_parser", "main", "add_common_options", "EXIT_USAGE"]

DEFAULT_OUT = Path("benchmarks") / "results"
DEFAULT_MARKDOWN = Path("BENCHMARKS.md")
EXIT_USAGE = 2


def build_parser(prog: str = "structgen bench") -> argparse.ArgumentParser:
    """The parser of every benchmark, each a sub-command."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Benchmarks: structgen side by side with its peers (xgrammar, outlines-core, "
        "llguidance), in one run.",
    )
    benches = parser.add_subparsers(dest="bench", metavar="BENCHMARK")
    _register_regex(benches)
    _register_grammar(benches)
    _register_maskbench(benches)
    _register_decode(benches)
    _register_batch(benches)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "structgen bench") -> int:
    """Run the benchmark ``argv`` names; 2 on bad usage or bad input."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except StructgenError as error:
        print(f"{prog} {args.bench}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog} {args.bench}: interrupted", file=sys.stderr)
        return 130


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def add_common_options(
    parser: argparse.ArgumentParser,
    *,
    engines: Sequence[str],
    repeat: int | None = None,
    repeat_help: str = "",
) -> None:
    """The options every benchmark has: ``--engines``, ``--out``, ``--markdown``,
    ``--no-markdown``, ``--no-plot``, ``--no-progress``, and ``--repeat`` when ``repeat`` is
    given (its default)."""
    parser.add_argument(
        "--engines",
        type=_csv,
        default=list(engines),
        metavar="LIST",
        help=f"comma-separated engines (default: {','.join(engines)}); a missing peer is "
        "reported as 'not installed'",
    )
    if repeat is not None:
        parser.add_argument("--repeat", type=int, default=repeat, metavar="N",
                            help=f"{repeat_help} (default {repeat})")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"where the JSON and PNG go (default {DEFAULT_OUT})")  # fmt: skip
    parser.add_argument(
        "--markdown",
        type=Path,
        default=DEFAULT_MARKDOWN,
        metavar="FILE",
        help=f"markdown file whose marked section is replaced (default {DEFAULT_MARKDOWN})",
    )
    parser.add_argument("--no-markdown", action="store_true", help="do not touch the markdown file")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_vocab_dir(parser: argparse.ArgumentParser, default_help: str) -> None:
    parser.add_argument("--vocab-dir", type=Path, default=None, metavar="DIR",
                        help=f"folder with the ggml-vocab-*.gguf files (default: {default_help})")


def _add_data(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"{what} (default $STRUCTGEN_BENCH_DATA, else shared/data beside the repository); "
        "its vocabs/ folder is used for the GGUF files when present",
    )


def _add_sample_and_seed(parser: argparse.ArgumentParser, sample_help: str, seed_of: str) -> None:
    parser.add_argument("--sample", type=int, default=None, metavar="N", help=sample_help)
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help=f"seed of {seed_of} (default 0)")  # fmt: skip


def _register_regex(benches: Any) -> None:
    parser = benches.add_parser(
        "regex",
        help="regex compile time, per-token mask time and memory on real vocabularies",
        description="For realistic regexes and real tokenizers, measure cold compile time, "
        "per-token mask time (p50/p99/max) and compiled memory of every engine, after "
        "checking that each engine allows every token of valid example strings.",
    )
    parser.add_argument(
        "--tokenizers",
        type=_csv,
        default=list(TOKENIZERS),
        metavar="LIST",
        help=f"comma-separated vocabularies (default: all of {','.join(TOKENIZERS)})",
    )
    parser.add_argument(
        "--patterns",
        type=_csv,
        default=None,
        metavar="LIST",
        help=f"comma-separated patterns (default: all of {','.join(PATTERNS)})",
    )
    _add_vocab_dir(parser, "the download cache, filled from the llama-cpp-python 0.3.36 source "
                   "package on first use")  # fmt: skip
    parser.add_argument(
        "--max-examples", type=int, default=None, metavar="N",
        help="use at most N example strings per pattern",
    )  # fmt: skip
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI size: one small vocabulary (smollm2, else gpt2) and the patterns "
        f"{','.join(QUICK_PATTERNS)} unless given",
    )
    add_common_options(parser, engines=list(ENGINES), repeat=5,
                       repeat_help="cold compiles and timed walks per pattern")  # fmt: skip
    parser.set_defaults(func=run_regex)


def run_regex(args: argparse.Namespace) -> int:
    config = RegexBenchConfig(
        tokenizers=args.tokenizers,
        engines=args.engines,
        patterns=args.patterns,
        repeat=args.repeat,
        vocab_dir=args.vocab_dir,
        quick=args.quick,
        progress=not args.no_progress,
        max_examples=args.max_examples,
    )
    results = run_regex_benchmark(config)
    _publish(results, args, "regex", regex_report.plot_results, regex_report.render_markdown)
    errors = [r for r in results["results"] if r.get("status") == "error"]
    if errors:
        print(f"{len(errors)} engine/pattern runs failed; see the errors above", file=sys.stderr)
    return 0


def _register_grammar(benches: Any) -> None:
    parser = benches.add_parser(
        "grammar",
        help="context-free grammars: compile time, per-token mask time and memory on real "
        "documents",
        description="For the bundled grammars (JSON on JSONSchemaBench documents, and "
        "arithmetic, sql_select, csv, python_expr on a hand-written corpus) and real "
        "tokenizers, measure cold compile time, per-token mask time (p50/p99/max/mean, "
        "per document) and memory of structgen, xgrammar and llguidance, after checking "
        "that each engine allows every token of every document.",
    )
    parser.add_argument(
        "--tokenizers",
        type=_csv,
        default=None,
        metavar="LIST",
        help=f"comma-separated vocabularies (default: {','.join(GRAMMAR_DEFAULT_TOKENIZERS)}; "
        f"any of {','.join(TOKENIZERS)})",
    )
    parser.add_argument(
        "--grammars",
        type=_csv,
        default=None,
        metavar="LIST",
        help=f"comma-separated grammars (default: all of {','.join(GRAMMARS)})",
    )
    _add_data(parser, "JSONSchemaBench data in the layout of shared/data "
              "(maskbench-tests/*.jsonl, jsonschemabench/<subset>/*.json)")  # fmt: skip
    _add_sample_and_seed(parser, f"JSON documents (default 200; {QUICK_SAMPLE} with --quick)",
                         "the JSON document sample")  # fmt: skip
    parser.add_argument("--max-doc-bytes", type=int, default=8192, metavar="N",
                        help="skip JSON documents longer than N bytes (default 8192)")  # fmt: skip
    parser.add_argument("--max-corpus-docs", type=int, default=None, metavar="N",
                        help="use at most N corpus documents per non-JSON grammar")  # fmt: skip
    parser.add_argument("--check-docs", type=int, default=10, metavar="N",
                        help="documents per grammar whose masks are compared across engines "
                        "(default 10)")  # fmt: skip
    parser.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                        help="time budget per pass of one engine on one grammar; the "
                        "documents left are skipped (default 90; 15 with --quick)")  # fmt: skip
    parser.add_argument("--no-warm-pass", action="store_true",
                        help="skip the second (warm) pass over the documents")  # fmt: skip
    _add_vocab_dir(parser, "<data>/vocabs, else the download cache")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI size: one small vocabulary (smollm2), {QUICK_SAMPLE} JSON documents, "
        "5 corpus documents per grammar, unless given",
    )
    add_common_options(parser, engines=list(GRAMMAR_ENGINES), repeat=3,
                       repeat_help="cold compiles per grammar")  # fmt: skip
    parser.set_defaults(func=run_grammar)


def run_grammar(args: argparse.Namespace) -> int:
    config = GrammarBenchConfig(
        tokenizers=args.tokenizers,
        engines=args.engines,
        grammars=args.grammars,
        sample=args.sample,
        max_doc_bytes=args.max_doc_bytes,
        max_corpus_docs=args.max_corpus_docs,
        data_dir=args.data,
        vocab_dir=args.vocab_dir,
        repeat=args.repeat,
        check_docs=args.check_docs,
        warm_pass=not args.no_warm_pass,
        budget_s=args.budget if args.budget is not None else (15.0 if args.quick else 90.0),
        seed=args.seed,
        quick=args.quick,
        progress=not args.no_progress,
    )
    results = run_grammar_benchmark(config)
    _publish(results, args, "grammar", grammar_report.plot_results, grammar_report.render_markdown)
    ours = [r for r in results["results"] if r["engine"] == "structgen"]
    if any(r.get("correctness", {}).get("failed") or r.get("status") == "error" for r in ours):
        print("structgen refused valid documents; see the failures above", file=sys.stderr)
    return 0


def _register_maskbench(benches: Any) -> None:
    parser = benches.add_parser(
        "maskbench",
        help="the MaskBench protocol on JSONSchemaBench: compile errors, validation errors, "
        "time to first mask and time between masks per engine",
        description="For the JSON Schemas of a directory in the layout of shared/data "
        "(jsonschemabench/<subset>/*.json, maskbench-tests/<subset>.jsonl), compile each schema "
        "cold in every engine (time to first mask), feed each valid and invalid test instance "
        "token by token (time between masks), and count per subset the schemas each engine "
        "refuses, the valid instances it rejects and the invalid ones it accepts.",
    )
    _add_data(parser, "the data directory")
    parser.add_argument(
        "--tokenizer",
        default=MASKBENCH_DEFAULT_TOKENIZER,
        metavar="NAME_OR_GGUF",
        help=f"a GGUF vocabulary file, or one of {','.join(TOKENIZERS)} "
        f"(default {MASKBENCH_DEFAULT_TOKENIZER})",
    )
    parser.add_argument("--subsets", type=_csv, default=None, metavar="LIST",
                        help="comma-separated subsets (default: all of --data)")  # fmt: skip
    _add_sample_and_seed(parser, "schemas per subset, sampled deterministically (default: all)",
                         "the sample")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="per schema and engine, on compile + first mask: an engine past it "
                        "is stopped and has a compile error 'timeout' (default 30)")  # fmt: skip
    parser.add_argument("--walk-budget", type=float, default=120.0, metavar="SECONDS",
                        help="per schema and engine, on walking all its instances; instances "
                        "left are an error (default 120)")  # fmt: skip
    parser.add_argument("--in-process", action="store_true",
                        help="run the engines in this process instead of one worker process "
                        "each: a compile past --timeout is then counted, not stopped")  # fmt: skip
    parser.add_argument("--memory-limit", type=float, default=8.0, metavar="GB",
                        help="address-space cap of each worker process; an engine past it fails "
                        "on that schema (default 8; 0: none)")  # fmt: skip
    parser.add_argument("--no-repeat", action="store_true",
                        help="skip the second compile of each schema (structgen's warm-cache "
                        "TTFM, the peers' in-process repeat) and the memory pass")  # fmt: skip
    parser.add_argument("--no-trace-memory", action="store_true",
                        help="skip structgen's tracemalloc pass (an untimed cold compile and "
                        "walk of each schema)")  # fmt: skip
    parser.add_argument("--fresh-runs", type=int, default=5, metavar="N",
                        help="fresh processes per engine for the first compile of a small "
                        "schema: import, tokenizer, compile + first mask (default 5; 0: "
                        "skip)")  # fmt: skip
    _add_vocab_dir(parser, "<data>/vocabs, else the download cache")
    add_common_options(parser, engines=MASKBENCH_ENGINES)
    parser.set_defaults(func=run_maskbench_command)


def run_maskbench_command(args: argparse.Namespace) -> int:
    config = MaskBenchConfig(
        data_dir=args.data,
        tokenizer=args.tokenizer,
        engines=args.engines,
        subsets=args.subsets,
        sample=args.sample,
        seed=args.seed,
        timeout_s=args.timeout,
        walk_budget_s=args.walk_budget,
        in_process=args.in_process,
        memory_limit_gb=args.memory_limit,
        vocab_dir=args.vocab_dir,
        progress=not args.no_progress,
        repeat=not args.no_repeat,
        trace_memory=not args.no_trace_memory,
        fresh_runs=args.fresh_runs,
    )
    results = run_maskbench(config)
    results["config"]["out"] = str(args.out)  # where the report's plots are linked from
    _publish(results, args, "maskbench", maskbench_report.plot_results,
             maskbench_report.render_markdown)  # fmt: skip
    ours = results.get("summary", {}).get("all", {}).get("structgen")
    if ours and (ours["validation_errors"] or ours["invalidation_errors"] or ours["other_errors"]):
        print("structgen had validation, invalidation or other errors; see the list above",
              file=sys.stderr)  # fmt: skip
    return 0


def _register_decode(benches: Any) -> None:
    parser = benches.add_parser(
        "decode",
        help="end-to-end constrained decoding with SmolLM2 on the CPU: tokens/s, forward "
        "passes and constraint evaluations per token, validity, per configuration",
        description="SmolLM2-135M-Instruct writes an instance of each sampled JSONSchemaBench "
        "schema (the schema in the prompt) under each decoding configuration (free, full mask, "
        "AWRS, jump-forward, speculation); per configuration: output tokens per second, "
        "forward passes and constraint evaluations per output token, valid outputs, p50/p99 "
        "time per schema.",
    )
    _add_data(parser, "the data directory (jsonschemabench/<subset>/*.json)")
    parser.add_argument("--subsets", type=_csv, default=None, metavar="LIST",
                        help="comma-separated subsets (default: JSONSchemaBench's 10)")  # fmt: skip
    parser.add_argument("--sample", type=int, default=10, metavar="N",
                        help="schemas, the subsets taken in turn (default 10)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the sample and of the sampling runs (default 0)")  # fmt: skip
    parser.add_argument("--max-new-tokens", type=int, default=128, metavar="N",
                        help="token budget per run (default 128)")  # fmt: skip
    parser.add_argument("--max-schema-bytes", type=int, default=4000, metavar="N",
                        help="skip schemas longer than N bytes of compact JSON "
                        "(default 4000)")  # fmt: skip
    parser.add_argument("--configs", type=_csv, default=list(DEFAULT_CONFIGS), metavar="LIST",
                        help=f"comma-separated configurations (default: all of "
                        f"{','.join(DEFAULT_CONFIGS)})")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="torch CPU threads (default 1: steady on a shared machine; 0: "
                        "torch's default)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"where the JSON and PNG go (default {DEFAULT_OUT})")  # fmt: skip
    parser.add_argument("--markdown", type=Path, default=DEFAULT_MARKDOWN, metavar="FILE",
                        help=f"markdown file whose marked section is replaced "
                        f"(default {DEFAULT_MARKDOWN})")  # fmt: skip
    parser.add_argument("--no-markdown", action="store_true", help="do not touch the markdown file")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_decode_command)


def run_decode_command(args: argparse.Namespace) -> int:
    config = DecodeBenchConfig(
        data_dir=args.data,
        subsets=args.subsets,
        sample=args.sample,
        seed=args.seed,
        max_new_tokens=args.max_new_tokens,
        max_schema_bytes=args.max_schema_bytes,
        configs=args.configs,
        threads=args.threads,
        progress=not args.no_progress,
    )
    results = run_decode_benchmark(config)
    results["config"]["out"] = str(args.out)  # where the report's plot is linked from
    _publish(results, args, "decode", decode_report.plot_results, decode_report.render_markdown)
    return 0


def _register_batch(benches: Any) -> None:
    parser = benches.add_parser(
        "batch",
        help="batched masks: fill time per batch size against xgrammar's batch matcher, "
        "apply kernels, overlap, end-to-end overhead with SmolLM2",
        description="On the Llama-3 vocabulary: mask fill time for batches of different JSON "
        "Schemas (structgen's fill_next_token_bitmasks against xgrammar's BatchGrammarMatcher, "
        "same rows and steps, first visit and warm, masks compared), apply-kernel time per "
        "row; with the model: how much mask time fill_async hides, and tokens/s of SmolLM2 "
        "through transformers and llama-cpp-python with and without a processor.",
    )
    _add_data(parser, "the data directory (jsonschemabench/, maskbench-tests/, vocabs/)")
    parser.add_argument("--tokenizer", default="llama3", metavar="NAME_OR_GGUF",
                        help="a GGUF vocabulary file or a benchmark vocabulary key "
                        "(default llama3)")  # fmt: skip
    parser.add_argument("--subsets", type=_csv, default=None, metavar="LIST",
                        help="comma-separated subsets (default: all of --data)")  # fmt: skip
    parser.add_argument("--batch-sizes", type=lambda v: [int(x) for x in _csv(v)],
                        default=list(DEFAULT_BATCH_SIZES), metavar="LIST",
                        help="comma-separated batch sizes (default 1,8,32,64)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=48, metavar="N",
                        help="fill calls per pass and batch size (default 48)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="row sample seed")
    parser.add_argument("--whitespace", choices=("compact", "flexible"), default="compact",
                        help="schema whitespace in both engines (default compact)")  # fmt: skip
    parser.add_argument("--max-schema-bytes", type=int, default=6000, metavar="N",
                        help="leave out larger schemas (default 6000)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="structgen's fill threads (default 1)")  # fmt: skip
    parser.add_argument("--xgrammar-threads", default="auto", metavar="N",
                        help="BatchGrammarMatcher max_threads (default auto)")  # fmt: skip
    parser.add_argument("--apply-repeat", type=int, default=50, metavar="N",
                        help="timed apply calls per kernel and size (default 50)")  # fmt: skip
    parser.add_argument("--no-model", action="store_true",
                        help="skip the overlap and end-to-end parts (no SmolLM2)")  # fmt: skip
    parser.add_argument("--max-new-tokens", type=int, default=48, metavar="N",
                        help="end-to-end token budget per run (default 48)")  # fmt: skip
    parser.add_argument("--e2e-schemas", type=int, default=3, metavar="N",
                        help="end-to-end schemas (default 3)")  # fmt: skip
    _add_vocab_dir(parser, "<data>/vocabs, else the download cache")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"where the JSON and PNG go (default {DEFAULT_OUT})")  # fmt: skip
    parser.add_argument("--markdown", type=Path, default=DEFAULT_MARKDOWN, metavar="FILE",
                        help=f"markdown file whose marked section is replaced "
                        f"(default {DEFAULT_MARKDOWN})")  # fmt: skip
    parser.add_argument("--no-markdown", action="store_true", help="do not touch the markdown file")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_batch_command)


def run_batch_command(args: argparse.Namespace) -> int:
    threads = args.xgrammar_threads
    config = BatchBenchConfig(
        data_dir=args.data,
        tokenizer=args.tokenizer,
        vocab_dir=args.vocab_dir,
        subsets=args.subsets,
        batch_sizes=args.batch_sizes,
        steps=args.steps,
        seed=args.seed,
        whitespace=args.whitespace,
        max_schema_bytes=args.max_schema_bytes,
        structgen_threads=args.threads,
        xgrammar_threads=int(threads) if str(threads).isdigit() else threads,
        apply_repeat=args.apply_repeat,
        model=not args.no_model,
        e2e_schemas=args.e2e_schemas,
        e2e_max_new_tokens=args.max_new_tokens,
        progress=not args.no_progress,
    )
    results = run_batch_benchmark(config)
    results["config"]["out"] = str(args.out)
    _publish(results, args, "batch", batch_report.plot_results, batch_report.render_markdown)
    return 0


def _publish(results: dict[str, Any], args: argparse.Namespace, name: str,
             plot: Callable[[dict[str, Any], Path], Path | None],
             render: Callable[[dict[str, Any]], str]) -> None:  # fmt: skip
    """Record the command, write ``<name>.json``, the plot and the report section; print them."""
    command = sys.argv[1:] if sys.argv[1:2] == ["bench"] else ["bench", name]
    results["config"]["command"] = "structgen " + " ".join(shlex.quote(a) for a in command)
    print(f"results: {write_json(results, args.out, name)}")
    if not args.no_plot:
        png = plot(results, args.out / f"{name}.png")
        print(f"plot: {png}" if png else "plot: skipped (matplotlib is not installed)")
    section = render(results)
    if not args.no_markdown:
        print(f"markdown: {update_markdown_file(args.markdown, section, name)}")
    print()
    print(section)
