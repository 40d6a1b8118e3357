"""Tool calls between free text, compiled to one grammar: ``compile_tool_calls``.

The output is free text, then a call, then free text again (as often as the model likes; at
least once with ``required=True``). A call starts with a *trigger*, which free text never holds:

- ``format="hermes"`` (Hermes, Qwen): ``begin`` (``<tool_call>``), an optional line break, the
  JSON object ``{"name": <one tool's name>, "arguments": <that tool's parameters>}``, an
  optional line break, ``end`` (``</tool_call>``); the trigger is ``begin``;
- ``format="tags"`` (xgrammar's structural tags, Llama's ``<function=…>``): ``begin`` with the
  tool's name in place of ``{name}`` (``<function={name}>``), the tool's arguments as JSON,
  ``end`` (``</function>``); the trigger is ``begin`` up to ``{name}`` (``<function=``).

A ``begin`` or ``end`` that is the text of a special token of the vocabulary
(``<|python_tag|>``, or ``<tool_call>`` where a tokenizer has it as one special token) is that
token (:mod:`structgen.grammar.special_tokens`); free text then is any text, since ordinary
tokens never spell a special one. Otherwise free text is any text in which the trigger does
not start — not even running on into the call's own trigger — so a call begins exactly where
the trigger first appears. Everything is one grammar for the grammar engine: masks stay
precomputed and exact on tokens that straddle the trigger, no lazy switch is needed.

Compared with xgrammar's structural tags (``StructuralTagItem(begin, schema, end)`` plus
triggers) and llama.cpp's lazy grammars (``grammar_triggers``), which leave the text before a
trigger unconstrained and start matching at the trigger, the text here is constrained too:
a token that would complete a trigger is allowed only as the start of a well-formed call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from structgen.errors import ConfigurationError
from structgen.grammar.special_tokens import special_reference
from structgen.ir import Grammar, Rule, Terminal
from structgen.key_set_rules import KeySetRules
from structgen.regex.dfa import DEAD, ByteDFA, minimize, regex_to_dfa, trim
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.compiler import compile_grammar
from structgen.schema.options import SchemaOptions
from structgen.schema.to_grammar import schema_to_grammar_with
from structgen.vocab.vocabulary import Vocabulary

__all__ = ["Tool", "ToolCallFormat", "compile_tool_calls", "tool_calls_grammar"]

ToolCallFormat = Literal["hermes", "tags"]
_DEFAULT_TAGS = {
    "hermes": ("<tool_call>", "</tool_call>"),
    "tags": ("<function={name}>", "</function>"),
}
_NAME_FIELD = "{name}"


@dataclass(frozen=True)
class Tool:
    """A tool: its ``name`` and the JSON Schema of its ``parameters`` (the call's arguments)."""

    name: str
    parameters: Any = True

    @classmethod
    def of(cls, spec: Tool | Mapping[str, Any]) -> Tool:
        """A tool from itself, an OpenAI-style ``{"type": "function", "function": {...}}``, or
        ``{"name": ..., "parameters": ...}`` (``input_schema`` is read as ``parameters``)."""
        if isinstance(spec, Tool):
            return spec
        if not isinstance(spec, Mapping):
            raise ConfigurationError(
                f"a tool is a Tool or a mapping with 'name' and 'parameters', got {spec!r}"
            )
        if spec.get("type") == "function" and isinstance(spec.get("function"), Mapping):
            spec = spec["function"]
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"a tool needs a non-empty string 'name', got {spec!r}")
        return cls(name, spec.get("parameters", spec.get("input_schema", True)))


def compile_tool_calls(
    tools: Sequence[Tool | Mapping[str, Any]],
    vocab: Vocabulary,
    *,
    format: ToolCallFormat = "hermes",
    begin: str | None = None,
    end: str | None = None,
    required: bool = False,
    arguments_key: str = "arguments",
    options: SchemaOptions | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    **schema_overrides: Any,
) -> CompiledGrammar:
    """Free text with tool calls (see the module's docstring), compiled against ``vocab``.

    ``tools``: :class:`Tool` objects or mappings (OpenAI style accepted). ``begin`` / ``end``
    default to the format's tags; either may be the text of one of ``vocab``'s special tokens.
    ``required``: at least one call. ``arguments_key`` (hermes): the key of the arguments
    (``"parameters"`` for Llama 3.1's JSON calls). The parameters compile with ``options`` /
    ``schema_overrides`` as :func:`~structgen.runtime.compiler.compile_json_schema` does (any
    property order: ``property_order="schema"`` makes ``name`` come first, and every object's
    properties follow their schema's order)."""
    grammar = tool_calls_grammar(
        tools,
        format=format,
        begin=begin,
        end=end,
        required=required,
        arguments_key=arguments_key,
        special_names=frozenset(vocab.special_names.values()),
        options=options,
        **schema_overrides,
    )
    return compile_grammar(grammar, vocab, precompute=False, cache=cache, cache_dir=cache_dir)


def tool_calls_grammar(
    tools: Sequence[Tool | Mapping[str, Any]],
    *,
    format: ToolCallFormat = "hermes",
    begin: str | None = None,
    end: str | None = None,
    required: bool = False,
    arguments_key: str = "arguments",
    special_names: frozenset[str] = frozenset(),
    options: SchemaOptions | None = None,
    **schema_overrides: Any,
) -> Grammar:
    """The grammar :func:`compile_tool_calls` compiles; ``begin`` / ``end`` found in
    ``special_names`` are special-token references (bound when the grammar is compiled)."""
    if format not in _DEFAULT_TAGS:
        raise ConfigurationError(f"format must be 'hermes' or 'tags', got {format!r}")
    listed = [Tool.of(spec) for spec in tools]
    if not listed:
        raise ConfigurationError("compile_tool_calls needs at least one tool")
    names = [tool.name for tool in listed]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"tool names must differ, got {names}")
    begin = _DEFAULT_TAGS[format][0] if begin is None else begin
    end = _DEFAULT_TAGS[format][1] if end is None else end
    resolved = SchemaOptions.build(options, **schema_overrides)
    builder = _Builder(special_names)
    end_symbols = builder.tag(end)
    calls: list[tuple[str, ...]] = []
    if format == "hermes":
        if not begin:
            raise ConfigurationError("hermes tool calls need a non-empty begin tag")
        if arguments_key == "name":
            raise ConfigurationError("arguments_key cannot be 'name': the call's name is there")
        trigger = begin
        opening = builder.tag(begin) + ("tool/newline?",)
        builder.rules += [
            Rule("tool/newline?", ()),
            Rule("tool/newline?", (builder.literal("\n"),)),
        ]
        for index, tool in enumerate(listed):
            schema = {
                "type": "object",
                "properties": {"name": {"const": tool.name}, arguments_key: tool.parameters},
                "required": ["name", arguments_key],
                "additionalProperties": False,
            }
            body = builder.schema(index, tool.name, schema, resolved)
            calls.append((*opening, body, "tool/newline?", *end_symbols))
    else:
        if begin.count(_NAME_FIELD) != 1 or not begin.split(_NAME_FIELD)[0]:
            raise ConfigurationError(
                f"a tags begin must hold {_NAME_FIELD} once, after some text (the trigger), "
                f"like '<function={{name}}>', got {begin!r}"
            )
        trigger = begin.split(_NAME_FIELD)[0]
        for index, tool in enumerate(listed):
            opening = builder.literal(begin.replace(_NAME_FIELD, tool.name))
            body = builder.schema(index, tool.name, tool.parameters, resolved)
            calls.append((opening, body, *end_symbols))
    builder.rules += [Rule("tool/call", call) for call in calls]
    before, after = builder.texts(None if trigger in special_names else trigger)
    segments = "tool/calls+" if required else "tool/calls*"
    builder.rules += [
        Rule("tool/segment", ("tool/call",)),
        Rule("tool/segment", (before, "tool/call")),
        Rule(segments, () if not required else ("tool/segment",)),
        Rule(segments, (segments, "tool/segment")),
        Rule("start", (segments,)),
        Rule("start", (segments, after)),
    ]
    return Grammar(
        terminals=builder.terminals,
        rules=tuple(builder.rules),
        start="start",
        source_name=f"tool calls ({format}: {', '.join(names)})",
        warnings=tuple(builder.warnings),
        lazy=tuple(builder.lazy),
    )


class _Builder:
    """Terminals and rules of a tool-call grammar, the tools' schema grammars prefixed."""

    def __init__(self, special_names: frozenset[str]) -> None:
        self.special_names = special_names
        self.terminals: dict[str, Terminal] = {}
        self.rules: list[Rule] = []
        self.lazy: list[KeySetRules] = []
        self.warnings: list[str] = []

    def literal(self, text: str) -> str:
        name = "tool/" + json.dumps(text, ensure_ascii=False)
        self.terminals.setdefault(name, Terminal(name, re.escape(text), literal=text))
        return name

    def tag(self, text: str) -> tuple[str, ...]:
        """A begin or end tag: a special token's reference, a literal, or nothing (``""``)."""
        if not text:
            return ()
        if text in self.special_names:
            self.terminals.setdefault(text, special_reference(text))
            return (text,)
        return (self.literal(text),)

    def schema(self, index: int, name: str, schema: Any, options: SchemaOptions) -> str:
        """The start symbol of ``schema``'s grammar, merged with names under ``tool<i>/``."""
        try:
            grammar = schema_to_grammar_with(schema, options, {}, stacklevel=5)
        except ConfigurationError as error:
            raise type(error)(f"tool {name!r}: {error}") from None
        if grammar.ignore:
            raise ConfigurationError(f"tool {name!r}: its schema grammar ignores text")
        prefix = f"tool{index}/"
        for terminal in grammar.terminals.values():
            renamed = prefix + terminal.name
            self.terminals[renamed] = replace(terminal, name=renamed)
        self.rules += [
            Rule(prefix + rule.lhs, tuple(prefix + symbol for symbol in rule.rhs))
            for rule in grammar.rules
        ]
        self.lazy += [source.renamed(lambda symbol: prefix + symbol) for source in grammar.lazy]
        self.warnings += [f"tool {name!r}: {message}" for message in grammar.warnings]
        return prefix + grammar.start

    def texts(self, trigger: str | None) -> tuple[str, str]:
        """The free-text terminals before a call and at the end (one, without a trigger)."""
        if trigger is None:
            self.terminals["tool/text"] = Terminal("tool/text", "(?s:.)+")
            return "tool/text", "tool/text"
        data = trigger.encode("utf-8")
        for name, last in (("tool/text-before-call", True), ("tool/text", False)):
            where = "before" if last else "without"
            self.terminals[name] = Terminal(
                name, f"text {where} {trigger!r}", automaton=text_without(data, before=last)
            )
        return "tool/text-before-call", "tool/text"


def text_without(trigger: bytes, *, before: bool) -> ByteDFA:
    """The DFA of non-empty UTF-8 texts in which ``trigger`` does not occur; with ``before``,
    texts ``t`` in which no occurrence of ``trigger`` starts in ``t·trigger`` but the last one
    (the text may end with part of the trigger only where that part does not run on into it).

    The product of the UTF-8 text DFA with the Knuth–Morris–Pratt automaton of ``trigger``."""
    utf8 = regex_to_dfa("(?s:.)+")
    step = _kmp_table(trigger)
    full = len(trigger)
    ids: dict[tuple[int, int], int] = {(0, 0): 0}
    order = [(0, 0)]
    rows: list[np.ndarray] = []
    for u, k in order:  # (grows while read: breadth-first)
        row = np.full(256, DEAD, dtype=np.int32)
        for byte in range(256):
            target = (int(utf8.transitions[u, byte]), int(step[k, byte]))
            if target[0] == DEAD or target[1] == full:
                continue
            if target not in ids:
                ids[target] = len(order)
                order.append(target)
            row[byte] = ids[target]
        rows.append(row)
    accepting = np.array(
        [
            bool(utf8.accepting[u]) and (not before or _ends_cleanly(step, k, trigger))
            for u, k in order
        ]
    )
    transitions, accepting = trim(np.stack(rows), accepting)
    transitions, accepting = minimize(transitions, accepting)
    return ByteDFA(transitions=transitions, accepting=accepting)


def _kmp_table(pattern: bytes) -> np.ndarray:
    """``table[k, byte]``: how much of ``pattern`` is matched after ``byte``, from ``k``."""
    table = np.zeros((len(pattern) + 1, 256), dtype=np.int32)
    table[0, pattern[0]] = 1
    fallback = 0
    for k in range(1, len(pattern) + 1):
        table[k] = table[fallback]
        if k < len(pattern):
            table[k, pattern[k]] = k + 1
            fallback = int(table[fallback, pattern[k]])
    return table


def _ends_cleanly(step: np.ndarray, k: int, trigger: bytes) -> bool:
    """Whether reading ``trigger`` from KMP state ``k`` completes it only at its last byte."""
    for position, byte in enumerate(trigger):
        k = int(step[k, byte])
        if k == len(trigger):
            return position == len(trigger) - 1
    return False
