"""Tool calls between free text (``compile_tool_calls``), against independent oracles.

- Small vocabularies: at every step of random token walks the whole mask is compared with the
  ``regex`` module's partial full-match of the language written as a regex (free text: no
  ``<t>`` starts in it, a lookahead), and end-of-sequence with ``re.fullmatch``.
- SmolLM2's vocabulary: texts mixing free text and well- or ill-formed Hermes calls are
  accepted exactly when a hand-written parser (first trigger, ``json.loads``, ``jsonschema``)
  says they are valid.
"""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from structgen.bitmask import allocate_token_bitmask
from structgen.errors import ConfigurationError
from structgen.runtime.tool_calls import Tool, compile_tool_calls, tool_calls_grammar
from structgen.vocab import Vocabulary
from structgen.vocab.trie import build_trie
from tests.helpers.vocab_fixtures import gguf_vocab

TOOLS = [Tool("f", {"type": "boolean"}), {"name": "g", "parameters": {"type": "null"}}]
_CHARS = list('abfglnrstue<>/{}":,\n ')
_PIECES = ["<t", "t>", "<t>", "</t>", "a<", '{"name":"', '","arguments":', "true}", "}\n</t>"]
_SPECIAL = {1: "<|call|>", 2: "<|other|>"}
TOKENS = [b"", b"", b""] + [p.encode() for p in _CHARS + _PIECES]
VOCAB = Vocabulary(TOKENS, special_ids=[1, 2], eos_ids=[0], special_names=_SPECIAL, name="toy")
_ARGUMENTS = {"f": "(?:true|false)", "g": "null"}
_JSON = "|".join(  # either property order
    rf'\{{"name":"{n}","arguments":{a}\}}|\{{"arguments":{a},"name":"{n}"\}}'
    for n, a in _ARGUMENTS.items()
)


def _language(begin: str, text: str, *, required: bool) -> str:
    call = f"{begin}\\n?(?:{_JSON})\\n?</t>"
    return f"(?:{text}{call}){'+' if required else '*'}{text}"


_FREE = {"<t>": r"(?:(?!<t>)[^\ue000-\ue0ff])*", "<|call|>": r"[^\ue000-\ue0ff]*"}
"""Free text: with a text trigger, none starts in it (seen to the end of the whole text); with
a special token, any text (special token ``i`` is ``chr(0xE000 + i)`` in the oracle's text)."""


def _text(tokens: list[int]) -> str:
    return "".join(chr(0xE000 + t) if t < 3 else TOKENS[t].decode() for t in tokens)


def _allowed(matcher, size: int) -> set[int]:
    bitmask = allocate_token_bitmask(1, size)
    matcher.fill_next_token_bitmask(bitmask, 0)
    bits = np.unpackbits(bitmask[0].view(np.uint8), bitorder="little")[:size]
    return set(np.flatnonzero(bits).tolist())


@pytest.fixture(scope="module", params=[(b, r) for b in _FREE for r in (False, True)])
def toy(request: pytest.FixtureRequest):
    begin, required = request.param
    language = _language(
        "\ue001" if begin == "<|call|>" else begin, _FREE[begin], required=required
    )
    compiled = compile_tool_calls(
        TOOLS, VOCAB, begin=begin, end="</t>", required=required, whitespace="compact",
        cache=False,
    )  # fmt: skip
    return compiled, regex.compile(language)


@given(choices=st.lists(st.integers(min_value=0, max_value=10**6), max_size=40))
def test_every_mask_on_a_random_walk_is_the_oracle_s(toy, choices: list[int]) -> None:
    compiled, language = toy
    matcher = compiled.matcher()
    tokens: list[int] = []
    for choice in choices:
        text = _text(tokens)
        expected = {
            t
            for t in range(1, len(TOKENS))
            if language.fullmatch(text + _text([t]), partial=True) is not None
        }
        if language.fullmatch(text) is not None:
            expected.add(0)
        allowed = _allowed(matcher, VOCAB.size)
        assert allowed == expected, repr(text)
        assert matcher.is_accepting() == (0 in expected)
        steps = sorted(expected - {0})
        if not steps:
            break
        # half the time, take a multi-byte piece or the trigger when one is allowed
        preferred = [t for t in steps if t == 1 or len(TOKENS[t]) > 1]
        pool = preferred if preferred and choice % 2 else steps
        token = pool[choice % len(pool)]
        assert matcher.advance(token)
        tokens.append(token)


def test_a_walk_reaches_calls_in_both_cases(toy) -> None:
    compiled, language = toy
    matcher = compiled.matcher()
    begin = [1] if "\ue001" in language.pattern else [TOKENS.index(b"<t>")]
    pieces = ['{"name":"', "g", '","arguments":', "n", "u", "l", "l", "}\n</t>", "a"]
    tokens = begin + [TOKENS.index(p.encode()) for p in pieces]
    for token in tokens:
        assert matcher.advance(token), _text(tokens)
    assert matcher.is_accepting() and language.fullmatch(_text(tokens))


def test_free_text_stops_where_a_trigger_would_start() -> None:
    compiled = compile_tool_calls(TOOLS, VOCAB, begin="<t>", end="</t>", cache=False)
    matcher = compiled.matcher()
    for piece in ("a<", "t>"):  # "a<t>" opens a call: its JSON must follow
        assert matcher.advance(TOKENS.index(piece.encode()))
    assert not matcher.is_accepting()
    assert not matcher.accepts(TOKENS.index(b"a"))
    assert matcher.accepts(TOKENS.index(b'{"name":"'))
    assert not compiled.matcher().accepts(2)  # a special token no format names: banned


def test_tags_format_and_options() -> None:
    grammar = tool_calls_grammar([Tool("get", {"type": "null"})], format="tags")
    assert 'tool/"<function=get>"' in grammar.terminals
    assert grammar.terminals["tool/text"].pattern == "text without '<function='"
    with pytest.raises(ConfigurationError, match=r"hold \{name\} once"):
        tool_calls_grammar(TOOLS, format="tags", begin="<call>")
    with pytest.raises(ConfigurationError, match="tool names must differ"):
        tool_calls_grammar([Tool("f"), Tool("f")])
    with pytest.raises(ConfigurationError, match="non-empty string 'name'"):
        tool_calls_grammar([{"parameters": {}}])
    with pytest.raises(ConfigurationError, match="at least one tool"):
        tool_calls_grammar([])


def test_tags_format_matches_its_regex() -> None:
    vocab = Vocabulary([b""] + [bytes([b]) for b in range(32, 127)], eos_ids=[0])
    compiled = compile_tool_calls(
        [Tool("f", {"type": "boolean"})], vocab, format="tags", whitespace="compact", cache=False
    )
    oracle = re.compile(r"(?:(?:(?!<function=).)*<function=f>(?:true|false)</function>)*"
                        r"(?:(?!<function=).)*")  # fmt: skip
    texts = ["", "hi", "x<function=f>true</function>y", "<function=g>true</function>",
             "a<functio", "<function=f>true</function><function=f>false</function>",
             "<function=f>tru</function>", "<<function=f>false</function>"]  # fmt: skip
    for text in texts:
        matcher = compiled.matcher()
        ok = all(matcher.advance(1 + ord(c) - 32) for c in text) and matcher.is_accepting()
        assert ok == bool(oracle.fullmatch(text)), text


# -- SmolLM2's vocabulary: whole texts against a hand-written parser ---------------------------

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 12}, "days": {"type": "integer"}},
    "required": ["city"],
    "additionalProperties": False,
}
ADD = {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}
SCHEMAS = {"get_weather": WEATHER, "add": ADD}


@pytest.fixture(scope="module")
def smol():
    vocab = gguf_vocab("smollm2")
    tools = [
        {"type": "function", "function": {"name": n, "parameters": s}} for n, s in SCHEMAS.items()
    ]
    compiled = compile_tool_calls(tools, vocab, whitespace="compact", cache=False)
    return vocab, compiled


def _oracle(text: str) -> bool:
    """Hermes calls, parsed by hand: split at the first ``<tool_call>``, a compact JSON object
    of ``name`` and ``arguments`` valid against that tool's schema, ``</tool_call>``."""
    rest = text
    while "<tool_call>" in rest:
        _, rest = rest.split("<tool_call>", 1)
        if "</tool_call>" not in rest:
            return False
        body, rest = rest.split("</tool_call>", 1)
        body = body.removeprefix("\n").removesuffix("\n")
        try:
            call = json.loads(body)
        except ValueError:
            return False
        if not isinstance(call, dict) or set(call) != {"name", "arguments"}:
            return False
        schema = SCHEMAS.get(call["name"]) if isinstance(call["name"], str) else None
        compact = json.dumps(call, separators=(",", ":"), ensure_ascii=False)
        if schema is None or compact != body:
            return False
        if not jsonschema.Draft202012Validator(schema).is_valid(call["arguments"]):
            return False
    return True


_free = st.text(alphabet="ab <>/_tolc\n", max_size=12)
_arguments = st.one_of(
    st.fixed_dictionaries({"city": st.text(max_size=14)}, optional={"days": st.integers()}),
    st.fixed_dictionaries({}, optional={"a": st.integers(-99, 99)}),
    st.fixed_dictionaries({"b": st.booleans()}),
)


@st.composite
def _calls(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["get_weather", "add", "get_time"]))
    call = {"name": name, "arguments": draw(_arguments)}
    if draw(st.booleans()):
        call = dict(reversed(call.items()))  # (any property order)
    body = json.dumps(call, separators=(",", ":"), ensure_ascii=False)
    body = draw(st.sampled_from([body, "\n" + body + "\n", body.replace(":", ": ", 1)]))
    end = draw(st.sampled_from(["</tool_call>", "</tool_call>", "</tool_cal", ""]))
    return "<tool_call>" + body + end


@given(parts=st.lists(st.one_of(_free, _calls()), max_size=4))
def test_texts_are_accepted_exactly_when_the_parser_says_so(smol, parts: list[str]) -> None:
    vocab, compiled = smol
    text = "".join(parts)
    tokens = build_trie(vocab).greedy_tokenize(text.encode())
    matcher = compiled.matcher()
    accepted = all(matcher.advance(token) for token in tokens) and matcher.is_accepting()
    assert accepted == _oracle(text), text


def test_required_needs_a_call(smol) -> None:
    vocab, _ = smol
    tools = [Tool(n, s) for n, s in SCHEMAS.items()]
    compiled = compile_tool_calls(tools, vocab, required=True, whitespace="compact", cache=False)
    trie = build_trie(vocab)
    call = '<tool_call>{"name":"add","arguments":{"a":1}}</tool_call>'
    for text, ok in [("just text", False), ("", False), (call, True), ("x" + call + "y", True)]:
        matcher = compiled.matcher()
        tokens = trie.greedy_tokenize(text.encode())
        assert (all(map(matcher.advance, tokens)) and matcher.is_accepting()) == ok, text
