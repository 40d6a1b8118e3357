"""A recursive schema: a comment thread whose replies are comments, via ``$defs``/``$ref``.

    .venv/bin/python examples/recursive_schema.py
    .venv/bin/python examples/recursive_schema.py --max-new-tokens 200 --topic "tabs or spaces"

A recursive schema compiles to a recursive grammar (context-free, not a regex), so nothing in
the schema bounds the nesting: ``maxItems`` and ``maxLength`` keep each level small, the
prompt asks for two levels, and ``--max-new-tokens`` bounds the whole. When the budget runs out
before the model has closed every bracket, structgen raises ``IncompleteGenerationError`` (with
the partial text) rather than return broken JSON. A model as small as SmolLM2-135M often nests
until the budget runs out (greedily, it always does), so this script samples and tries the next
seed when a thread does not fit. The same schema also gets an
instance with no model at all, from ``structgen.schema.example_instance``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import structgen
from structgen.schema import example_instance

THREAD: dict[str, Any] = {
    "$defs": {
        "comment": {
            "type": "object",
            "properties": {
                "author": {"type": "string", "minLength": 1, "maxLength": 20},
                "text": {"type": "string", "minLength": 1, "maxLength": 40},
                "replies": {"type": "array", "items": {"$ref": "#/$defs/comment"}, "maxItems": 2},
            },
            "required": ["author", "text", "replies"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/comment",
}


def depth(comment: dict[str, Any]) -> int:
    return 1 + max((depth(reply) for reply in comment["replies"]), default=0)


def show(comment: dict[str, Any], indent: int = 0) -> None:
    print(f"{'  ' * indent}- {comment['author']}: {comment['text']}")
    for reply in comment["replies"]:
        show(reply, indent + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topic", default="tabs versus spaces")
    parser.add_argument("--max-new-tokens", type=int, default=120, metavar="N")
    parser.add_argument("--temperature", type=float, default=0.7, metavar="T")
    parser.add_argument("--seed", type=int, default=5, help="first seed (then seed+1, …)")
    parser.add_argument("--tries", type=int, default=4, help="seeds to try before giving up")
    args = parser.parse_args()

    sample = example_instance(THREAD, seed=3)
    print(f"without a model (depth {depth(sample)}):", json.dumps(sample, ensure_ascii=False))

    from structgen.generation import IncompleteGenerationError
    from structgen.models import load_default

    model, tokenizer = load_default()
    prompt = (
        f"Write a short online discussion about {args.topic} as JSON: a first comment (author, "
        "text) with a list of two replies, each reply being a comment of the same shape whose "
        "own list of replies is empty []."
    )
    for seed in range(args.seed, args.seed + args.tries):
        try:
            thread = structgen.generate_json(
                THREAD,
                prompt,
                model=model,
                tokenizer=tokenizer,
                max_new_tokens=args.max_new_tokens,
                temperature=args.temperature,
                seed=seed,
            )
        except IncompleteGenerationError as error:
            levels = error.partial.count('"replies":[{')
            print(f"seed {seed}: {args.max_new_tokens} tokens ran out {levels} replies deep")
            continue
        print(f"seed {seed}:", json.dumps(thread, ensure_ascii=False))
        print(f"depth {depth(thread)}:")
        show(thread)
        return
    raise SystemExit(f"no thread fitted in {args.max_new_tokens} tokens; raise --max-new-tokens")


if __name__ == "__main__":
    main()
