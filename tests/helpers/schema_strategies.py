"""Hypothesis strategies: small JSON Schemas, and instances drawn *towards* a schema.

Instances are only candidates: ``jsonschema`` decides whether each is valid (the oracle), so a
generator that sometimes misses (an ``allOf`` it does not fully honour, a bound it overshoots on
purpose) tests rejection as well as acceptance. Patterns stay in the part of ECMA-262 where
Python's ``re`` (which ``jsonschema`` uses) agrees with it.
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

# pattern → strings to draw from (some match, some do not; the oracle decides).
PATTERNS = {
    "^[a-z]+$": ["abc", "a", "", "aB", "a1", "zz"],
    "^[A-Z][a-z0-9_]*$": ["Abc", "A", "a", "A_1", "AB"],
    "abc": ["abc", "xabcx", "ab", "", "aabc"],
    "^\\d{3}-\\d{4}$": ["555-1234", "5551234", "55-1234", "555-12345"],
    "^(foo|bar)baz$": ["foobaz", "barbaz", "baz", "foobar"],
    "x$": ["x", "ax", "xa", ""],
    "^$": ["", "a"],
    "[0-9]": ["a1", "abc", "9", ""],
    "^[^é]*é$": ["aé", "é", "éé", "a", "日é"],
}
# format → {string: valid per the RFC}. The oracle uses these labels (jsonschema's own format
# checkers need optional packages and are loose, e.g. any string with "@" is an email).
FORMATS = {
    "date": {
        "2024-02-29": True,
        "2023-02-29": False,
        "1999-12-31": True,
        "2020-13-01": False,
        "2020-1-01": False,
    },
    "time": {
        "12:34:56Z": True,
        "23:59:60Z": True,
        "12:34:56.789+05:30": True,
        "24:00:00Z": False,
        "12:34:56": False,
    },
    "date-time": {
        "2024-01-01T00:00:00Z": True,
        "2024-01-01t00:00:00.5z": True,
        "2024-01-01 00:00:00Z": False,
    },
    "email": {
        "a@b.co": True,
        "joe.bloggs@example.com": True,
        "a..b@c.de": False,
        "no-at-sign": False,
    },
    "ipv4": {"127.0.0.1": True, "256.0.0.1": False, "01.2.3.4": False, "1.2.3": False},
    "ipv6": {"::1": True, "1:2:3:4:5:6:7:8": True, "1::2::3": False, "::ffff:1.2.3.4": True},
    "uuid": {
        "123e4567-e89b-12d3-a456-426614174000": True,
        "123e4567e89b12d3a456426614174000": False,
    },
    "hostname": {"example.com": True, "a-b.c": True, "-bad.com": False, "x" * 64: False, "a": True},
    "uri": {
        "https://example.com/a?b=c#d": True,
        "mailto:a@b.c": True,
        "/relative": False,
        "http://a b": False,
    },
    "duration": {"P1D": True, "PT1H30M": True, "P1Y2W": False, "P": False},
}


def format_checker():
    """A ``jsonschema`` FormatChecker that answers from the labels above (other strings: invalid,
    except the few scalars the generator may draw, labelled here by hand)."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, labels in FORMATS.items():
        known = dict(labels)
        known.update({"": False, "é": False, "😀": False, "a": name == "hostname"})
        checker.checks(name)(
            lambda value, known=known: not isinstance(value, str) or known.get(value, False)
        )
    return checker


SCALARS = [None, True, False, 0, 1, -1, 2.5, "", "a", "é", "😀"]
KEYS = ["a", "b", "name", "id", "x-1", "é", 'k"q']


def _number_schema(integer: bool) -> st.SearchStrategy[dict]:
    bound = (
        st.integers(-20, 20)
        if integer
        else st.one_of(st.integers(-20, 20), st.sampled_from([-2.5, 0.5, 1.25, 3.75]))
    )
    return st.fixed_dictionaries(
        {"type": st.just("integer" if integer else "number")},
        optional={
            "minimum": bound,
            "maximum": bound,
            "exclusiveMinimum": bound,
            "exclusiveMaximum": bound,
            **({"multipleOf": st.sampled_from([2, 3, 5, 10])} if integer else {}),
        },
    )


def _string_schema() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "minLength": st.integers(0, 3),
            "maxLength": st.integers(0, 6),
            "pattern": st.sampled_from(sorted(PATTERNS)),
            "format": st.sampled_from(sorted(FORMATS)),
        },
    )


_LEAVES = st.one_of(
    st.just({"type": "null"}),
    st.just({"type": "boolean"}),
    _number_schema(True),
    _number_schema(False),
    _string_schema(),
    st.lists(st.sampled_from(SCALARS), min_size=1, max_size=4, unique_by=repr).map(
        lambda v: {"enum": v}
    ),
    st.sampled_from(SCALARS + [[1, "a"], {"a": 1}]).map(lambda v: {"const": v}),
    st.just({}),
)


def _object_schema(children: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    def build(properties: dict, required: list, extra: dict) -> dict:
        schema = {"type": "object", "properties": properties, **extra}
        if required:
            schema["required"] = sorted(set(required))
        return schema

    properties = st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    extra = st.fixed_dictionaries(
        {},
        optional={
            "additionalProperties": st.one_of(st.booleans(), children),
            "patternProperties": st.dictionaries(
                st.sampled_from(["^x-", "[0-9]", "^é"]), children, max_size=2
            ),
            "minProperties": st.integers(0, 3),
            "maxProperties": st.integers(0, 4),
            "propertyNames": st.sampled_from([{"maxLength": 3}, {"pattern": "^[a-z]"}]),
        },
    )
    return st.tuples(properties, st.lists(st.sampled_from(KEYS), max_size=3), extra).map(
        lambda t: build(*t)
    )


def _array_schema(children: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"type": st.just("array")},
        optional={
            "items": children,
            "prefixItems": st.lists(children, min_size=1, max_size=3),
            "minItems": st.integers(0, 3),
            "maxItems": st.integers(0, 5),
            "contains": children,
        },
    )


def _combinators(children: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    disjoint_one_of = st.just(
        {
            "oneOf": [
                {"type": "string"},
                {"type": "integer"},
                {"type": "object", "required": ["kind"]},
            ]
        }
    )
    presence_one_of = st.lists(
        st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True), min_size=2, max_size=3
    ).map(lambda groups: {"oneOf": [{"required": g} for g in groups]})
    negations = st.one_of(
        st.lists(st.sampled_from(SCALARS), min_size=1, max_size=3, unique_by=repr).map(
            lambda v: {"not": {"enum": v}}
        ),
        st.sampled_from(sorted(PATTERNS)).map(lambda p: {"type": "string", "not": {"pattern": p}}),
        st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True).map(
            lambda k: {"not": {"required": k}}
        ),
    )
    return st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda v: {"anyOf": v}),
        st.lists(children, min_size=1, max_size=2).map(lambda v: {"allOf": v}),
        disjoint_one_of,
        presence_one_of,
        st.tuples(children, negations).map(lambda pair: {"allOf": list(pair)}),
    )


def schemas() -> st.SearchStrategy[dict]:
    """Small schemas using the keywords the compiler enforces exactly."""
    return st.recursive(
        _LEAVES,
        lambda children: st.one_of(
            _object_schema(children), _array_schema(children), _combinators(children)
        ),
        max_leaves=6,
    )


def instances(draw, schema, depth: int = 0):
    """A candidate instance for ``schema`` (usually valid; ``jsonschema`` is the judge)."""
    if depth > 4 or not isinstance(schema, dict):
        return draw(st.sampled_from(SCALARS))
    if draw(st.integers(0, 19)) == 0:  # now and then, anything at all
        return draw(st.sampled_from(SCALARS + [[], {}, [1], {"a": None}]))
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    for keyword in ("anyOf", "oneOf", "allOf"):
        if keyword in schema:
            return instances(draw, draw(st.sampled_from(schema[keyword])), depth + 1)
    kind = schema.get("type")
    if kind is None:
        return draw(st.sampled_from(SCALARS))
    if kind == "null":
        return None
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -30))
        high = schema.get("maximum", schema.get("exclusiveMaximum", 30))
        low, high = int(min(low, high)) - 1, int(max(low, high)) + 1
        value = draw(st.integers(low, high))
        step = schema.get("multipleOf")
        return value - value % step if step and draw(st.booleans()) else value
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -30))
        high = schema.get("maximum", schema.get("exclusiveMaximum", 30))
        low, high = min(low, high) - 1, max(low, high) + 1
        return draw(
            st.one_of(
                st.integers(int(low), int(high)),
                st.floats(low, high, allow_nan=False).map(lambda f: round(f, 3)),
            )
        )
    if kind == "string":
        if "format" in schema:
            return draw(st.sampled_from(sorted(FORMATS[schema["format"]])))
        if "pattern" in schema:
            return draw(st.sampled_from(PATTERNS[schema["pattern"]]))
        return draw(
            st.text(
                alphabet=string.ascii_letters + 'é日😀"\\\n',
                min_size=schema.get("minLength", 0),
                max_size=schema.get("maxLength", 5) + 1,
            )
        )
    if kind == "array":
        prefix = schema.get("prefixItems", [])
        size = draw(
            st.integers(
                schema.get("minItems", 0),
                max(schema.get("maxItems", 4), schema.get("minItems", 0)) + 1,
            )
        )
        out = []
        for index in range(size):
            sub = prefix[index] if index < len(prefix) else schema.get("items", {})
            if "contains" in schema and draw(st.booleans()):
                sub = schema["contains"]
            out.append(instances(draw, sub, depth + 1))
        return out
    if kind == "object":
        out = {}
        properties = schema.get("properties", {})
        for key in sorted(properties):
            if key in schema.get("required", []) or draw(st.booleans()):
                out[key] = instances(draw, properties[key], depth + 1)
        if draw(st.integers(0, 3)) == 0:
            key = draw(st.sampled_from(["x-extra", "z", "9", "éé"]))
            additional = schema.get("additionalProperties", {})
            out[key] = instances(
                draw, additional if isinstance(additional, dict) else {}, depth + 1
            )
        keys = list(out)
        order = draw(st.permutations(keys)) if keys else []
        return {k: out[k] for k in order}
    return None
