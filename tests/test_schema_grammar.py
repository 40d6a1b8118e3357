"""Compiled schemas on concrete documents: objects, arrays, references, options."""

from __future__ import annotations

import itertools
import json
import random
import warnings

import pytest

from structgen.runtime.compiler import compile_json_schema
from structgen.schema import SchemaWarning, schema_to_grammar
from tests.helpers.synthetic_vocab import random_tokenization, synthetic_vocabulary

VOCAB = synthetic_vocabulary()


def compiled(schema, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaWarning)
        return compile_json_schema(schema, VOCAB, **options)


class Raw(str):
    """A document given as JSON text (anything else is a value, serialised with json.dumps)."""


def accepts(constraint, document, *, seed: int = 0) -> bool:
    text = document if isinstance(document, Raw) else json.dumps(document)
    matcher = constraint.matcher()
    tokens = random_tokenization(VOCAB, text.encode("utf-8"), random.Random(seed))
    return all(matcher.advance(t) for t in tokens) and matcher.is_accepting()


def check(constraint, valid=(), invalid=()):
    for document in valid:
        assert accepts(constraint, document), f"should accept {document!r}"
    for document in invalid:
        assert not accepts(constraint, document), f"should refuse {document!r}"


PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
                   "email": {"format": "email"},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["name", "age"],
}  # fmt: skip


def test_properties_in_any_order_with_required_enforced():
    constraint = compiled(PERSON)
    full = {"name": "a", "age": 3, "email": "a@b.co", "tags": ["x"]}
    for order in itertools.permutations(full):
        assert accepts(constraint, {k: full[k] for k in order})
    check(
        constraint,
        valid=[{"age": 1, "name": "x"}, {"name": "x", "age": 1, "other": [1, {"z": None}]}],
        invalid=[
            {"name": "x"},
            {"age": 1},
            {},
            Raw('{"name": "x", "age": 1, "name": "y"}'),
            {"name": "x", "age": -1},
        ],
    )


def test_schema_order_option():
    constraint = compiled(PERSON, property_order="schema")
    check(
        constraint,
        valid=[
            {"name": "a", "age": 1},
            {"name": "a", "age": 1, "tags": []},
            {"name": "a", "age": 1, "zzz": 1},
        ],
        invalid=[{"age": 1, "name": "a"}, {"name": "a", "age": 1, "zzz": 1, "tags": []}],
    )


def test_additional_properties_default_false():
    constraint = compiled(PERSON, additional_properties_default=False)
    check(
        constraint,
        valid=[{"name": "a", "age": 1, "tags": []}],
        invalid=[{"name": "a", "age": 1, "zzz": 1}],
    )
    explicit = compiled(
        {**PERSON, "additionalProperties": {"type": "integer"}}, additional_properties_default=False
    )
    check(
        explicit,
        valid=[{"name": "a", "age": 1, "zzz": 1}],
        invalid=[{"name": "a", "age": 1, "zzz": "x"}],
    )


@pytest.mark.parametrize("indent", [None, 1, 2, 4, "\t"])
def test_flexible_whitespace_accepts_json_dumps_layouts(indent):
    constraint = compiled(PERSON)
    document = {"name": "a", "age": 1, "tags": ["x", "y"], "more": {"deep": [{"k": []}]}}
    assert accepts(constraint, Raw(json.dumps(document, indent=indent)))
    assert accepts(constraint, Raw(json.dumps(document, separators=(",", ":"))))


def test_compact_and_bounded_whitespace():
    compact = compiled(PERSON, whitespace="compact")
    check(
        compact,
        valid=[Raw('{"name":"a","age":1}')],
        invalid=[Raw('{"name": "a", "age": 1}'), Raw('{ "name":"a","age":1}')],
    )
    bounded = compiled(PERSON, whitespace=3)
    check(
        bounded, valid=[Raw('{"name":   "a","age":1}')], invalid=[Raw('{"name":    "a","age":1}')]
    )
    check(compiled({"type": "integer"}), invalid=[Raw(" 1"), Raw("1 "), Raw("1\n")])


def test_pattern_properties_additional_properties_and_property_names():
    schema = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "x-fixed": {"type": ["string", "boolean"]}},
        "patternProperties": {"^x-": {"type": "boolean"}, "[0-9]": {"type": "null"}},
        "additionalProperties": {"type": "array"},
    }
    constraint = compiled(schema)
    check(
        constraint,
        valid=[{"id": 1}, {"x-a": True}, {"a1": None}, {"other": []}, {"x-fixed": False}],
        # "x-1" matches both patterns: its value must be a boolean and null at once.
        invalid=[
            {"id": "1"},
            {"x-a": 1},
            {"a1": 1},
            {"x-1": True},
            {"x-1": None},
            {"other": 1},
            {"x-fixed": "s"},
        ],
    )
    names = compiled({"type": "object", "propertyNames": {"maxLength": 2, "pattern": "^[a-z]+$"}})
    check(names, valid=[{}, {"ab": 1, "c": 2}], invalid=[{"abc": 1}, {"A": 1}, {"": 1}])


def test_min_and_max_properties_count_every_kind_of_key():
    schema = {
        "type": "object",
        "properties": {"a": {}, "b": {}},
        "minProperties": 2,
        "maxProperties": 3,
    }
    check(
        compiled(schema),
        valid=[{"a": 1, "b": 2}, {"a": 1, "z": 2}, {"y": 1, "z": 2, "a": 3}],
        invalid=[{}, {"a": 1}, {"z": 1}, {"a": 1, "b": 2, "y": 3, "z": 4}],
    )
    assert not accepts(compiled({"type": "object", "maxProperties": 0}), {"a": 1})


def test_dependent_required():
    schema = {
        "type": "object",
        "properties": {"card": {}, "billing": {}},
        "dependentRequired": {"card": ["billing"]},
    }
    check(
        compiled(schema),
        valid=[{}, {"billing": 1}, {"billing": 1, "card": 2}],
        invalid=[{"card": 1}],
    )


def test_many_required_properties_come_in_any_order_unless_a_count_is_needed():
    names = [f"p{i}" for i in range(12)]
    schema = {
        "type": "object",
        "properties": {n: {"type": "integer"} for n in names},
        "required": names,
    }
    in_order = {n: 1 for n in names}
    backwards = dict(reversed(list(in_order.items())))
    # Made per key set as the parser reaches it (structgen.key_set_rules): no state limit.
    with warnings.catch_warnings():
        warnings.simplefilter("error", SchemaWarning)
        schema_to_grammar(schema, max_object_states=256)
    check(compiled(schema, max_object_states=256), valid=[in_order, backwards])
    # A member count (minProperties past the required keys, other keys allowed) is tracked
    # only by the machine written out: past the limit, the required keys keep schema order.
    counted = {**schema, "minProperties": 13, "additionalProperties": {"type": "integer"}}
    with pytest.warns(SchemaWarning, match="must come in the order of 'properties'"):
        schema_to_grammar(counted, max_object_states=256)
    more = {**in_order, "x": 1}
    check(
        compiled(counted, max_object_states=256),
        valid=[more],
        invalid=[in_order, {**backwards, "x": 1}],
    )


def test_arrays():
    check(
        compiled(
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "items": False,
            }
        ),
        valid=[[], [1], [1, "a"]],
        invalid=[["a"], [1, 2], [1, "a", 3]],
    )
    check(
        compiled({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3}),
        valid=[[1, 2], [1, 2, 3]],
        invalid=[[1], [1, 2, 3, 4], [1, "a"]],
    )
    check(
        compiled({"type": "array", "contains": {"const": 0}, "minContains": 2}),
        valid=[[0, 0], [1, 0, 2, 0], [0, "x", 0]],
        invalid=[[], [0], [1, 2, 0]],
    )
    check(
        compiled(
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "items": [{"type": "integer"}],
                "additionalItems": {"type": "string"},
            }
        ),
        valid=[[1], [1, "a", "b"]],
        invalid=[["a"], [1, 2]],
    )
    long_array = list(range(3000))
    assert accepts(compiled({"type": "array", "items": {"type": "integer"}}), long_array)


def test_all_of_is_merged_with_json_schema_semantics():
    schema = {"allOf": [{"properties": {"a": {"type": "integer"}}, "required": ["a"]},
                        {"properties": {"b": {"type": "string"}}, "required": ["b"]}]}  # fmt: skip
    check(
        compiled(schema),
        valid=[{"a": 1, "b": "x"}, {"b": "x", "a": 1, "c": 0}],
        invalid=[{"a": 1}, {"a": "1", "b": "x"}],
    )
    closed = {
        "allOf": [
            {"properties": {"a": {}}, "additionalProperties": False},
            {"properties": {"b": {}}},
        ]
    }
    check(compiled(closed), valid=[{}, {"a": 1}], invalid=[{"b": 1}])
    numbers = {"allOf": [{"minimum": 0}, {"maximum": 10, "exclusiveMinimum": 2}], "type": "number"}
    check(compiled(numbers), valid=[2.5, 10], invalid=[2, 0, 10.5])


def test_references_recursion_and_pointers():
    tree = {
        "$defs": {"node": {"type": "object",
                           "properties": {"value": {"type": "integer"},
                                          "children": {"type": "array",
                                                       "items": {"$ref": "#/$defs/node"}}},
                           "required": ["value"], "additionalProperties": False}},
        "$ref": "#/$defs/node",
    }  # fmt: skip
    deep = {"value": 0}
    for i in range(8):
        deep = {"value": i, "children": [deep, {"value": -i}]}
    check(
        compiled(tree),
        valid=[deep, {"value": 1, "children": []}],
        invalid=[{"value": 1, "children": [{}]}],
    )
    escaped = {"$defs": {"a/b": {"type": "integer"}, "c~d": {"type": "string"},
                         "e%f": {"type": "null"}},
               "properties": {"x": {"$ref": "#/$defs/a~1b"}, "y": {"$ref": "#/$defs/c~0d"},
                              "z": {"$ref": "#/$defs/e%25f"}}}  # fmt: skip
    check(
        compiled(escaped),
        valid=[{"x": 1, "y": "s", "z": None}],
        invalid=[{"x": "1"}, {"y": 1}, {"z": 0}],
    )
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#",
              "definitions": {"n": {"type": "integer"}},
              "properties": {"a": {"$ref": "#/definitions/n", "maxItems": 0}}}  # fmt: skip
    check(compiled(draft7), valid=[{"a": 3}], invalid=[{"a": "3"}])


def test_enum_and_const_values():
    check(
        compiled({"enum": [{"b": 1, "a": [1, 2.5]}, "x", 3]}),
        valid=[
            {"a": [1, 2.5], "b": 1},
            {"b": 1.0, "a": [1.0, 2.50]},
            "x",
            3,
            3.0,
            Raw('"\\u0078"'),
        ],
        invalid=[{"a": [1, 2.5]}, {"a": [1, 2.5], "b": 1, "c": 0}, "y", 4, True],
    )
    check(
        compiled({"const": 1}),
        valid=[Raw("1"), Raw("1.0"), Raw("1e0"), Raw("1.00E+0")],
        invalid=[Raw("true"), Raw("10e-1"), Raw("2")],
    )
    check(compiled({"const": False}), valid=[False], invalid=[0, None])


def test_strings_with_lengths_patterns_and_escapes():
    long_string = compiled({"type": "string", "maxLength": 200, "minLength": 70})
    check(
        long_string,
        valid=["a" * 70, "é" * 200, "😀" * 100, "\n" * 150],
        invalid=["a" * 69, "a" * 201, "😀" * 201],
    )
    both = compiled({"type": "string", "pattern": "^[a-z]*x[a-z]*$", "maxLength": 150})
    check(
        both,
        valid=["x", "a" * 100 + "x" + "b" * 49],
        invalid=["a" * 100 + "x" + "b" * 50, "ab", "xx" + "A"],
    )
    escaped = compiled({"type": "string", "pattern": "^ab$"})
    check(escaped, valid=[Raw('"ab"'), Raw('"\\u0061b"'), Raw('"a\\u0062"')], invalid=[Raw('"aB"')])
    canonical = compiled({"type": "string", "pattern": "^ab$"}, escapes="canonical")
    check(canonical, valid=[Raw('"ab"')], invalid=[Raw('"\\u0061b"')])


def test_compiled_object_and_masks():
    constraint = compiled({"type": "boolean"})
    assert constraint.vocab_size == VOCAB.size
    matcher = constraint.matcher()
    assert matcher.forced_tokens() == []
    assert matcher.advance(ord("t")) and matcher.forced_bytes() == b"rue"


NEGATIONS = [
    ({"not": {"required": ["a"]}}, [{}, {"b": 1}], [{"a": 1}, "x", 1]),
    ({"not": {"required": ["a", "b"]}}, [{}, {"a": 1}, {"b": 2}], [{"a": 1, "b": 2}, 3]),
    (
        {"not": {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}},
        [{}, {"c": 1}],
        [{"a": 1}, {"b": 1}],
    ),
    ({"type": "string", "not": {"enum": ["a", "b"]}}, ["", "c", "ab"], ["a", "b"]),
    (
        {"not": {"enum": ["a", 1, None, True]}},
        ["b", 2, 1.5, False, [], {}],
        ["a", 1, 1.0, None, True],
    ),
    ({"type": "string", "not": {"pattern": "^\\s*$"}}, ["x", " x "], ["", "  ", "\t"]),
    ({"not": {"pattern": "a"}}, ["b"], ["a", 1, None]),
    (
        {"type": "integer", "minimum": 0, "maximum": 5, "not": {"enum": [0, 3, 5]}},
        [1, 2, 4],
        [0, 3, 5, 6],
    ),
    (
        {"type": "number", "minimum": 0, "maximum": 1, "not": {"const": 0.5}},
        [0, 0.25, 1],
        [0.5, 1.5],
    ),
    ({"type": "string", "maxLength": 3, "not": {"const": "ab"}}, ["a", "abc", ""], ["ab", "abcd"]),
    ({"type": "object", "propertyNames": {"not": {"enum": ["x"]}}}, [{}, {"y": 1}], [{"x": 1}]),
    ({"not": {"type": ["string", "null"]}}, [1, [], {}], ["a", None]),
]


@pytest.mark.parametrize(
    "schema,valid,invalid", NEGATIONS, ids=[str(i) for i in range(len(NEGATIONS))]
)
def test_supported_forms_of_not(schema, valid, invalid):
    from jsonschema import Draft202012Validator

    oracle = Draft202012Validator(schema)
    assert all(oracle.is_valid(v) for v in valid) and not any(oracle.is_valid(v) for v in invalid)
    check(compiled(schema), valid=valid, invalid=invalid)


PRESENCE = [
    (
        {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        [{"a": 1}, {"b": 1}, {"a": 1, "c": 2}],
        [{}, {"a": 1, "b": 2}, 1, "x"],
    ),
    (
        {"type": "object", "properties": {"radius": {"type": "number"}},
         "oneOf": [{"required": ["radius"]}, {"required": ["length", "width"]}]},
        [{"radius": 1}, {"length": 1, "width": 2}, {"length": 1, "width": 2, "x": 1}],
        [{"length": 1}, {"radius": 1, "length": 1, "width": 2}, {"radius": "a"}],
    ),
    (
        {"oneOf": [{"required": ["image"], "not": {"required": ["x", "y"]}},
                   {"required": ["dir"]}]},
        [{"image": 1}, {"image": 1, "x": 1}, {"dir": 1}, {"image": 1, "x": 1, "y": 1, "dir": 1}],
        [{"image": 1, "dir": 1}, {"image": 1, "x": 1, "y": 2}, {}],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    "schema,valid,invalid", PRESENCE, ids=[str(i) for i in range(len(PRESENCE))]
)
def test_one_of_on_which_keys_are_present(schema, valid, invalid):
    """Overlapping ``oneOf`` branches of ``required`` are "exactly one of these key sets"."""
    from jsonschema import Draft202012Validator

    oracle = Draft202012Validator(schema)
    assert all(oracle.is_valid(v) for v in valid) and not any(oracle.is_valid(v) for v in invalid)
    check(compiled(schema), valid=valid, invalid=invalid)
