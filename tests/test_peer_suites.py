"""The peers' test suites replayed through structgen (tests/data/peer-suites, see its README).

Every case of llama.cpp, lark and xgrammar (a grammar or a JSON Schema, strings that must pass
and strings that must fail, labelled by the spec: llama.cpp's GBNF labels, lark's Earley
parser, ``jsonschema``) is compiled through the public API and each string walked twice:
byte by byte (a vocabulary of the 256 single bytes) and token by token (SmolLM2's vocabulary,
strings encoded greedily with its trie). At every step the mask must agree with ``advance``;
at the end ``is_accepting()`` (and the end-of-sequence bit of the mask) must equal the verdict.
Cases without strings (llama.cpp's schemas of test-json-schema-to-grammar.cpp, its grammar
files) are compiled and sampled: random walks under the mask that finish must be in the
language (``jsonschema``; lark's Earley parser on the grammar's IR).

``KNOWN_FAILURES`` lists the cases that fail today (issue 10 fixes them; a case that starts
passing must leave the table). ``DIFFERENCES`` lists the cases where structgen differs from the
peer on purpose. Every compile and walk runs under explicit engine limits (``GRAMMAR_LIMITS``,
``SCHEMA_LIMITS``, walks of at most ``WALK_STEPS`` tokens), so no case eats memory or minutes.
"""

from __future__ import annotations

import functools
import json
import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import lark
import numpy as np
import pytest

from structgen.bitmask import allocate_token_bitmask
from structgen.errors import StructgenError
from structgen.grammar.loading import load_grammar
from structgen.kernels.numpy_ref import unpack_bitmask
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.compiler import compile_grammar, compile_json_schema
from structgen.schema.errors import UnsatisfiableSchemaError
from structgen.vocab import Vocabulary
from structgen.vocab.trie import build_trie
from tests.helpers.grammar_strategies import grammar_to_lark
from tests.helpers.vocab_fixtures import gguf_vocab

DATA = Path(__file__).parent / "data" / "peer-suites"
SOURCES = [
    "llama.cpp-grammar-integration.json",
    "llama.cpp-json-schema-to-grammar.json",
    "llama.cpp-grammar-files.json",
    "lark-common.json",
    "lark-examples.json",
    "xgrammar-ebnf.json",
    "xgrammar-schema.json",
]

# Limits of every compile and walk: small enough that no case eats memory or minutes.
GRAMMAR_LIMITS = {
    "max_lexer_states": 20_000,
    "max_items": 20_000,
    "max_mask_sets": 5_000,
    "max_cached_items": 200_000,
}
SCHEMA_LIMITS = {"max_lexer_states": 20_000, "max_items": 20_000}
WALKS, WALK_STEPS = 3, 40

# case id -> why it fails today. A fixed case must be removed from here (empty since the fixes of
# issue 10; the table stays for what the next suites find).
KNOWN_FAILURES: dict[str, str] = {}

# case id -> why structgen differs from the peer on purpose.
_LEFT_RECURSION = "left recursion is allowed (an Earley parser needs no refusal)"
DIFFERENCES: dict[str, str] = {
    "llama.cpp/build-error/simple_str": _LEFT_RECURSION,
    "llama.cpp/build-error/medium_str": _LEFT_RECURSION,
    "llama.cpp/build-error/hard_str": _LEFT_RECURSION,
    "llama.cpp/build-error/hardest_str": _LEFT_RECURSION,
    "llama.cpp/schema/34": "no whitespace after the JSON document (SchemaOptions.whitespace); "
    "json.loads takes trailing spaces",
    "llama.cpp/schema/47": "uniqueItems is refused (UnsupportedSchemaError), not ignored: "
    "no grammar enforces it",
    "lark/examples/examples_advanced_create_ast_2": "refused at compile time, naming the terminal: "
    "python.lark's STRING has (?!\"\"), a two-character lookahead that sees past the lexeme "
    "(one-character lookarounds inside a terminal compile exactly)",
}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # "gbnf" | "lark" | "schema"
    source: Any  # grammar text, a Path to a grammar file, or a schema
    accept: tuple[str, ...]
    reject: tuple[str, ...]
    expect_error: bool
    draft: str | None


def load_cases() -> list[Case]:
    cases = []
    for name in SOURCES:
        for raw in json.loads((DATA / name).read_text(encoding="utf-8")):
            if "file" in raw:
                source: Any = DATA / raw["file"]
            else:
                source = raw["schema"] if raw["kind"] == "schema" else raw["grammar"]
            cases.append(
                Case(
                    id=raw["id"],
                    kind=raw["kind"],
                    source=source,
                    accept=tuple(raw["accept"]),
                    reject=tuple(raw["reject"]),
                    expect_error=raw.get("expect") == "error",
                    draft=raw.get("draft"),
                )
            )
    return cases


CASES = load_cases()


@functools.cache
def byte_vocab() -> Vocabulary:
    """The 256 single bytes and an end-of-sequence token: walks a string byte by byte."""
    return Vocabulary([bytes([b]) for b in range(256)] + [b"</s>"], eos_ids=[256], name="bytes")


def token_vocab() -> Vocabulary:
    return gguf_vocab("smollm2")


def compile_case(case: Case, vocab: Vocabulary) -> CompiledGrammar:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case.kind == "schema":
            overrides = {"default_draft": case.draft} if case.draft else {}
            return compile_json_schema(case.source, vocab, **SCHEMA_LIMITS, **overrides)
        syntax = "lark" if case.kind == "lark" else "gbnf"
        return compile_grammar(case.source, vocab, syntax=syntax, **GRAMMAR_LIMITS)


def allowed(matcher: Any, size: int) -> np.ndarray:
    bitmask = allocate_token_bitmask(1, size)
    matcher.fill_next_token_bitmask(bitmask)
    return unpack_bitmask(bitmask, size)[0]


def walk(compiled: CompiledGrammar, tokens: list[int]) -> tuple[bool, str]:
    """Walk ``tokens``; (accepted, "") or (_, what went wrong between the mask and the matcher)."""
    matcher = compiled.matcher()
    eos = compiled.vocab.eos_ids[0]
    for step, token in enumerate(tokens):
        in_mask = bool(allowed(matcher, compiled.vocab_size)[token])
        advanced = matcher.advance(token)
        if in_mask != advanced:
            return advanced, f"step {step}: mask says {in_mask}, advance says {advanced}"
        if not advanced:
            return False, ""
    accepting = matcher.is_accepting()
    if bool(allowed(matcher, compiled.vocab_size)[eos]) != accepting:
        return accepting, f"end: is_accepting() is {accepting} but the EOS bit says otherwise"
    return accepting, ""


def encode(vocab: Vocabulary, text: str) -> list[int]:
    data = text.encode("utf-8", "surrogatepass")
    tokens = build_trie(vocab).greedy_tokenize(data)
    if b"".join(vocab.token_bytes[t] for t in tokens) != data:
        raise AssertionError(f"the vocabulary cannot spell {text!r}")
    return tokens


def sound(case: Case) -> Any:
    """The oracle of a finished random walk: True when the text is in the case's language."""
    if case.kind == "schema":
        cls = (
            jsonschema.Draft7Validator
            if case.draft == "7"
            else jsonschema.validators.validator_for(
                case.source, default=jsonschema.Draft202012Validator
            )
        )
        validator = cls(case.source, format_checker=cls.FORMAT_CHECKER)

        def judge(text: str) -> bool:
            try:
                return validator.is_valid(json.loads(text))
            except ValueError:
                return False

        return judge
    if case.kind == "lark":
        text = case.source.read_text() if isinstance(case.source, Path) else case.source
    else:
        text = grammar_to_lark(load_grammar(case.source, syntax="gbnf"))
    parser = lark.Lark(text, parser="earley", lexer="dynamic_complete", start="start")

    def judge_lark(text: str) -> bool:
        try:
            parser.parse(text)
            return True
        except lark.exceptions.LarkError:
            return False

    return judge_lark


def random_walks(case: Case, compiled: CompiledGrammar, seed: int) -> list[str]:
    """Problems found by WALKS random walks under the mask (each finished text judged)."""
    rng = random.Random(seed)
    judge = sound(case)
    vocab = compiled.vocab
    eos = vocab.eos_ids[0]
    problems = []
    for _ in range(WALKS):
        matcher = compiled.matcher()
        out = bytearray()
        for _ in range(WALK_STEPS):
            ids = np.flatnonzero(allowed(matcher, compiled.vocab_size)).tolist()
            if not ids:
                problems.append(f"dead end after {bytes(out)!r}")
                break
            if eos in ids and (rng.random() < 0.5 or ids == [eos]):
                text = out.decode("utf-8", "replace")
                if not judge(text):
                    problems.append(f"accepted {text!r}, outside the language")
                break
            token = rng.choice([t for t in ids if t != eos])
            if not matcher.advance(token):
                problems.append(f"the mask allowed token {token} that advance refused")
                break
            out += vocab.token_bytes[token]
    return problems


def run_case(case: Case) -> list[str]:
    """Everything wrong with structgen on ``case`` (empty: it agrees with the oracle)."""
    problems: list[str] = []
    for label, vocab in (("bytes", byte_vocab()), ("tokens", token_vocab())):
        try:
            compiled = compile_case(case, vocab)
        except UnsatisfiableSchemaError as error:
            if case.accept:
                problems.append(f"{label}: compile raised UnsatisfiableSchemaError: {error}"[:300])
            return problems  # an empty language: every reject string is rejected
        except StructgenError as error:
            if not case.expect_error:
                problems.append(f"{label}: compile raised {type(error).__name__}: {error}"[:300])
            return problems
        if case.expect_error:
            return [f"{label}: compiled a grammar the peer refuses"]
        try:
            for expected, strings in ((True, case.accept), (False, case.reject)):
                for text in strings:
                    got, trouble = walk(compiled, encode(vocab, text))
                    if trouble:
                        problems.append(f"{label}: {text!r}: {trouble}")
                    elif got != expected:
                        problems.append(
                            f"{label}: {text!r}: {'accepted' if got else 'rejected'}, "
                            "expected the opposite"
                        )
            if not case.accept and not case.reject:
                problems += [
                    f"{label}: {p}" for p in random_walks(case, compiled, seed=len(case.id))
                ]
        except StructgenError as error:
            problems.append(f"{label}: walking raised {type(error).__name__}: {error}"[:300])
    return problems


def test_tables_name_existing_cases() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "case ids are unique"
    assert not (set(KNOWN_FAILURES) | set(DIFFERENCES)) - set(ids)
    assert not set(KNOWN_FAILURES) & set(DIFFERENCES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_peer_case(case: Case) -> None:
    problems = run_case(case)
    if case.id in KNOWN_FAILURES or case.id in DIFFERENCES:
        reason = KNOWN_FAILURES.get(case.id) or DIFFERENCES[case.id]
        assert problems, f"{case.id} passes now: remove it from the table ({reason})"
    else:
        assert not problems, "\n".join(problems[:20])
