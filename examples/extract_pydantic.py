"""Extract a typed record from free text: a pydantic model in, a model instance out.

    .venv/bin/python examples/extract_pydantic.py
    .venv/bin/python examples/extract_pydantic.py --max-new-tokens 60 --text "..."

``structgen.generate_json(Model, prompt)`` turns the model's JSON Schema into a constraint,
lets the default model (SmolLM2-135M-Instruct) write JSON under it, validates the JSON and
returns ``Model.model_validate(...)`` of it: the fields always have the right types and bounds,
whatever the model would have written on its own.
"""

from __future__ import annotations

import argparse
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

import structgen

TEXT = (
    "Ada Lovelace was born in London in 1815. She worked as a mathematician and wrote "
    "the first published algorithm for Babbage's Analytical Engine."
)


class Person(BaseModel):
    # No fields beyond these: the schema says additionalProperties false, so the model cannot
    # wander off into keys of its own (pydantic's default schema allows any extra key).
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=40)
    born: int = Field(ge=1000, le=2025)
    city: str = Field(max_length=30)
    occupation: Literal["mathematician", "writer", "engineer", "scientist", "other"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default=TEXT, help="the text to extract from")
    parser.add_argument("--max-new-tokens", type=int, default=80, metavar="N")
    args = parser.parse_args()

    from structgen.models import load_default

    model, tokenizer = load_default()  # loaded once; pass them to every call
    prompt = (
        "Extract the person described below as JSON with the fields name, born, city and "
        f"occupation.\n\n{args.text}"
    )
    person = structgen.generate_json(
        Person, prompt, model=model, tokenizer=tokenizer, max_new_tokens=args.max_new_tokens
    )
    print(type(person).__name__, "instance:", repr(person))
    print(person.model_dump_json())


if __name__ == "__main__":
    main()
