"""Function calling: the model picks a tool and fills in its arguments, always well-typed.

    .venv/bin/python examples/function_call.py
    .venv/bin/python examples/function_call.py --request "Will it snow in Oslo this week?"

Each tool is described by a JSON Schema of its arguments (enums, bounded numbers, required
fields). The schema of a call is the ``oneOf`` of one object per tool, told apart by its
``name`` constant, so the model can only produce a call to a tool that exists, with arguments
that validate; the script then dispatches it to the Python function.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import structgen

TOOLS: dict[str, dict[str, Any]] = {
    "get_weather": {
        "description": "Weather forecast for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1, "maxLength": 30},
                "unit": {"enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit", "days"],
            "additionalProperties": False,
        },
    },
    "convert_currency": {
        "description": "Convert an amount of money",
        "parameters": {
            "type": "object",
            "properties": {
                "amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000000},
                "source": {"enum": ["USD", "EUR", "GBP", "JPY"]},
                "target": {"enum": ["USD", "EUR", "GBP", "JPY"]},
            },
            "required": ["amount", "source", "target"],
            "additionalProperties": False,
        },
    },
}


def call_schema(tools: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"name": ..., "arguments": {...}}`` for exactly one of ``tools``."""
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {"name": {"const": name}, "arguments": tool["parameters"]},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
            for name, tool in tools.items()
        ]
    }


def get_weather(city: str, unit: str, days: int) -> str:
    return f"(a forecast of {days} day(s) for {city}, in degrees {unit})"


def convert_currency(amount: float, source: str, target: str) -> str:
    return f"(the value of {amount} {source} in {target})"


IMPLEMENTATIONS = {"get_weather": get_weather, "convert_currency": convert_currency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--request", default="What will the weather be like in Paris for the next 3 days?"
    )
    parser.add_argument("--max-new-tokens", type=int, default=60, metavar="N")
    args = parser.parse_args()

    from structgen.models import load_default

    model, tokenizer = load_default()
    listing = "\n".join(
        f"- {name}({', '.join(tool['parameters']['properties'])}): {tool['description']}"
        for name, tool in TOOLS.items()
    )
    prompt = (
        f"Tools:\n{listing}\n\nRequest: {args.request}\n\nAnswer with the JSON of the one "
        'tool call that serves the request: {"name": ..., "arguments": {...}}.'
    )
    call = structgen.generate_json(
        call_schema(TOOLS),
        prompt,
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=args.max_new_tokens,
    )
    print(json.dumps(call))
    arguments = ", ".join(f"{key}={value!r}" for key, value in call["arguments"].items())
    print(f"{call['name']}({arguments})")
    print("->", IMPLEMENTATIONS[call["name"]](**call["arguments"]))


if __name__ == "__main__":
    main()
