"""``structgen bench``: benchmarks of structgen side by side with its peers.

Each benchmark is a sub-command of ``bench`` (``regex``, ``grammar`` and ``maskbench``): it runs,
writes ``<out>/<name>.json`` and ``<out>/<name>.png``, and replaces its own marked section of
``BENCHMARKS.md``.

Registering the parsers imports nothing of :mod:`structgen.bench` (every ``structgen`` command
builds them): the choices below are static copies of the benchmark modules' constants, which
``tests/test_bench_maskbench.py`` checks against the modules; each ``run_*`` imports its module.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("benchmarks") / "results"
DEFAULT_MARKDOWN = Path("BENCHMARKS.md")

# Static copies (see the module docstring) of:
ENGINES = ("structgen", "xgrammar", "outlines-core", "llguidance")  # peers.ENGINES
GRAMMAR_ENGINES = (  # peers.GRAMMAR_ENGINES
    "structgen", "xgrammar", "llguidance", "xgrammar-builtin", "llguidance-builtin",
)  # fmt: skip
MASKBENCH_ENGINES = ("structgen", "llguidance", "xgrammar", "outlines-core")  # maskbench.…
TOKENIZERS = ("llama3", "qwen2", "llama2", "gpt2", "smollm2")  # vocabs.TOKENIZERS
PATTERNS = ("email", "datetime", "ipv4", "phone", "enum100", "uuid", "float")  # patterns.PATTERNS
QUICK_PATTERNS = ("email", "ipv4")  # patterns.QUICK_PATTERNS
GRAMMARS = ("json", "arithmetic", "sql_select", "csv", "python_expr")  # grammar_bench.GRAMMARS
GRAMMAR_DEFAULT_TOKENIZERS = ("llama3", "smollm2")  # grammar_bench.DEFAULT_TOKENIZERS
GRAMMAR_QUICK_SAMPLE = 10  # grammar_bench.QUICK_SAMPLE
MASKBENCH_DEFAULT_TOKENIZER = "llama3"  # maskbench.DEFAULT_TOKENIZER


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark structgen against its peers (xgrammar, outlines-core, llguidance)",
        description="Benchmarks: structgen side by side with its peers, in one run.",
    )
    benches = parser.add_subparsers(dest="bench", metavar="BENCHMARK")
    _register_regex(benches)
    _register_grammar(benches)
    _register_maskbench(benches)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _add_common(
    parser: argparse.ArgumentParser,
    engines: list[str] | None = None,
    repeat: int = 5,
    repeat_help: str = "cold compiles and timed walks per pattern",
) -> None:
    """Options every benchmark shares."""
    engines = list(ENGINES) if engines is None else engines
    parser.add_argument(
        "--engines",
        type=_csv,
        default=engines,
        metavar="LIST",
        help=f"comma-separated engines (default: {','.join(engines)}); a missing peer is "
        "reported as 'not installed'",
    )
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
    parser.add_argument(
        "--vocab-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder with the ggml-vocab-*.gguf files (default: the download cache, filled "
        "from the llama-cpp-python 0.3.36 source package on first use)",
    )
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
    _add_common(parser)
    parser.set_defaults(func=run_regex)


def run_regex(args: argparse.Namespace) -> int:
    from structgen.bench.regex_bench import RegexBenchConfig, run_regex_benchmark
    from structgen.bench.report import plot_results, render_markdown

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
    _publish(results, args, "regex", plot_results, render_markdown)
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
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="JSONSchemaBench data in the layout of shared/data (maskbench-tests/*.jsonl, "
        "jsonschemabench/<subset>/*.json; default $STRUCTGEN_BENCH_DATA, else shared/data "
        "beside the repository); its vocabs/ folder is used for the GGUF files when present",
    )
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help=f"JSON documents (default 200; {GRAMMAR_QUICK_SAMPLE} with --quick)")
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
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the JSON document sample (default 0)")  # fmt: skip
    parser.add_argument(
        "--vocab-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder with the ggml-vocab-*.gguf files (default: <data>/vocabs, else the "
        "download cache)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI size: one small vocabulary (smollm2), {GRAMMAR_QUICK_SAMPLE} JSON documents, "
        "5 corpus documents per grammar, unless given",
    )
    _add_common(parser, engines=list(GRAMMAR_ENGINES), repeat=3,
                repeat_help="cold compiles per grammar")  # fmt: skip
    parser.set_defaults(func=run_grammar)


def run_grammar(args: argparse.Namespace) -> int:
    from structgen.bench.grammar_bench import GrammarBenchConfig, run_grammar_benchmark
    from structgen.bench.grammar_report import plot_results, render_markdown

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
    _publish(results, args, "grammar", plot_results, render_markdown)
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
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="the data directory (default $STRUCTGEN_BENCH_DATA, else shared/data beside the "
        "repository); its vocabs/ folder is used for the GGUF files when present",
    )
    parser.add_argument(
        "--tokenizer",
        default=MASKBENCH_DEFAULT_TOKENIZER,
        metavar="NAME_OR_GGUF",
        help=f"a GGUF vocabulary file, or one of {','.join(TOKENIZERS)} "
        f"(default {MASKBENCH_DEFAULT_TOKENIZER})",
    )
    parser.add_argument("--subsets", type=_csv, default=None, metavar="LIST",
                        help="comma-separated subsets (default: all of --data)")  # fmt: skip
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="schemas per subset, sampled deterministically (default: all)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the sample (default 0)")  # fmt: skip
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
    parser.add_argument("--vocab-dir", type=Path, default=None, metavar="DIR",
                        help="folder with the ggml-vocab-*.gguf files (default: <data>/vocabs, "
                        "else the download cache)")  # fmt: skip
    parser.add_argument(
        "--engines",
        type=_csv,
        default=list(MASKBENCH_ENGINES),
        metavar="LIST",
        help=f"comma-separated engines (default: {','.join(MASKBENCH_ENGINES)}); a missing "
        "peer is reported as 'not installed'",
    )
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
    parser.set_defaults(func=run_maskbench)


def run_maskbench(args: argparse.Namespace) -> int:
    from structgen.bench.maskbench import MaskBenchConfig
    from structgen.bench.maskbench import run_maskbench as run
    from structgen.bench.maskbench_report import plot_results, render_markdown

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
    )
    results = run(config)
    _publish(results, args, "maskbench", plot_results, render_markdown)
    ours = results.get("summary", {}).get("all", {}).get("structgen")
    if ours and (ours["validation_errors"] or ours["invalidation_errors"] or ours["other_errors"]):
        print("structgen had validation, invalidation or other errors; see the list above",
              file=sys.stderr)  # fmt: skip
    return 0


def _publish(results: dict[str, Any], args: argparse.Namespace, name: str, plot: Any, render: Any) -> None:
    """Record the command, write ``<name>.json``, the plot and the report section; print them."""
    from structgen.bench.report import update_markdown_file, write_json

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
