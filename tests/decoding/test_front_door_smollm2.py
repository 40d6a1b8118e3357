"""Bundled grammars with the default model: the whitespace it may choose is bounded, so
``sql_select`` output is not padded with blank lines (issue 13, part 6). One short run."""

from __future__ import annotations

import re

import lark
import pytest

import structgen
from structgen.generation import IncompleteGenerationError
from structgen.grammar.bundled import path_of


@pytest.fixture(scope="module")
def smollm2():
    from structgen.models import load_default

    return load_default(device="cpu")


@pytest.mark.slow
def test_sql_select_output_has_no_whitespace_padding(smollm2):
    """Default (compact): whitespace runs are single spaces (one inside a keyword terminal,
    one ignored: two at most where they meet), never line breaks; the text is still a sentence
    of the grammar (lark's own parser is the oracle)."""
    model, tokenizer = smollm2
    try:
        text = structgen.generate(
            "List users older than 30",
            grammar="sql_select",
            model=model,
            tokenizer=tokenizer,
            max_new_tokens=24,
        )
    except IncompleteGenerationError as error:  # the budget ran out: check the prefix
        text = error.partial
    else:
        grammar = path_of("sql_select").read_text()
        parser = lark.Lark(grammar, parser="earley", lexer="dynamic_complete")
        parser.parse(text)
    assert text.strip() and not re.search(r"[\t\r\n]| {3}", text), text
