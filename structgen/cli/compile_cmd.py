"""``structgen compile``: compile a constraint and print what it became.

    structgen compile --regex '\\d{3}-\\d{4}'
    structgen compile --grammar sql_select --whitespace compact
    structgen compile --schema person.json --tokenizer model.gguf --json

A schema is compiled as ``structgen generate`` compiles it (compact whitespace, properties in
the schema's order, unless flags say otherwise), so the compile cache it fills serves generate.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from structgen.cli.arguments import (
    add_constraint_options,
    constraint_options,
    grammar_source,
    schema_source,
)


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
    constraint.add_argument(
        "--schema",
        type=schema_source,
        metavar="FILE",
        help="a JSON Schema file (- for stdin), compiled as generate compiles it",
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
    add_constraint_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from structgen.models import progress_stage
    from structgen.vocab import load_vocabulary

    started = time.perf_counter()
    with progress_stage("loading the vocabulary"):
        vocab = load_vocabulary(args.tokenizer) if args.tokenizer else _default_vocabulary()
    vocab_seconds = time.perf_counter() - started
    with progress_stage("compiling the constraint"):
        compiled = _compile(args, vocab)
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


def _compile(args: argparse.Namespace, vocab: Any) -> Any:
    """The constraint the flags name, compiled against ``vocab``."""
    from structgen.runtime.compiler import compile_grammar, compile_regex

    options = constraint_options(args)
    if args.regex is not None:
        _refuse_constraint_options(options, "--regex")
        compiled = compile_regex(
            args.regex, vocab, max_states=args.max_states, cache=not args.no_cache
        )
    elif args.schema is not None:
        compiled = _compile_schema(args.schema, vocab, options, cache=not args.no_cache)
    else:
        _refuse_constraint_options({**options, "whitespace": None}, "--grammar")
        grammar, limits = args.grammar, {}
        if options["whitespace"] is not None:
            grammar, limits = _bounded_grammar(grammar, options["whitespace"])
        compiled = compile_grammar(grammar, vocab, cache=not args.no_cache, **limits)
    return compiled


def _refuse_constraint_options(options: dict[str, Any], flag: str) -> None:
    """Schema flags given with another constraint are an error, not silently ignored."""
    from structgen.errors import ConfigurationError

    given = [name for name, value in options.items() if value is not None and value is not False]
    if given:
        flags = ", ".join("--" + name.replace("_", "-").removesuffix("s") for name in given)
        raise ConfigurationError(f"{flags} do not apply to {flag}; they are options of --schema")


def _bounded_grammar(source: Any, whitespace: str | int) -> tuple[Any, dict[str, Any]]:
    """The grammar with its whitespace bounded as generate bounds it, and the compile limits."""
    from structgen.generation import generation_grammar_options
    from structgen.grammar.loading import load_grammar
    from structgen.grammar.whitespace import bound_whitespace

    limits = generation_grammar_options(whitespace)
    limit = limits["max_ignore_bytes"]
    return bound_whitespace(load_grammar(source), limit, spaces_only=limit == 1), limits


def _compile_schema(schema: Any, vocab: Any, options: dict[str, Any], *, cache: bool) -> Any:
    """The schema compiled exactly as :func:`structgen.generate` compiles it."""
    from structgen.generation import generation_schema_options
    from structgen.runtime.compiler import compile_grammar
    from structgen.schema import schema_to_grammar
    from structgen.schema.loading import load_schema

    value = load_schema(schema)
    grammar = schema_to_grammar(value, **generation_schema_options(value, **options))
    return compile_grammar(grammar, vocab, cache=cache)


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
