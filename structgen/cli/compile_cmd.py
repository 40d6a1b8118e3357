"""``structgen compile``: compile a constraint and print what it became."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from structgen.cli.arguments import grammar_source


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compile",
        help=(
            "compile a constraint against a tokenizer and print states, mask statistics and timing"
        ),
        description=(
            "Compile a constraint against a tokenizer's vocabulary and report the automaton."
        ),
    )
    constraint = parser.add_mutually_exclusive_group(required=True)
    constraint.add_argument(
        "--regex", metavar="PATTERN", help="a regular expression (Python syntax, full match)"
    )
    constraint.add_argument(
        "--grammar",
        type=grammar_source,
        metavar="FILE|NAME",
        help="a .lark/.gbnf grammar file or a bundled grammar name",
    )
    parser.add_argument(
        "--tokenizer",
        metavar="PATH",
        help="a .gguf file or a tokenizer directory (default: the embedded SmolLM2 model's)",
    )
    parser.add_argument(
        "--max-states", type=int, default=100_000, help="DFA state limit (default 100000)"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the compile cache"
    )
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="also write the compiled constraint's bytes to FILE "
        "(CompiledGrammar.load(FILE, vocab) reads them back)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from structgen.runtime.compiler import compile_grammar, compile_regex
    from structgen.vocab import load_vocabulary

    started = time.perf_counter()
    vocab = load_vocabulary(args.tokenizer) if args.tokenizer else _default_vocabulary()
    vocab_seconds = time.perf_counter() - started
    if args.regex is not None:
        compiled = compile_regex(
            args.regex, vocab, max_states=args.max_states, cache=not args.no_cache
        )
    else:
        compiled = compile_grammar(args.grammar, vocab, cache=not args.no_cache)
    stats = {
        "constraint": compiled.source,
        "vocabulary": vocab.name,
        "vocab_load_seconds": vocab_seconds,
    }
    stats.update(compiled.stats())
    if args.out is not None:
        stats["out_bytes"] = _save(compiled, args.out)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    width = max(len(key) for key in stats)
    for key, value in stats.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    return 0


def _save(compiled: Any, out: str) -> int:
    """Write the compiled constraint's bytes to ``out``; their size."""
    from structgen.errors import ConfigurationError

    try:
        compiled.save(out)
        return os.path.getsize(out)
    except OSError as error:
        raise ConfigurationError(f"cannot write {out}: {error.strerror or error}") from None


def _default_vocabulary():  # noqa: ANN202 - returns structgen.Vocabulary
    from structgen.vocab import Vocabulary
    from structgen.vocab.smollm2 import default_model_gguf

    return Vocabulary.from_gguf(default_model_gguf())
