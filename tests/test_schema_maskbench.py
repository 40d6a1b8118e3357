"""The vendored MaskBench sample, compiled against SmolLM2's vocabulary and fed real tokens.

For every schema of ``tests/data/maskbench-sample``: compiling either raises a structgen error
that names what it cannot handle (keyword and JSON pointer), or every ``valid`` instance,
serialised with ``json.dumps`` and tokenized by the real SmolLM2 tokenizer, is accepted token by
token and ends accepting, and no ``invalid`` one does. The labels are first checked against
``jsonschema`` (asserting only the formats structgen asserts). Nothing is skipped: where we
knowingly differ, the case is listed with its reason and must still differ.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from typing import Any

import jsonschema
import pytest

from structgen import CompiledGrammar, LimitExceededError, compile_json_schema
from structgen.schema import SchemaError, SchemaWarning, UnsupportedSchemaError
from structgen.validation.formats import KNOWN_FORMATS
from tests.helpers.maskbench_sample import SampleCase, load_sample
from tests.helpers.vocab_fixtures import gguf_vocab, hf_tokenizer

pytestmark = pytest.mark.slow

VOCAB_NAME = "smollm2"  # the smallest real vocabulary (49,152 tokens): ~45 s for the sample
# json.dumps (ensure_ascii) writes `", "` and `": "` and escapes only non-ASCII and control
# characters: flexible whitespace and canonical escapes (as generation uses) accept what it writes;
# canonical escapes also make patterns and maxLength strings cheaper to compile (~45 s, not ~65 s).
# Properties come in the dataset's order, not the schema's: property_order stays "any".
OPTIONS: dict[str, Any] = {"whitespace": "flexible", "escapes": "canonical"}

CASES = list(load_sample())
CASE_IDS = [f"{case.subset}/{case.name}" for case in CASES]

# (subset, file, test index) -> why the dataset's label is not what jsonschema says with our
# format handling; the oracle's verdict is used (and must keep differing from the label).
LABEL_OVERRIDES: dict[tuple[str, str, int], str] = {}

# (subset, file) -> a real structgen bug (valid rejected / invalid accepted) for the lead to fix;
# each must still fail, so the list cannot go stale.
KNOWN_BUGS: dict[tuple[str, str], str] = {}

# Measured: 89 of the 99 schemas compile (the rest use not, dependencies, uniqueItems or an
# overlapping oneOf); the floor sits a little under it so that a regression shows.
MIN_COMPILE_RATE = 0.87


@cache
def _vocab_and_tokenizer() -> tuple[Any, Any]:
    return gguf_vocab(VOCAB_NAME), hf_tokenizer(VOCAB_NAME)


@cache
def _compiled(index: int) -> CompiledGrammar | SchemaError | LimitExceededError:
    """The sample's ``index``-th schema compiled, or the structgen error compiling raised."""
    vocab, _ = _vocab_and_tokenizer()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SchemaWarning)  # unknown formats, dropped branches
            return compile_json_schema(CASES[index].schema, vocab, **OPTIONS)
    except (SchemaError, LimitExceededError) as error:
        return error


def _oracle(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    # The schema's own draft, 2020-12 without $schema (structgen's default_draft); format
    # asserted for exactly the formats structgen asserts, in every draft — but iri and
    # iri-reference, which plain jsonschema checks only with rfc3987-syntax (not installed: it
    # costs 1.5 s at import; structgen.validation checks them itself).
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    checked = KNOWN_FORMATS - {"iri", "iri-reference"}
    return cls(schema, format_checker=jsonschema.FormatChecker(formats=checked))


def _labels(case: SampleCase) -> list[bool]:
    """Each test's validity, checked against jsonschema (overrides taken from the oracle)."""
    validator = _oracle(case.schema)
    labels = []
    for number, test in enumerate(case.tests):
        verdict = validator.is_valid(test["data"])
        if (case.subset, case.name, number) in LABEL_OVERRIDES:
            assert verdict != test["valid"], f"test {number} now agrees: drop its LABEL_OVERRIDES"
        else:
            assert verdict == test["valid"], f"test {number}: jsonschema says {verdict}"
        labels.append(verdict)
    return labels


def _accepts(compiled: CompiledGrammar, text: str) -> bool:
    vocab, tokenizer = _vocab_and_tokenizer()
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert b"".join(vocab.token_bytes[i] for i in ids) == text.encode("utf-8"), text
    matcher = compiled.matcher()
    return all(matcher.advance(i) for i in ids) and matcher.is_accepting()


def _assert_names_its_cause(error: SchemaError | LimitExceededError) -> None:
    message = str(error)
    if isinstance(error, UnsupportedSchemaError):
        assert error.unsupported, message
        for item in error.unsupported[:20]:  # the message lists the first 20
            assert item.keyword and item.pointer.startswith("#"), item
            assert f"{item.keyword} at {item.pointer}" in message, (item, message)
    elif isinstance(error, SchemaError):
        assert error.pointer is not None and f"(at {error.pointer})" in message, message
    else:
        assert f"exceeds the limit of {error.limit}" in message, message


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_sample_schema(index: int) -> None:
    case = CASES[index]
    labels = _labels(case)
    compiled = _compiled(index)
    if not isinstance(compiled, CompiledGrammar):
        _assert_names_its_cause(compiled)
        return
    failures = []
    for number, (test, valid) in enumerate(zip(case.tests, labels)):
        text = json.dumps(test["data"])
        if _accepts(compiled, text) != valid:
            verdict = "rejected a valid" if valid else "accepted an invalid"
            failures.append(f"{verdict} instance #{number} {text[:120]}")
    known = KNOWN_BUGS.get((case.subset, case.name))
    if known is not None:
        assert failures, f"{case.subset}/{case.name} now passes: remove it from KNOWN_BUGS"
    else:
        assert not failures, "\n".join(failures)


def test_sample_compile_rate() -> None:
    results = [_compiled(index) for index in range(len(CASES))]
    compiled = sum(isinstance(result, CompiledGrammar) for result in results)
    assert compiled / len(CASES) >= MIN_COMPILE_RATE, f"{compiled} of {len(CASES)} compiled"
    # Every subset keeps at least one compiled schema whose tests run.
    ran = {c.subset for c, result in zip(CASES, results) if isinstance(result, CompiledGrammar)}
    assert ran == {c.subset for c in CASES}
