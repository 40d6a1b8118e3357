"""Streaming: whole-character pieces out of a decoding run, the stream's end-of-run check,
JSON events; and ``structgen.stream`` / ``generate(stream=True)`` end to end on SmolLM2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import structgen
from structgen.decoding import Decoding, Processing, ToyLM, make_rng, make_sampler
from structgen.decoding.streaming import Stream, json_events, text_pieces
from structgen.generation import GenerationResult, IncompleteGenerationError
from structgen.runtime.compiler import compile_regex
from structgen.vocab import Vocabulary

EOS = 0


def whole_prefix(data: bytes) -> str:
    """The longest prefix of valid UTF-8 ``data`` that ends on a character boundary, decoded
    (the oracle of what a stream may have shown after these bytes)."""
    for end in range(len(data), -1, -1):
        try:
            return data[:end].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return ""


TOKENS = st.lists(st.binary(min_size=1, max_size=3), min_size=1, max_size=6)


@given(st.text(max_size=12), st.data())
def test_pieces_of_valid_utf8_are_whole_characters_and_shown_at_once(text, data):
    raw = text.encode("utf-8")
    # Cut the bytes into tokens anywhere (inside characters too), the tokens into steps.
    cuts = sorted(data.draw(st.sets(st.integers(1, max(len(raw) - 1, 1)), max_size=8)))
    bounds = [0, *[c for c in cuts if c < len(raw)], len(raw)]
    tokens = [raw[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
    steps_cut = data.draw(st.lists(st.integers(1, 3), min_size=len(tokens), max_size=len(tokens)))
    steps, ids = [], list(range(1, len(tokens) + 1))
    while ids:
        steps.append(ids[: steps_cut[len(steps)]])
        ids = ids[len(steps[-1]) :]
    table = [b"<eos>", *tokens]
    shown = ""
    fed = b""
    pieces = text_pieces(steps, table, stop_ids={EOS})
    for step in steps:
        fed += b"".join(table[t] for t in step)
        if whole_prefix(fed) != shown:
            shown += next(pieces)
        assert shown == whole_prefix(fed)  # nothing held back, nothing split
    assert list(pieces) == []
    assert shown == text


@given(st.lists(TOKENS, max_size=6), st.data())
def test_pieces_join_to_the_one_shot_decode_up_to_the_stop_token(steps, data):
    table = [b"<eos>"]
    numbered = []
    for step in steps:
        numbered.append(list(range(len(table), len(table) + len(step))))
        table += step
    if numbered and data.draw(st.booleans(), label="stop"):  # an EOS, with tokens after it
        row = data.draw(st.integers(0, len(numbered) - 1), label="step")
        numbered[row].insert(data.draw(st.integers(0, len(numbered[row]))), EOS)
    flat = [t for step in numbered for t in step]
    body = flat[: flat.index(EOS)] if EOS in flat else flat
    expected = b"".join(table[t] for t in body).decode("utf-8", errors="replace")
    assert "".join(text_pieces(numbered, table, stop_ids={EOS})) == expected


def test_a_decoding_run_streams_what_it_decides_with_split_characters():
    # "é" (c3 a9) and "😀" (f0 9f 98 80) only as byte tokens or halves: every split occurs.
    tokens = [b"", b"caf", b"\xc3", b"\xa9", b"\xf0\x9f", b"\x98\x80", b"!", b"\xf0\x9f\x98"]
    tokens += [b"\x98", b"\x80", b"\xc3\xa9"]
    vocab = Vocabulary(tokens, eos_ids=[EOS], name="toy-utf8")
    matcher = compile_regex("café(😀)+!", vocab).matcher()
    rng = np.random.default_rng(5)
    lm = ToyLM(len(tokens), lambda context: rng.normal(0, 1, len(tokens)).astype(np.float32))
    run = Decoding(
        lm,
        [1],
        sampler=make_sampler("sample", Processing(temperature=1.0)),
        rng=make_rng(3),
        matcher=matcher,
        eos_ids=[EOS],
        max_new_tokens=40,
    )
    steps: list[list[int]] = []

    def recorded():
        for step in run:
            steps.append(step)
            yield step

    pieces = list(text_pieces(recorded(), vocab.token_bytes, stop_ids={EOS}))
    decided = [t for step in steps for t in step if t != EOS]
    assert "".join(pieces) == b"".join(tokens[t] for t in decided).decode("utf-8")
    assert "".join(pieces).startswith("café😀") and "\ufffd" not in "".join(pieces)
    assert len(pieces) <= len(steps)
    # Some pass did end inside a character (so a piece had to wait for the next pass).
    cumulative = [b"".join(tokens[t] for s in steps[: i + 1] for t in s if t != EOS)
                  for i in range(len(steps))]  # fmt: skip
    assert any(whole_prefix(fed).encode() != fed for fed in cumulative)


def test_the_run_check_comes_after_the_last_piece():
    checked = []

    def finish() -> str:
        checked.append(True)
        raise IncompleteGenerationError(4, "ab")

    stream = Stream(iter(["a", "b"]), finish)
    assert next(stream) == "a" and next(stream) == "b" and not checked
    with pytest.raises(RuntimeError, match="read to its end"):
        stream.result  # noqa: B018
    with pytest.raises(IncompleteGenerationError):
        next(stream)
    assert checked == [True]
    assert list(stream) == []  # checked once
    ok = Stream(iter(["x"]), lambda: 7)
    assert list(ok) == ["x"] and ok.result == 7
    empty = Stream(iter([]), lambda: None)
    assert list(empty) == [] and empty.result is None


def test_json_events_complete_fields_as_they_close():
    events = list(json_events(['{"a":"x', 'y","b":[1', ",2]", "}"]))
    assert [e.value for e in events] == [
        {"a": "x"},
        {"a": "xy", "b": []},
        {"a": "xy", "b": [1, 2]},
        {"a": "xy", "b": [1, 2]},
    ]
    assert [e.completed_paths for e in events] == [
        (),
        (("a",),),
        (("b", 0), ("b", 1), ("b",)),
        ((),),
    ]
    assert [e.done for e in events] == [False, False, False, True]
    # A top-level number is known whole only at the end: one last event with no text.
    last = list(json_events(["1", "2"]))[-1]
    assert (last.piece, last.value, last.completed_paths, last.done) == ("", 12, ((),), True)
    # Text cut short just ends the events; the run's own check says why.
    assert [e.done for e in json_events(['{"a":', "1"])] == [False, False]


def test_parse_needs_a_schema_and_is_refused_before_the_model():
    with pytest.raises(structgen.ConfigurationError, match="needs schema="):
        structgen.stream("p", regex="a", parse=True, model=object())


# -- end to end on SmolLM2 ------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 10},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
    },
    "required": ["name", "tags"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def smollm2():
    from structgen.models import load_default

    return load_default(device="cpu")


@pytest.mark.slow
def test_streamed_pieces_join_to_generate_text(smollm2):
    model, tokenizer = smollm2
    options = dict(model=model, tokenizer=tokenizer, max_new_tokens=24)
    prompt = "Describe a person as JSON with a name and tags."
    text = structgen.generate(prompt, schema=SCHEMA, **options)
    stream = structgen.generate(prompt, schema=SCHEMA, stream=True, **options)
    pieces = list(stream)
    assert "".join(pieces) == text and len(pieces) > 1
    assert stream.result.text == text and stream.result.stats.forward_passes >= len(pieces)

    events = list(structgen.stream(prompt, schema=SCHEMA, parse=True, **options))
    assert "".join(e.piece for e in events) == text
    assert events[-1].done and events[-1].value == json.loads(text)
    completed = [path for e in events for path in e.completed_paths]
    assert ("name",) in completed and completed[-1] == ()


@pytest.mark.slow
def test_characters_split_across_tokens_stream_whole(smollm2):
    model, tokenizer = smollm2
    options = dict(regex="(😀|é){3}", model=model, tokenizer=tokenizer, max_new_tokens=16)
    stream = structgen.stream("Write three emoji.", **options)
    pieces = list(stream)
    assert isinstance(stream.result, GenerationResult)
    assert "".join(pieces) == stream.result.text == structgen.generate("Write three emoji.",
                                                                     **options)  # fmt: skip
    assert all(piece and "\ufffd" not in piece for piece in pieces)
    assert len(stream.result.token_ids) > len(stream.result.text)  # characters span tokens


@pytest.mark.slow
def test_an_incomplete_run_raises_after_its_pieces(smollm2):
    model, tokenizer = smollm2
    stream = structgen.stream(
        "A person as JSON.", schema=SCHEMA, model=model, tokenizer=tokenizer, max_new_tokens=5
    )
    pieces = []
    with pytest.raises(IncompleteGenerationError) as raised:
        for piece in stream:
            pieces.append(piece)
    assert pieces and "".join(pieces) == raised.value.partial
    assert raised.value.stats is not None and raised.value.stats.tokens == 5  # the run's counters


def test_cli_stream_prints_pieces_as_they_come(monkeypatch, capsys):
    from structgen import generation
    from structgen.cli.main import main
    from structgen.decoding import DecodingStats

    seen = {}
    printed_before_next = []

    def pieces():
        for piece in ['{"a":', "1}"]:
            yield piece
            printed_before_next.append(capsys.readouterr().out)

    def fake(prompt, **options):
        seen.update(options, prompt=prompt)
        result = generation.GenerationResult('{"a":1}', [1, 2], DecodingStats(tokens=3))
        return Stream(pieces(), lambda: result)

    monkeypatch.setattr(generation, "stream", fake)
    assert main(["generate", "--grammar", "json", "--stream", "--stats", "--seed", "2", "p"]) == 0
    assert printed_before_next == ['{"a":', "1}"]  # each piece out before the next is decided
    out, err = capsys.readouterr()
    assert out == "\n" and json.loads(err)["tokens"] == 3
    assert seen["prompt"] == "p" and seen["seed"] == 2 and seen["grammar"] is not None


def test_cli_stream_ends_the_line_before_the_error(monkeypatch, capsys):
    from structgen import generation
    from structgen.cli.main import EXIT_USAGE, main

    def fake(prompt, **options):
        def fail():
            raise IncompleteGenerationError(2, "{")

        return Stream(iter(["{"]), fail)

    monkeypatch.setattr(generation, "stream", fake)
    assert main(["generate", "--regex", "a+", "--stream", "p"]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == "{\n" and "incomplete" in err
