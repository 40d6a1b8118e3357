"""Property tests of the schema compiler against ``jsonschema`` (the oracle).

Completeness and exactness: instances drawn towards random schemas, serialised by ``json.dumps``
(default, compact, indented, unescaped), cut into random tokens of the synthetic vocabulary, are
accepted exactly when ``jsonschema`` says they are valid. Soundness: random walks under the
token mask end in documents that ``jsonschema`` validates.
"""

from __future__ import annotations

import json
import math
import os
import random
import warnings
from decimal import Decimal, InvalidOperation

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

import structgen
from structgen.errors import LimitExceededError
from structgen.kernels.numpy_ref import unpack_bitmask
from structgen.runtime.compiler import compile_json_schema
from structgen.schema import UnsatisfiableSchemaError, UnsupportedSchemaError
from tests.helpers.schema_strategies import format_checker, instances, schemas
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()
EOS = VOCAB.eos_ids[0]
PROPERTY = settings(
    max_examples=int(os.environ.get("SCHEMA_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _compile(schema):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_json_schema(schema, VOCAB)


def _accepts(compiled, tokens: list[int]) -> bool:
    matcher = compiled.matcher()
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


@PROPERTY
@given(schema=schemas(), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_accepts_exactly_the_valid_instances(schema, data, seed):
    validator = Draft202012Validator(schema, format_checker=format_checker())
    try:
        compiled = _compile(schema)
    except UnsatisfiableSchemaError:
        for _ in range(5):
            assert not validator.is_valid(instances(data.draw, schema))
        return
    except (UnsupportedSchemaError, LimitExceededError):
        reject()
    rng = random.Random(seed)
    for _ in range(3):
        instance = instances(data.draw, schema)
        valid = validator.is_valid(instance)
        texts = {
            json.dumps(instance),
            json.dumps(instance, separators=(",", ":")),
            json.dumps(instance, indent=2),
            json.dumps(instance, ensure_ascii=False),
        }
        for text in texts:
            tokens = random_tokenization(VOCAB, text.encode("utf-8"), rng)
            assert _accepts(compiled, tokens) == valid, (schema, text, valid)


def _number(text: str):
    value = float(text)
    if math.isinf(value) or (value == 0 and Decimal(text) != 0):
        return Decimal(text)  # out of the double range: keep the exact value
    return value


def _exact(document: bytes):
    """Numbers beyond the double range kept exact: the grammar compares values exactly, a float
    would turn 1e-400 into 0.0 and 1e400 into inf (numbers.py documents the difference)."""
    return json.loads(document.decode("utf-8"), parse_float=_number)


def _valid(validator, document: bytes) -> bool:
    try:
        return validator.is_valid(_exact(document))
    except (InvalidOperation, OverflowError):  # jsonschema arithmetic on a huge exact number
        return validator.is_valid(json.loads(document.decode("utf-8")))


def _walk(compiled, rng: random.Random, max_steps: int = 120) -> bytes | None:
    matcher = compiled.matcher()
    bitmask = structgen.allocate_token_bitmask(1, VOCAB.size)
    out = bytearray()
    closers = {
        i
        for i, t in enumerate(VOCAB.token_bytes)
        if t in (b"}", b"]", b'"', b"0", b"1", b"true", b"null")
    }
    for _ in range(max_steps):
        matcher.fill_next_token_bitmask(bitmask)
        allowed = np.flatnonzero(unpack_bitmask(bitmask, VOCAB.size)[0]).tolist()
        assert allowed, f"a live matcher allows some token (after {bytes(out)!r})"
        if EOS in allowed and (rng.random() < 0.3 or allowed == [EOS]):
            assert matcher.advance(EOS)
            return bytes(out)
        candidates = [t for t in allowed if t != EOS]
        finishing = [t for t in candidates if t in closers]
        token = rng.choice(finishing if finishing and rng.random() < 0.4 else candidates)
        assert matcher.advance(token)
        out += VOCAB.token_bytes[token]
    return None


@PROPERTY
@given(schema=schemas(), seed=st.integers(0, 2**32 - 1))
def test_random_walks_under_the_mask_validate(schema, seed):
    try:
        compiled = _compile(schema)
    except (UnsatisfiableSchemaError, LimitExceededError):
        return
    # Walks produce arbitrary strings: judge formats with jsonschema's own checkers (the RFC
    # labels of format_checker() only cover the generator's examples).
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    rng = random.Random(seed)
    for _ in range(3):
        walked = _walk(compiled, rng)
        if walked is not None:
            assert _valid(validator, walked), (schema, walked)


HANDWRITTEN = [
    {"type": "object",
     "properties": {"a": {"type": "integer", "minimum": 3, "maximum": 7},
                    "b": {"enum": ["x", "y"]}},
     "required": ["a", "b"], "additionalProperties": False},
    {"type": "array", "prefixItems": [{"const": 1}, {"type": "boolean"}], "items": False},
    {"type": "string", "pattern": "^[a-c]{2}$"},
    {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    {"type": "integer", "multipleOf": 7, "minimum": -50, "maximum": 50},
    {"$defs": {"node": {"type": "object",
                        "properties": {"next": {"$ref": "#/$defs/node"}, "v": {"type": "null"}},
                        "additionalProperties": False}}, "$ref": "#/$defs/node"},
    {"type": "object", "patternProperties": {"^x-": {"type": "integer"}},
     "additionalProperties": {"type": "boolean"}, "maxProperties": 2},
    {"type": "array", "contains": {"const": 0}, "minContains": 2, "maxItems": 3},
    {"type": "string", "format": "date", "pattern": "^2024"},
]  # fmt: skip


@pytest.mark.parametrize("schema", HANDWRITTEN, ids=[str(i) for i in range(len(HANDWRITTEN))])
@pytest.mark.parametrize("seed", range(8))
def test_random_walks_on_handwritten_schemas(schema, seed):
    compiled = _compile(schema)
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    rng = random.Random(seed)
    finished = 0
    for _ in range(4):
        walked = _walk(compiled, rng, max_steps=200)
        if walked is not None:
            finished += 1
            assert _valid(validator, walked), walked
    assert finished, "no walk finished"
