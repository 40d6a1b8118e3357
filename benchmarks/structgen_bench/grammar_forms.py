"""One grammar, written for each engine of the grammar benchmark, with the same language.

structgen reads the bundled ``.lark`` file itself. The peers get it in their own syntax:

- **llguidance** reads Lark too, and accepts every bundled file as it is. Its regexes are
  Unicode-aware, though (``\\w``, ``\\d``, ``\\s`` match non-ASCII letters and digits, and the
  ``i`` flag folds ``ſ`` to ``s`` and ``K`` (Kelvin) to ``k``), while the grammars' language is
  defined with ASCII classes (``re.ASCII``, as structgen's IR reads them). So
  :func:`llguidance_lark` keeps the file and rewrites only its ``/regex/flags`` literals: each
  is re-printed from Python's own parse of it with explicit ASCII classes and the ``i`` flag
  spelled out as ``[sS]`` classes.
- **xgrammar** reads EBNF (GBNF-like) with no lexer: :func:`xgrammar_ebnf` prints the grammar
  IR, one rule per nonterminal and per terminal, each terminal's regex turned into EBNF (quoted
  strings, character classes, groups, ``* + ? {m,n}``). Ignored terminals (``%ignore``) become
  an optional run ``ign`` before every terminal and at the end, which is the IR's language
  exactly. A regex feature EBNF cannot say (anchors, look-around, back-references, atomic
  groups) raises :class:`NotExpressible`: the benchmark then reports "grammar not expressible"
  rather than changing the language.

Both printers write the tree of :mod:`structgen_bench.regex_tree` (Python's own parse of each
regex, over exact code-point sets).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from structgen.errors import ConfigurationError
from structgen.grammar.bundled import grammars_dir
from structgen.grammar.lark_frontend import grammar_from_lark
from structgen.ir import Grammar
from structgen_bench.errors import GrammarNotSupported
from structgen_bench.regex_tree import (
    MAX_CODEPOINT,
    NotExpressible,
    Ranges,
    complement,
    parse_regex,
)

__all__ = [
    "BenchGrammar",
    "NotExpressible",
    "bundled_grammar",
    "xgrammar_ebnf",
    "llguidance_lark",
    "regex_to_ebnf",
    "regex_to_rust",
]

@dataclass
class BenchGrammar:
    """A grammar of the benchmark: its Lark text (the definition) and the peers' versions.

    ``gbnf_text`` is a hand-written GBNF file of the same language, which xgrammar reads in
    preference to the printed IR. The peers' texts are made once, outside any timing.
    """

    name: str
    lark_text: str
    gbnf_text: str | None = None
    _forms: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ir(self) -> Grammar:
        if "ir" not in self._forms:
            self._forms["ir"] = grammar_from_lark(self.lark_text, source_name=self.name)
        return self._forms["ir"]

    def xgrammar_source(self) -> str:
        """Where xgrammar's text comes from: ``"gbnf"`` or ``"ir"`` (the printed IR)."""
        return "gbnf" if self.gbnf_text is not None else "ir"

    def xgrammar_text(self) -> str:
        """xgrammar's EBNF; :class:`~structgen_bench.errors.GrammarNotSupported` when the IR
        has a terminal EBNF cannot express."""
        if self.gbnf_text is not None:
            return self.gbnf_text
        if "xgrammar" not in self._forms:
            try:
                self._forms["xgrammar"] = xgrammar_ebnf(self.ir)
            except NotExpressible as error:
                self._forms["xgrammar"] = error
        form = self._forms["xgrammar"]
        if isinstance(form, NotExpressible):
            raise GrammarNotSupported(f"grammar not expressible in xgrammar EBNF: {form}")
        return form

    def llguidance_text(self) -> str:
        if "llguidance" not in self._forms:
            self._forms["llguidance"] = llguidance_lark(self.lark_text)
        return self._forms["llguidance"][0]

    def llguidance_changes(self) -> list[str]:
        self.llguidance_text()
        return list(self._forms["llguidance"][1])


def bundled_grammar(name: str) -> BenchGrammar:
    """The bundled grammar ``name`` (its ``.lark`` file, and its ``.gbnf`` when there is one)."""
    lark_path = grammars_dir() / f"{name}.lark"
    if not lark_path.is_file():
        raise ConfigurationError(f"no bundled grammar {name}.lark in {grammars_dir()}")
    gbnf_path = grammars_dir() / f"{name}.gbnf"
    return BenchGrammar(
        name,
        lark_path.read_text(encoding="utf-8"),
        gbnf_path.read_text(encoding="utf-8") if gbnf_path.is_file() else None,
    )


# -- printers -----------------------------------------------------------------------------------


def _ebnf_char(code: int, in_class: bool) -> str:
    char = chr(code)
    if in_class:
        if char in "\\]-^[":
            return "\\" + char
    elif char in '\\"':
        return "\\" + char
    if 0x20 <= code < 0x7F:
        return char
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


CharPrinter = Callable[[int, bool], str]  # (code point, inside a class) -> its text


def _chars_text(ranges: Ranges, char: CharPrinter, quote: str) -> str:
    """A ``chars`` node: one character (between ``quote``s) or a class."""
    if not ranges:
        raise NotExpressible("an empty character class (matches nothing)")
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return quote + char(ranges[0][0], False) + quote
    return _class_text(ranges, char)


def _class_text(ranges: Ranges, char: CharPrinter) -> str:
    """``[...]`` for ``ranges``, negated when that is shorter (large sets)."""
    negated = sum(high - low + 1 for low, high in ranges) > 0x8000
    shown = complement(ranges) if negated else ranges
    parts = []
    for low, high in shown:
        if low == high:
            parts.append(char(low, True))
        elif high == low + 1:
            parts.append(char(low, True) + char(high, True))
        else:
            parts.append(f"{char(low, True)}-{char(high, True)}")
    if not shown:  # every character (the complement is empty)
        return "[" + char(0, True) + "-" + char(MAX_CODEPOINT, True) + "]"
    return "[" + ("^" if negated else "") + "".join(parts) + "]"


def _ebnf(node: Any, *, top: bool = False) -> str:
    kind = node[0]
    if kind == "chars":
        return _chars_text(node[1], _ebnf_char, '"')
    if kind == "seq":
        parts: list[str] = []
        literal: list[str] = []
        for child in node[1]:
            if child[0] == "chars" and len(child[1]) == 1 and child[1][0][0] == child[1][0][1]:
                literal.append(_ebnf_char(child[1][0][0], False))
                continue
            if literal:
                parts.append('"' + "".join(literal) + '"')
                literal = []
            parts.append(_ebnf(child))
        if literal:
            parts.append('"' + "".join(literal) + '"')
        if not parts:
            return '""'
        text = " ".join(parts)
        return text if top or len(parts) == 1 else f"({text})"
    if kind == "alt":
        text = " | ".join(_ebnf(child, top=True) for child in node[1])
        return f"({text})"
    if kind == "repeat":
        _, child, low, high = node
        inner = _ebnf(child)
        if not (inner.startswith(("(", "[")) or (inner.startswith('"') and len(inner) <= 3)):
            inner = f"({inner})"
        if (low, high) == (0, None):
            return inner + "*"
        if (low, high) == (1, None):
            return inner + "+"
        if (low, high) == (0, 1):
            return inner + "?"
        if high is None:
            return f"{inner}{{{low},}}"
        if low == high:
            return f"{inner}{{{low}}}"
        return f"{inner}{{{low},{high}}}"
    raise AssertionError(kind)  # pragma: no cover - the converter makes no other node


def regex_to_ebnf(pattern: str, flags: int = 0) -> str:
    """``pattern`` (Python syntax, ``re.ASCII``) as an xgrammar EBNF expression."""
    return _ebnf(parse_regex(pattern, flags), top=True)


_RUST_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_\"',:;=<>!@% ")


def _rust_char(code: int, in_class: bool) -> str:
    char = chr(code)
    if char in _RUST_PLAIN:
        return char
    return f"\\x{{{code:X}}}"


def _rust(node: Any) -> str:
    kind = node[0]
    if kind == "chars":
        return _chars_text(node[1], _rust_char, "")
    if kind == "seq":
        return "".join(_rust_atom(child, in_seq=True) for child in node[1])
    if kind == "alt":
        return "|".join(_rust(child) for child in node[1])
    if kind == "repeat":
        _, child, low, high = node
        inner = _rust_atom(child, in_seq=False)
        suffix = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((low, high))
        if suffix is None and high is None:
            suffix = f"{{{low},}}"
        elif suffix is None:
            suffix = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
        return inner + suffix
    raise AssertionError(kind)  # pragma: no cover


def _rust_atom(node: Any, *, in_seq: bool) -> str:
    text = _rust(node)
    if node[0] == "alt" or (node[0] == "seq" and not in_seq):
        return f"(?:{text})"
    if node[0] == "repeat" and not in_seq:
        return f"(?:{text})"
    return text


def regex_to_rust(pattern: str, flags: int = 0) -> str:
    """``pattern`` with explicit ASCII classes and no flags, in Rust ``regex`` syntax."""
    return _rust(parse_regex(pattern, flags))


# -- xgrammar: the IR as EBNF -------------------------------------------------------------------


def xgrammar_ebnf(grammar: Grammar) -> str:
    """The grammar IR as xgrammar EBNF with the same language (root rule ``root``).

    Raises :class:`NotExpressible` naming the terminal whose regex EBNF cannot say.
    """
    names: dict[str, str] = {}
    taken = {"root", "ign"}

    def rule_name(symbol: str, prefix: str) -> str:
        if symbol in names:
            return names[symbol]
        base = prefix + (re.sub(r"[^A-Za-z0-9_]", "_", symbol).strip("_") or "x")
        candidate, index = base, 1
        while candidate in taken:
            index += 1
            candidate = f"{base}_{index}"
        taken.add(candidate)
        names[symbol] = candidate
        return candidate

    ignore = bool(grammar.ignore)
    lines: list[str] = []
    start = rule_name(grammar.start, "r_")
    lines.append(f"root ::= {start} ign" if ignore else f"root ::= {start}")
    alternatives: dict[str, list[str]] = {}
    for rule in grammar.rules:
        parts = []
        for symbol in rule.rhs:
            if symbol in grammar.terminals:
                name = rule_name(symbol, "t_")
                parts.append(f"ign {name}" if ignore else name)
            else:
                parts.append(rule_name(symbol, "r_"))
        alternatives.setdefault(rule.lhs, []).append(" ".join(parts) if parts else '""')
    for lhs, options in alternatives.items():
        lines.append(f"{rule_name(lhs, 'r_')} ::= " + " | ".join(f"({o})" for o in options))
    used = [s for s in grammar.terminals if s in names]
    for symbol in [*used, *[s for s in grammar.ignore if s not in used]]:
        terminal = grammar.terminals[symbol]
        try:
            body = regex_to_ebnf(terminal.pattern)
        except NotExpressible as error:
            raise NotExpressible(f"terminal {symbol} /{terminal.pattern}/: {error}") from None
        lines.append(f"{rule_name(symbol, 't_')} ::= {body}")
    if ignore:
        runs = " | ".join(names[s] for s in grammar.ignore)
        lines.append(f'ign ::= "" | ({runs}) ign')
    return "\n".join(lines) + "\n"


# -- llguidance: the .lark file with its regex literals made ASCII-explicit --------------------

_LARK_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": 0, "u": 0}


def llguidance_lark(text: str) -> tuple[str, list[str]]:
    """The Lark ``text`` with every ``/regex/flags`` literal re-printed for llguidance.

    Returns the new text and one line per literal that changed (``old -> new``). Comments and
    string literals are left alone.
    """
    out: list[str] = []
    changes: list[str] = []
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if text.startswith("//", index):
            end = text.find("\n", index)
            end = size if end < 0 else end
            out.append(text[index:end])
            index = end
        elif char == '"':
            end = index + 1
            while end < size and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[index : end + 1])
            index = end + 1
        elif char == "/":
            end = index + 1
            while end < size and text[end] != "/":
                if text[end] == "\n":
                    raise NotExpressible(f"unterminated regex literal at offset {index}")
                end += 2 if text[end] == "\\" else 1
            body = text[index + 1 : end]
            flag_end = end + 1
            while flag_end < size and text[flag_end] in "imslux":
                flag_end += 1
            flags_text = text[end + 1 : flag_end]
            unknown = set(flags_text) - set(_LARK_FLAGS)
            if unknown:
                raise NotExpressible(f"regex flags {''.join(sorted(unknown))!r}")
            flags = 0
            for flag in flags_text:
                flags |= _LARK_FLAGS[flag]
            pattern = body.replace("\\/", "/")
            rewritten = "/" + regex_to_rust(pattern, flags) + "/"
            original = text[index:flag_end]
            if rewritten != original:
                changes.append(f"{original} -> {rewritten}")
            out.append(rewritten)
            index = flag_end
        else:
            out.append(char)
            index += 1
    return "".join(out), changes
