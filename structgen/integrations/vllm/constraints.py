"""What a vLLM request asks for, checked without a vocabulary, and compiled once per process.

A request names its constraint in ``SamplingParams.extra_args`` (over HTTP: ``vllm_xargs``,
whose values are flat strings, numbers or lists, hence flat keys)::

    extra_args={"structgen_json_schema": {...} or "<JSON text>"}
    extra_args={"structgen_regex": "[0-9]{3}"}
    extra_args={"structgen_grammar": "<Lark or GBNF text, or a bundled grammar's name>"}

A JSON Schema is compiled with the options ``structgen.generate`` uses (compact whitespace,
the schema's property order, canonical escapes: one text per value).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Literal

from structgen.errors import ConfigurationError
from structgen.grammar.loading import load_grammar
from structgen.regex.parser import parse_regex
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.compiler import compile_grammar, compile_json_schema, compile_regex
from structgen.schema.loading import load_schema
from structgen.vocab import Vocabulary

__all__ = [
    "EXTRA_ARGS_KEYS",
    "SCHEMA_OPTIONS",
    "ConstraintSpec",
    "compiled_constraint",
    "constraint_from_extra_args",
    "vocabulary_for_model",
]

ConstraintKind = Literal["json_schema", "regex", "grammar"]

#: ``extra_args`` key → constraint kind.
EXTRA_ARGS_KEYS: dict[str, ConstraintKind] = {
    "structgen_json_schema": "json_schema",
    "structgen_regex": "regex",
    "structgen_grammar": "grammar",
}

#: The schema options of ``structgen.generate`` (one canonical text per value).
SCHEMA_OPTIONS: dict[str, Any] = {
    "whitespace": "compact",
    "property_order": "schema",
    "escapes": "canonical",
}


@dataclass(frozen=True)
class ConstraintSpec:
    """One request's constraint: its kind and its canonical text (the compile cache's key)."""

    kind: ConstraintKind
    text: str

    def check(self) -> None:
        """Parse the constraint without a vocabulary (schema → grammar, regex, grammar text):
        what is malformed fails here, at request admission, not in the engine's step."""
        if self.kind == "json_schema":
            from structgen.schema.to_grammar import schema_to_grammar

            schema_to_grammar(json.loads(self.text), **SCHEMA_OPTIONS)
        elif self.kind == "regex":
            parse_regex(self.text)
        else:
            load_grammar(self.text)

    def compile(self, vocab: Vocabulary) -> CompiledGrammar:
        """Compile against ``vocab`` (structgen's disk cache applies as everywhere)."""
        if self.kind == "json_schema":
            return compile_json_schema(json.loads(self.text), vocab, **SCHEMA_OPTIONS)
        if self.kind == "regex":
            return compile_regex(self.text, vocab)
        return compile_grammar(load_grammar(self.text), vocab)


def constraint_from_extra_args(extra_args: dict[str, Any] | None) -> ConstraintSpec | None:
    """The constraint named in ``extra_args``, or None when the request has none.

    Raises ValueError (what vLLM turns into a failed request) for two constraints at once or a
    value of the wrong type."""
    given = [key for key in EXTRA_ARGS_KEYS if (extra_args or {}).get(key) is not None]
    if not given:
        return None
    if len(given) > 1:
        raise ValueError(
            f"a request takes one structgen constraint, got {', '.join(given)}; "
            f"pass exactly one of {', '.join(EXTRA_ARGS_KEYS)}"
        )
    key = given[0]
    value = extra_args[key]  # type: ignore[index]
    kind = EXTRA_ARGS_KEYS[key]
    if kind == "json_schema":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"{key} is not JSON text: {error}") from error
        if not isinstance(value, (dict, bool)):
            raise ValueError(
                f"{key} must be a JSON Schema (a dict, a bool, or its JSON text), "
                f"got {type(value).__name__}"
            )
        load_schema(value)
        return ConstraintSpec(kind, json.dumps(value, sort_keys=True, separators=(",", ":")))
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a str, got {type(value).__name__}")
    return ConstraintSpec(kind, value)


_compiled: dict[tuple[str, ConstraintSpec], CompiledGrammar] = {}
_vocabularies: dict[tuple[str, str | None, int], Vocabulary] = {}
_lock = threading.Lock()


def compiled_constraint(spec: ConstraintSpec, vocab: Vocabulary) -> CompiledGrammar:
    """``spec`` compiled against ``vocab``, once per process per (vocabulary, constraint);
    matchers of one compiled constraint may run on different threads."""
    key = (vocab.fingerprint, spec)
    with _lock:
        hit = _compiled.get(key)
    if hit is not None:
        return hit
    compiled = spec.compile(vocab)
    with _lock:
        return _compiled.setdefault(key, compiled)


def vocabulary_for_model(model_config: Any) -> Vocabulary:
    """The vocabulary of a vLLM ``ModelConfig``: its Hugging Face tokenizer (``tokenizer``,
    ``tokenizer_revision``, ``trust_remote_code``) read by structgen, as wide as the model's
    logits (``get_vocab_size()``); once per process per tokenizer."""
    path = str(model_config.tokenizer)
    revision = getattr(model_config, "tokenizer_revision", None)
    width = int(model_config.get_vocab_size())
    key = (path, revision, width)
    with _lock:
        hit = _vocabularies.get(key)
    if hit is not None:
        return hit
    if getattr(model_config, "tokenizer_mode", "auto") not in ("auto", "hf", "slow"):
        raise ConfigurationError(
            f"structgen reads Hugging Face tokenizers; tokenizer_mode="
            f"{model_config.tokenizer_mode!r} is not supported"
        )
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(
        path,
        revision=revision,
        trust_remote_code=bool(getattr(model_config, "trust_remote_code", False)),
    )
    vocab = Vocabulary.from_tokenizer(tokenizer, vocab_size=width)
    with _lock:
        return _vocabularies.setdefault(key, vocab)
