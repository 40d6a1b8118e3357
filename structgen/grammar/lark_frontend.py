"""Lark grammar text → :class:`~structgen.ir.Grammar`, through lark's own grammar loader.

Users get all of Lark's syntax: rules and terminals, EBNF operators (``* + ? [..] ~ n..m``),
``?rule`` / ``_rule`` / ``!rule`` modifiers, templates, aliases, ``%import`` (``common`` and
relative files), ``%ignore``, ``%override`` and ``%extend``. Lark expands all of it into plain
rules over terminals, which this module copies into the IR unchanged:

- rules keep lark's names; EBNF helpers are lark's (``__start_star_0``), template instances are
  named ``name{arg,...}``;
- terminals keep lark's names: named terminals their own, anonymous ones the names lark gives
  them (``"+"`` → ``PLUS``, ``"select"`` → ``SELECT``, ``/[0-9]+/`` → ``__ANON_0``);
- ``%ignore`` terminals become ``Grammar.ignore``;
- special tokens are named in rules as in GBNF: ``<[128010]>`` by id, ``<|python_tag|>`` or
  ``<think>`` by text (outside strings and regexes; not inside terminal definitions). Each
  becomes a placeholder terminal named as written, bound to the vocabulary's token when the
  grammar is compiled (:mod:`structgen.grammar.special_tokens`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from structgen.grammar.analysis import (
    DEFAULT_MAX_RULES,
    DEFAULT_MAX_TERMINALS,
    LexerTerminal,
    check_grammar,
    check_terminal,
)
from structgen.grammar.errors import GrammarError, line_and_column
from structgen.grammar.special_tokens import special_reference
from structgen.ir import Grammar, Rule, Terminal
from structgen.vocab.special import is_special_reference

if TYPE_CHECKING:
    from lark.lexer import TerminalDef

__all__ = ["grammar_from_lark"]

# Lark's regex flags (``/../imslux``): the ones with no effect on a terminal that has no anchors.
_NEUTRAL_FLAGS = {"m", "u"}
_SCOPED_FLAGS = ("i", "s")

# How lark's own grammar-of-grammars names what it expected, in words.
_LARK_TOKENS = {
    "_LPAR": '"("',
    "_RPAR": '")"',
    "_LBRA": '"["',
    "_RBRA": '"]"',
    "_LBRACE": '"{"',
    "_RBRACE": '"}"',
    "_COLON": '":"',
    "_COMMA": '","',
    "_OR": '"|"',
    "_DOT": '"."',
    "_DOTDOT": '".."',
    "TILDE": '"~"',
    "_TO": '"->"',
    "OP": "an operator (* + ?)",
    "RULE": "a rule name",
    "TERMINAL": "a terminal name",
    "STRING": "a string",
    "REGEXP": "a regex",
    "NUMBER": "a number",
    "_NL": "a line break",
    "_NL_OR": 'a line break and "|"',
    "$END": "the end of the grammar",
}


def grammar_from_lark(
    text: str,
    *,
    start: str = "start",
    source_name: str = "<grammar>",
    source_path: str | os.PathLike[str] | None = None,
    import_paths: Sequence[str | os.PathLike[str]] = (),
    max_rules: int = DEFAULT_MAX_RULES,
    max_terminals: int = DEFAULT_MAX_TERMINALS,
) -> Grammar:
    """Read a Lark grammar into the IR.

    The language is the one ``lark.Lark(text, parser="earley", lexer="dynamic_complete",
    start=start, g_regex_flags=re.ASCII)`` accepts:

    - regex classes are ASCII (``\\d``, ``\\w``, ``\\s`` and case-insensitive matching, as with
      ``re.ASCII``); plain lark uses Unicode classes, a superset;
    - priorities (``rule.2``, ``TERM.2``) and tree shaping (``?``, ``_``, ``!``, aliases) choose
      between parse trees, not strings: they are read and ignored;
    - terminal flags ``i`` and ``s`` are honoured; ``m`` and ``u`` change nothing here; ``x``
      (verbose) and ``l`` (locale) are rejected, and so are anchors (``^ $ \\A \\Z``), whose
      meaning depends on the position in the whole input;
    - ``%declare``-d terminals (for a postlexer) have no regex and are rejected;
    - a regex terminal matches what lark's lexer gives it: the strings its regex matches
      leftmost-first and whole (``/a|ab/`` gives ``a`` only, ``common.C_COMMENT`` ends at the
      first ``*/``; :mod:`structgen.regex.leftmost`), one-character lookarounds included
      (``common.ESCAPED_STRING``'s ``(?<!\\)``); a lookaround that would look outside the
      lexeme (``/\\*(?!\\/)/``) is refused naming the terminal;
    - ignored text may split anywhere in the IR, where lark's lexer takes it greedily.

    ``source_path`` (the file the text came from) and ``import_paths`` resolve ``%import`` of
    other grammar files. Errors are :class:`~structgen.grammar.errors.GrammarError` with the
    line and column when lark reports one.
    """
    import lark

    text, specials = _special_tokens_out(text, source_name)
    try:
        parser = lark.Lark(
            text,
            parser="earley",
            lexer="dynamic_complete",
            start=start,
            source_path=os.fspath(source_path) if source_path is not None else None,
            import_paths=[os.fspath(path) for path in import_paths],
        )
    except Exception as error:  # lark raises LarkError, re.error, regex.error, KeyError, …
        raise _translate_error(error, text, source_name, start) from None

    terminals: dict[str, Terminal] = {}
    for definition in parser.terminals:
        if definition.name in specials:
            reference = specials[definition.name]
            terminals[reference] = special_reference(reference)
            continue
        terminal = _terminal(definition, text, source_name)
        if _SPECIAL_MARK in terminal.pattern:
            raise GrammarError(
                f"terminal {terminal.name}: a special token (<...>) may appear in rules only, "
                "not inside a terminal's definition",
                source_name=source_name,
            )
        terminals[terminal.name] = terminal
    rules = []
    for rule in parser.rules:
        rhs = tuple(specials.get(str(s.name), str(s.name)) for s in rule.expansion)
        for symbol in rule.expansion:
            if symbol.is_term and specials.get(symbol.name, symbol.name) not in terminals:
                raise GrammarError(
                    f"terminal {symbol.name} has no pattern (declared with %declare?); "
                    "structgen needs the regex of every terminal",
                    source_name=source_name,
                    text=text,
                    **_locate_word(text, symbol.name),
                )
        rules.append(Rule(str(rule.origin.name), rhs))
    compiled = {rule.lhs for rule in rules}
    dropped = sorted(
        str(name)
        for name, params, _tree, _options in parser.grammar.rule_defs
        if not params and str(name) not in compiled
    )
    grammar = Grammar(
        terminals=terminals,
        rules=tuple(rules),
        start=start,
        ignore=tuple(str(name) for name in parser.ignore_tokens),
        source_name=source_name,
    )
    return check_grammar(
        grammar, max_rules=max_rules, max_terminals=max_terminals, unreachable=dropped,
        lexer=[
            # (a special token is a string terminal: it collides with no text)
            LexerTerminal(specials.get(t.name, t.name), t.priority, t.pattern.type == "str")
            for t in parser.terminals
        ],
    )


# -- special tokens ---------------------------------------------------------------------------

_SPECIAL_MARK = "\U0010fffe"  # a noncharacter: stands for a special token in lark's view
_SPECIAL_NAME = "STRUCTGEN_SPECIAL_{}"


def _special_tokens_out(text: str, source_name: str) -> tuple[str, dict[str, str]]:
    """``text`` with each special-token reference (``<…>`` outside strings, regexes and
    comments) replaced by a terminal of its own for lark, and those terminals' names mapped to
    the references as written."""
    if "<" not in text:
        return text, {}
    parts: list[str] = []
    names: dict[str, str] = {}  # reference -> lark terminal name
    position = start = index = 0
    while position < len(text):
        char = text[position]
        if char in '"/' and not text.startswith("//", position):
            position = _closing(text, position, char)
        elif char == "#" or text.startswith("//", position):
            end = text.find("\n", position)
            position = len(text) if end < 0 else end
        elif char == "<":
            end = text.find(">", position)
            reference = text[position : end + 1] if end > position else ""
            if not is_special_reference(reference):
                line, column = line_and_column(text, position)
                raise GrammarError(
                    "expected a special token <[id]> or <text> (no spaces, closed by '>')",
                    source_name=source_name, text=text, line=line, column=column,
                )  # fmt: skip
            if reference not in names:
                while _SPECIAL_NAME.format(index) in text:
                    index += 1
                names[reference] = _SPECIAL_NAME.format(index)
                index += 1
            parts += [text[start:position], " ", names[reference], " "]
            position = start = end + 1
        else:
            position += 1
    parts.append(text[start:])
    definitions = [f'\n{name}: "{_SPECIAL_MARK}{name}"' for name in names.values()]
    return "".join(parts + definitions) + "\n", {v: k for k, v in names.items()}


def _closing(text: str, position: int, quote: str) -> int:
    """One past the end of the string or regex opened at ``position`` (escapes skipped)."""
    index = position + 1
    while index < len(text) and text[index] != quote and text[index] != "\n":
        index += 2 if text[index] == "\\" else 1
    return index + 1


# -- terminals --------------------------------------------------------------------------------


def _terminal(definition: TerminalDef, text: str, source_name: str) -> Terminal:
    from lark.lexer import PatternStr

    name = str(definition.name)
    pattern = definition.pattern
    flags = set(pattern.flags)
    where = _locate_terminal(text, definition)
    shown = _shown(definition)
    if "x" in flags:
        raise GrammarError(
            f"terminal {name} ({shown}): the verbose flag 'x' is not supported; "
            "write the regex without it",
            source_name=source_name,
            text=text,
            **where,
        )
    unknown = flags - _NEUTRAL_FLAGS - set(_SCOPED_FLAGS)
    if unknown:
        raise GrammarError(
            f"terminal {name} ({shown}): regex flag(s) {''.join(sorted(unknown))!r} not supported "
            "(structgen knows i, s, m and u)",
            source_name=source_name,
            text=text,
            **where,
        )
    if isinstance(pattern, PatternStr):
        if "i" not in flags:
            return Terminal(name, re.escape(pattern.value), literal=pattern.value)
        regex = re.escape(pattern.value)
    else:
        regex = pattern.value
        anchor = _find_anchor(regex)
        if anchor is not None:
            raise GrammarError(
                f"terminal {name} ({shown}): the anchor {anchor} depends on the position in the "
                "whole input, which a terminal cannot express; remove it",
                source_name=source_name,
                text=text,
                **where,
            )
    for flag in _SCOPED_FLAGS:
        if flag in flags:
            regex = f"(?{flag}:{regex})"
    terminal = Terminal(name, regex, leftmost=not isinstance(pattern, PatternStr))
    try:
        check_terminal(terminal, source_name=source_name)
    except GrammarError as error:
        raise GrammarError(
            error.reason.replace(f"terminal {name}", f"terminal {name} ({shown})", 1),
            source_name=source_name,
            text=text,
            **where,
        ) from None
    return terminal


def _shown(definition: TerminalDef) -> str:
    """A terminal's definition as written (``/[0-9]+/``, ``"select"i``) when lark kept it."""
    return definition.pattern.raw or repr(definition.pattern.value)


def _find_anchor(regex: str) -> str | None:
    """The first ``^``, ``$``, ``\\A`` or ``\\Z`` outside a character class, or None."""
    index, in_class = 0, False
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            escaped = regex[index + 1 : index + 2]
            if not in_class and escaped in ("A", "Z"):
                return "\\" + escaped
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 1
            if regex[index : index + 1] == "^":
                index += 1
            if regex[index : index + 1] == "]":  # a leading ']' is a member
                index += 1
            continue
        elif char in "^$":
            return char
        index += 1
    return None


# -- locating things in the text --------------------------------------------------------------


def _locate_terminal(text: str, definition: TerminalDef) -> dict[str, Any]:
    pattern = re.compile(
        rf"^[ \t]*{re.escape(definition.name)}\s*(?:\.\s*-?\d+\s*)?:", re.MULTILINE
    )
    match = pattern.search(text)
    if match is not None:
        return _at(text, match.start() + len(match.group(0)) - len(match.group(0).lstrip()))
    raw = definition.pattern.raw
    if raw and raw in text:
        return _at(text, text.index(raw))
    return {}


def _locate_word(text: str, word: str, *, after: str | None = None) -> dict[str, Any]:
    """Where ``word`` is first used (after the definition of rule ``after``, when given)."""
    begin = 0
    if after is not None:
        definition = re.search(rf"^[ \t]*[?!]?{re.escape(after)}\b[^:\n]*:", text, re.MULTILINE)
        if definition is not None:
            begin = definition.end()
    use = re.compile(rf"(?<![\w\"/]){re.escape(word)}(?![\w\"/])")
    match = use.search(text, begin) or use.search(text)
    return _at(text, match.start()) if match is not None else {}


def _at(text: str, offset: int) -> dict[str, Any]:
    line, column = line_and_column(text, offset)
    return {"line": line, "column": column}


# -- lark's errors → GrammarError ----------------------------------------------------------------


def _translate_error(error: Exception, text: str, source_name: str, start: str) -> GrammarError:
    from lark.exceptions import LarkError, UnexpectedInput

    def located(reason: str, where: dict[str, Any]) -> GrammarError:
        return GrammarError(reason, source_name=source_name, text=text, **where)

    if isinstance(error, UnexpectedInput):
        return located(f"syntax error: {_describe_unexpected(error)}", _position(error))
    context = error.__context__
    message = str(error.args[0]) if error.args else str(error)
    if isinstance(context, UnexpectedInput):
        reason = message.split("\n", 1)[0]
        reason = re.sub(r",? at line \d+ column \d+.*$", "", reason)
        if reason.startswith(("Unexpected input", "Expecting a value")) or not reason:
            reason = _describe_unexpected(context)
        return located(f"syntax error: {reason}", _position(context))
    if (
        match := re.match(r"Rule '([^']+)' used but not defined \(in rule ([^)]+)\)", message)
    ) is not None:
        name, user = match.groups()
        kind = "terminal" if name.lstrip("_")[:1].isupper() else "rule"
        return located(
            f"undefined {kind} {name!r} (used in rule {user!r})",
            _locate_word(text, name, after=user),
        )
    if message.startswith("Using an undefined rule"):
        return located(f"the start rule {start!r} is not defined", {})
    if "zero-width" in message and len(error.args) > 1:
        definition = error.args[1]
        return located(
            f"terminal {definition.name} ({_shown(definition)}) "
            "matches the empty string; terminals must not (make it optional in a rule instead)",
            _locate_terminal(text, definition),
        )
    if (match := re.search(r"at line (\d+) column (\d+)", message)) is not None:
        reason = message.split("\n", 1)[0]
        reason = re.sub(r",? at line \d+ column \d+.*$", "", reason)
        return located(reason, {"line": int(match.group(1)), "column": int(match.group(2))})
    pattern = getattr(error, "pattern", None)
    if isinstance(pattern, str) and not isinstance(error, LarkError):  # re.error / regex.error
        where = _at(text, text.index(pattern)) if pattern and pattern in text else {}
        reason = getattr(error, "msg", None) or message
        return located(f"invalid terminal regex {pattern!r}: {reason}", where)
    if isinstance(error, LarkError):
        return located(message, {})
    return located(f"lark could not load the grammar: {type(error).__name__}: {message}", {})


def _position(error: Any) -> dict[str, Any]:
    line, column = getattr(error, "line", None), getattr(error, "column", None)
    if isinstance(line, int) and isinstance(column, int) and line > 0:
        return {"line": line, "column": column}
    return {}


def _describe_unexpected(error: Any) -> str:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(error, UnexpectedCharacters):
        return f"unexpected character {error.char!r}"
    expected = sorted(
        {_LARK_TOKENS.get(name, name) for name in getattr(error, "expected", ()) or ()}
    )
    hint = f"; expected {' or '.join(expected)}" if expected else ""
    if isinstance(error, UnexpectedEOF):
        return f"unexpected end of the grammar{hint}"
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            return f"unexpected end of the grammar{hint}"
        shown = "line break" if token.type in ("_NL", "_NL_OR") else repr(str(token))
        return f"unexpected {shown}{hint}"
    return str(error).split("\n", 1)[0]
