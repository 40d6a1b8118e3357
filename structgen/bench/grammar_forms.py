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

Character sets are kept as sorted code-point ranges, so class arithmetic (negation, ``\\W``
inside a class, case folding) is exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from structgen.ir import Grammar

__all__ = [
    "BenchGrammar",
    "NotExpressible",
    "bundled_grammar",
    "xgrammar_ebnf",
    "llguidance_lark",
    "regex_to_ebnf",
    "regex_to_rust",
]

MAX_CODEPOINT = 0x10FFFF
Ranges = list[tuple[int, int]]  # sorted, disjoint, non-adjacent, inclusive


class NotExpressible(Exception):
    """A grammar (or one of its terminals) cannot be written in an engine's syntax."""


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
            from structgen.grammar.lark_frontend import grammar_from_lark

            self._forms["ir"] = grammar_from_lark(self.lark_text, source_name=self.name)
        return self._forms["ir"]

    def xgrammar_source(self) -> str:
        """Where xgrammar's text comes from: ``"gbnf"`` or ``"ir"`` (the printed IR)."""
        return "gbnf" if self.gbnf_text is not None else "ir"

    def xgrammar_text(self) -> str:
        """xgrammar's EBNF; :class:`~structgen.bench.peers.GrammarNotSupported` when the IR
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
            from structgen.bench.peers import GrammarNotSupported

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
    from structgen.errors import ConfigurationError
    from structgen.grammar.bundled import grammars_dir

    lark_path = grammars_dir() / f"{name}.lark"
    if not lark_path.is_file():
        raise ConfigurationError(f"no bundled grammar {name}.lark in {grammars_dir()}")
    gbnf_path = grammars_dir() / f"{name}.gbnf"
    return BenchGrammar(
        name,
        lark_path.read_text(encoding="utf-8"),
        gbnf_path.read_text(encoding="utf-8") if gbnf_path.is_file() else None,
    )


# -- code-point sets ----------------------------------------------------------------------------


def _normalise(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def _complement(ranges: Ranges) -> Ranges:
    out: Ranges = []
    position = 0
    for low, high in ranges:
        if low > position:
            out.append((position, low - 1))
        position = high + 1
    if position <= MAX_CODEPOINT:
        out.append((position, MAX_CODEPOINT))
    return out


def _fold_ascii(ranges: Ranges) -> Ranges:
    """Add the other case of every ASCII letter in ``ranges`` (``re.ASCII | re.IGNORECASE``)."""
    extra: list[tuple[int, int]] = []
    for low, high in ranges:
        for a, z, shift in ((0x61, 0x7A, -32), (0x41, 0x5A, 32)):
            start, end = max(low, a), min(high, z)
            if start <= end:
                extra.append((start + shift, end + shift))
    return _normalise([*ranges, *extra])


_DIGIT: Ranges = [(0x30, 0x39)]
_WORD: Ranges = _normalise([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
_SPACE: Ranges = _normalise([(0x09, 0x0D), (0x20, 0x20)])  # re.ASCII's \s: [ \t\n\r\f\v]


def _category(name: str) -> Ranges:
    table = {
        "CATEGORY_DIGIT": _DIGIT,
        "CATEGORY_NOT_DIGIT": _complement(_DIGIT),
        "CATEGORY_WORD": _WORD,
        "CATEGORY_NOT_WORD": _complement(_WORD),
        "CATEGORY_SPACE": _SPACE,
        "CATEGORY_NOT_SPACE": _complement(_SPACE),
    }
    if name not in table:
        raise NotExpressible(f"the class {name} has no ASCII meaning")
    return table[name]


# -- Python's regex parse → a small tree -------------------------------------------------------
#
# Nodes: ("chars", ranges) | ("seq", [nodes]) | ("alt", [nodes]) | ("repeat", node, min, max|None)


def _parse(pattern: str, flags: int = 0) -> Any:
    from re import _parser as sre_parse  # the parser `re` itself uses

    try:
        parsed = sre_parse.parse(pattern, flags | re.ASCII)
    except re.error as error:
        raise NotExpressible(f"invalid regex {pattern!r}: {error}") from None
    return _convert(list(parsed), bool(parsed.state.flags & re.IGNORECASE),
                    bool(parsed.state.flags & re.DOTALL))  # fmt: skip


def _convert(items: list, ignorecase: bool, dotall: bool) -> Any:
    nodes = [_convert_item(op, av, ignorecase, dotall) for op, av in items]
    return nodes[0] if len(nodes) == 1 else ("seq", nodes)


def _convert_item(op: Any, av: Any, ignorecase: bool, dotall: bool) -> Any:
    name = str(op)

    def chars(ranges: Ranges) -> Any:
        return ("chars", _fold_ascii(ranges) if ignorecase else ranges)

    if name == "LITERAL":
        return chars([(av, av)])
    if name == "NOT_LITERAL":
        return ("chars", _complement(_fold_ascii([(av, av)]) if ignorecase else [(av, av)]))
    if name == "ANY":
        return ("chars", [(0, MAX_CODEPOINT)] if dotall else _complement([(0x0A, 0x0A)]))
    if name == "IN":
        negate = False
        collected: list[tuple[int, int]] = []
        for item_op, item_av in av:
            kind = str(item_op)
            if kind == "NEGATE":
                negate = True
            elif kind == "LITERAL":
                collected.append((item_av, item_av))
            elif kind == "RANGE":
                collected.append((item_av[0], item_av[1]))
            elif kind == "CATEGORY":
                collected.extend(_category(str(item_av)))
            else:
                raise NotExpressible(f"class item {kind}")
        ranges = _normalise(collected)
        if ignorecase:
            ranges = _fold_ascii(ranges)
        return ("chars", _complement(ranges) if negate else ranges)
    if name in ("MAX_REPEAT", "MIN_REPEAT"):  # lazy or greedy: the same set of full matches
        low, high, sub = av
        from re._constants import MAXREPEAT

        return ("repeat", _convert(list(sub), ignorecase, dotall), int(low),
                None if high == MAXREPEAT else int(high))  # fmt: skip
    if name == "SUBPATTERN":
        _group, add_flags, del_flags, sub = av
        case = (ignorecase or bool(add_flags & re.IGNORECASE)) and not del_flags & re.IGNORECASE
        dots = (dotall or bool(add_flags & re.DOTALL)) and not del_flags & re.DOTALL
        return _convert(list(sub), case, dots)
    if name == "BRANCH":
        return ("alt", [_convert(list(branch), ignorecase, dotall) for branch in av[1]])
    if name == "CATEGORY":
        return chars(_category(str(av)))
    raise NotExpressible(
        {"AT": "an anchor", "GROUPREF": "a back-reference", "ASSERT": "a look-around",
         "ASSERT_NOT": "a negative look-around", "ATOMIC_GROUP": "an atomic group",
         "POSSESSIVE_REPEAT": "a possessive repeat", "GROUPREF_EXISTS": "a conditional group"}
        .get(name, name)  # fmt: skip
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


def _class_text(ranges: Ranges, char: Any) -> str:
    """``[...]`` for ``ranges``, negated when that is shorter (large sets)."""
    negated = sum(high - low + 1 for low, high in ranges) > 0x8000
    shown = _complement(ranges) if negated else ranges
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
        ranges = node[1]
        if not ranges:
            raise NotExpressible("an empty character class (matches nothing)")
        if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
            return '"' + _ebnf_char(ranges[0][0], False) + '"'
        return _class_text(ranges, _ebnf_char)
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
    return _ebnf(_parse(pattern, flags), top=True)


_RUST_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_\"',:;=<>!@% ")


def _rust_char(code: int, in_class: bool) -> str:
    char = chr(code)
    if char in _RUST_PLAIN:
        return char
    return f"\\x{{{code:X}}}"


def _rust(node: Any) -> str:
    kind = node[0]
    if kind == "chars":
        ranges = node[1]
        if not ranges:
            raise NotExpressible("an empty character class (matches nothing)")
        if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
            return _rust_char(ranges[0][0], False)
        return _class_text(ranges, _rust_char)
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
    return _rust(_parse(pattern, flags))


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
