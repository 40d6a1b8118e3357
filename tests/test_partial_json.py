"""The incremental JSON parser against ``json.loads``, on every split of generated documents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from structgen.decoding.partial_json import Completed, PartialJSON, PartialJSONError, Path

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A JSON text of a generated value, serialised compactly, spaced or indented."""
    value = draw(JSON_VALUES)
    layout = draw(st.sampled_from(["compact", "spaced", "indented"]))
    ensure_ascii = draw(st.booleans())
    if layout == "compact":
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=ensure_ascii)
    elif layout == "spaced":
        text = json.dumps(value, ensure_ascii=ensure_ascii)
    else:
        text = json.dumps(value, indent=2, ensure_ascii=ensure_ascii)
    padding = draw(st.sampled_from(["", " ", "\n", " \t\r\n"]))
    return padding + text + padding


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (``True`` is not ``1``), keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def at(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every path of a value, innermost first (the order values complete in)."""
    found: list[Path] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return [*found, prefix]


def is_prefix_value(partial: Any, whole: Any) -> bool:
    """``partial`` could be what a parser has read of ``whole`` so far."""
    if isinstance(whole, dict):
        if not isinstance(partial, dict) or list(partial) != list(whole)[: len(partial)]:
            return False
        keys = list(partial)
        return all(same(partial[k], whole[k]) for k in keys[:-1]) and (
            not keys or is_prefix_value(partial[keys[-1]], whole[keys[-1]])
        )
    if isinstance(whole, list):
        if not isinstance(partial, list) or len(partial) > len(whole):
            return False
        done = all(same(x, y) for x, y in zip(partial[:-1], whole))
        return done and (not partial or is_prefix_value(partial[-1], whole[len(partial) - 1]))
    if isinstance(whole, str):
        return isinstance(partial, str) and whole.startswith(partial)
    return same(partial, whole)


@given(documents(), st.data())
def test_every_split_reads_as_json_loads(text: str, data: st.DataObject) -> None:
    expected = json.loads(text)
    cut = data.draw(st.integers(0, len(text)), label="cut")
    for pieces in ([text[:cut], text[cut:]], list(text)):
        parser = PartialJSON()
        completed: list[Completed] = []
        fed = 0
        for piece in pieces:
            new = parser.feed(piece)
            fed += len(piece)
            for item in new:
                # The span is the value's text (json.loads of it, from where it starts) ...
                found, end = json.JSONDecoder().raw_decode(text, item.start)
                assert (end, True) == (item.end, same(found, item.value))
                assert same(at(expected, item.path), item.value)
                # ... and the value is reported as soon as it is known to be whole.
                number = isinstance(item.value, (int, float)) and not isinstance(item.value, bool)
                assert fed - len(piece) < item.end + number <= fed
            completed += new
            if parser.done or isinstance(expected, (dict, list, str)):
                # (a top-level number or literal being read is no value yet: None)
                if parser.started:
                    assert is_prefix_value(parser.value, expected)
                else:
                    assert parser.value is None
        completed += parser.close()
        assert same(parser.value, expected)
        assert parser.done
        assert [item.path for item in completed] == paths(expected)


@given(documents(), st.data())
def test_a_cut_document_is_incomplete(text: str, data: st.DataObject) -> None:
    end = len(text.rstrip())
    cut = data.draw(st.integers(0, end - 1), label="cut")
    prefix = text[:cut]
    parser = PartialJSON()
    parser.feed(prefix)
    try:
        json.loads(prefix)
    except ValueError:
        with pytest.raises(PartialJSONError, match="incomplete"):
            parser.close()
    else:  # a number cut short is still a number
        assert same(parser.close()[-1].value, json.loads(prefix))


@pytest.mark.parametrize(
    "text",
    [
        r'"\ud83d\ude00"',  # a pair, joined
        r'"\ud83dx"',  # a lone high surrogate, kept
        r'"\ud83d\u0041"',
        r'"\ud83d\ud83d\ude00"',
        r'"\ude00\ud83d"',
        r'"\ud83d\n"',
        r'{"a":1,"a":[2]}',  # the later key wins, in the first key's place
        "-0",
        "1E+2",
        "[1.5e-3,0,-12]",
    ],
)
def test_escapes_and_corners_match_json_loads(text: str) -> None:
    for pieces in ([text], list(text)):
        parser = PartialJSON()
        for piece in pieces:
            parser.feed(piece)
        parser.close()
        assert same(parser.value, json.loads(text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{1", "expected an object key"),
        ('{"a" 1', "expected ':'"),
        ("[1 2", "expected ','"),
        ("[1,]", "expected a JSON value"),
        ('{"a":1,}', "expected an object key"),
        ("tru!", "expected 'true'"),
        ("01", "not a JSON number"),
        ('"a\\x"', "invalid escape"),
        ('"\\u12g"', "invalid \\\\u escape"),
        ('"a\nb"', "control character"),
        ("1 2", "after the JSON document"),
        ("}", "expected a JSON value"),
    ],
)
def test_invalid_text_is_refused_where_it_goes_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)  # the oracle refuses it too
    parser = PartialJSON()
    with pytest.raises(PartialJSONError, match=message):
        parser.feed(text)
        parser.close()


def test_the_value_so_far_holds_the_string_being_read() -> None:
    parser = PartialJSON()
    assert parser.value is None and not parser.started
    parser.feed('{"name":"Al')
    assert parser.value == {"name": "Al"}
    parser.feed('ice","tags":["x","y')
    assert parser.value == {"name": "Alice", "tags": ["x", "y"]}
    parser.feed('"],"age":4')
    assert parser.value == {"name": "Alice", "tags": ["x", "y"]}  # 4 may become 42
    assert [c.path for c in parser.feed("2}")] == [("age",), ()]
    snapshot = parser.value
    snapshot["name"] = "changed"  # a copy: the parser's value is its own
    assert parser.value["name"] == "Alice"
