"""Objects of many keys in any order, their member rules made as the parser reaches each set of
keys seen (:mod:`structgen.key_set_rules`), against ``jsonschema`` on drawn documents: every
order of the keys, a tracked key never twice, every required key before ``}``; the same
language as the set machine written out, and the same through the byte form, examples and
tool calls."""

from __future__ import annotations

import json
import random
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import structgen
from structgen.key_set_rules import KeySetRules
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.tool_calls import tool_calls_grammar
from structgen.schema import SchemaWarning, schema_to_grammar
from structgen.schema import objects as objects_module
from structgen.schema.example import example_instance
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary
from tests.runtime.walks import assert_same_masks

VOCAB = synthetic_vocabulary()


def _compiled(schema, **options) -> CompiledGrammar:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaWarning)
        return structgen.compile_json_schema(schema, VOCAB, cache=False, **options)


def _accepts(constraint: CompiledGrammar, text: str, seed: int = 0) -> bool:
    matcher = constraint.matcher()
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(seed))
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


def _schema(count: int, required: list[int], extra: bool) -> dict:
    names = [f"k{i}" for i in range(count)]
    return {
        "type": "object",
        "properties": {name: {"type": "integer"} for name in names},
        "required": [names[i] for i in required],
        "additionalProperties": {"type": "string"} if extra else False,
    }


def _text(members: list[tuple[str, object]]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in members) + "}"


@st.composite
def _cases(draw):
    """A schema of 9–16 integer keys (some required, other keys strings or forbidden) and a
    document: some of its keys in any order, maybe one twice, maybe an unlisted key."""
    count = draw(st.integers(9, 16))
    required = sorted(draw(st.sets(st.integers(0, count - 1), max_size=count)))
    extra = draw(st.booleans())
    order = draw(st.permutations(range(count)))
    present = order[: draw(st.integers(0, count))]
    members: list[tuple[str, object]] = [(f"k{i}", i) for i in present]
    if members and draw(st.booleans()):
        again = members[draw(st.integers(0, len(members) - 1))]
        members.insert(draw(st.integers(0, len(members))), again)
    if draw(st.booleans()):
        unlisted = ("other", draw(st.sampled_from(["x", 1])))
        members.insert(draw(st.integers(0, len(members))), unlisted)
    return _schema(count, required, extra), members


_COMPILED: dict[str, CompiledGrammar] = {}


@settings(max_examples=60, deadline=None)
@given(case=_cases(), seed=st.integers(0, 3))
def test_any_order_every_required_key_no_tracked_key_twice(case, seed):
    schema, members = case
    key = json.dumps(schema, sort_keys=True)
    constraint = _COMPILED.get(key) or _COMPILED.setdefault(key, _compiled(schema))
    names = [name for name, _ in members]
    listed = [name for name in names if name in schema["properties"]]
    valid = Draft202012Validator(schema).is_valid(dict(members))
    expected = valid and len(listed) == len(set(listed))  # (json.loads would hide a repeat)
    assert _accepts(constraint, _text(members), seed) == expected


def test_past_max_object_states_the_keys_come_in_any_order_without_a_warning():
    schema = _schema(14, list(range(14)), extra=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SchemaWarning)
        grammar = schema_to_grammar(schema, max_object_states=256)
    (source,) = grammar.lazy
    assert isinstance(source, KeySetRules) and source.required == (1 << 14) - 1
    assert len(grammar.rules) < 200  # (the set machine: 2^14 states, ~130k rules)
    constraint = _compiled(schema, max_object_states=256)
    members = [(f"k{i}", i) for i in range(14)]
    for seed in range(5):
        shuffled = random.Random(seed).sample(members, len(members))
        assert _accepts(constraint, _text(shuffled))
        assert not _accepts(constraint, _text(shuffled[1:]))  # a required key missing


@pytest.mark.parametrize("extra", [False, True])
def test_the_lazy_rules_read_what_the_written_set_machine_reads(extra, monkeypatch):
    schema = _schema(9, [0, 3, 8], extra)
    lazy = _compiled(schema)
    monkeypatch.setattr(objects_module, "LAZY_PAST_STATES", 1 << 20)
    written = _compiled(schema)
    assert not written.automaton.grammar.lazy and lazy.automaton.grammar.lazy
    rng = random.Random(5)
    for _ in range(40):
        keys = rng.sample(range(9), rng.randint(0, 9))
        members: list[tuple[str, object]] = [(f"k{i}", i) for i in keys]
        if members and rng.random() < 0.3:
            members.append(members[0])
        if rng.random() < 0.3:
            members.insert(0, ("zz", "s"))
        text = _text(members)
        assert _accepts(lazy, text) == _accepts(written, text), text
    assert assert_same_masks(lazy, written, walks=4, steps=40) > 0


def test_byte_form_keeps_the_states_made_and_makes_the_rest():
    schema = _schema(12, [1, 5, 11], extra=True)
    compiled = _compiled(schema)
    members = [(f"k{i}", i) for i in (11, 1, 7)]
    assert _accepts(compiled, _text(members + [("k5", 5)]))  # states made before the save
    restored = CompiledGrammar.from_bytes(compiled.to_bytes(), VOCAB)
    assert restored.automaton.grammar.lazy == compiled.automaton.grammar.lazy
    assert assert_same_masks(compiled, restored, walks=6, steps=40) > 0
    assert _accepts(restored, _text([(f"k{i}", i) for i in (0, 5, 2, 1, 11)]))
    assert not _accepts(restored, _text([(f"k{i}", i) for i in (0, 5, 0, 1, 11)]))


def test_examples_and_tool_calls_of_a_lazy_object():
    schema = _schema(13, list(range(10)), extra=False)  # (past the limit: the 10 required)
    validator = Draft202012Validator(schema)
    for seed in range(4):
        assert validator.is_valid(example_instance(schema, seed=seed))
    listed = [{"name": "record", "parameters": schema}]
    (source,) = tool_calls_grammar(listed).lazy
    assert source.root.startswith("tool0/")
    tools = structgen.compile_tool_calls(listed, VOCAB, cache=False)
    arguments = dict(reversed([(f"k{i}", i) for i in range(13)]))
    call = json.dumps({"name": "record", "arguments": arguments})
    assert _accepts(tools, f"<tool_call>\n{call}\n</tool_call>")
