"""End to end with grammars: SmolLM2 generates under bundled grammars; lark parses the output."""

from __future__ import annotations

import lark
import pytest

import structgen
from structgen.grammar.bundled import path_of


@pytest.fixture(scope="module")
def smollm2():
    from structgen.models import load_default

    return load_default(device="cpu")


def lark_parse(name: str, text: str) -> None:
    parser = lark.Lark(path_of(name).read_text(), parser="earley", lexer="dynamic_complete")
    parser.parse(text)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("grammar", "prompt"),
    [
        ("sql_select", "Write an SQL query listing the names of users older than 30."),
        ("arithmetic", "What is 12 times 7? Reply with the arithmetic expression only."),
        ("json", 'Give a JSON object with keys "name" and "age" for Ada, 36.'),
    ],
)
def test_generated_text_parses_with_lark(smollm2, grammar, prompt):
    model, tokenizer = smollm2
    text = structgen.generate(
        prompt, grammar=grammar, model=model, tokenizer=tokenizer, max_new_tokens=48
    )
    lark_parse(grammar, text)


@pytest.mark.slow
def test_gbnf_text_grammar_generates(smollm2):
    model, tokenizer = smollm2
    gbnf = 'root ::= "The answer is " ("yes" | "no") "."'
    text = structgen.generate(
        "Is the sky blue?", grammar=gbnf, model=model, tokenizer=tokenizer, max_new_tokens=12
    )
    assert text in ("The answer is yes.", "The answer is no.")
