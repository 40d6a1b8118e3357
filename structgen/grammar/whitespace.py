"""Bounding the whitespace a grammar lets a model choose (generation's ``whitespace=``).

Grammars written for parsing accept any amount of whitespace: in ``%ignore`` terminals and
inside terminals (``sql_select``'s ``FROM: /[ \\t\\r\\n]+from[ \\t\\r\\n]+/i``). A model sampling
under such a grammar may pad its output with blank lines. :func:`bound_whitespace` rewrites
every repetition of a whitespace-only item in a terminal's regex — a character class of
whitespace characters (``[ \\t\\r\\n]``) or ``\\s`` under ``+`` / ``*`` (lazy too) — as a
bounded one (``{1,n}`` / ``{0,n}``). The language only shrinks: every output is still a
sentence of the original grammar.
"""

from __future__ import annotations

import re
from dataclasses import replace

from structgen.errors import ConfigurationError
from structgen.ir import Grammar, Terminal

__all__ = ["bound_pattern", "bound_whitespace"]

# The contents of a character class that holds only whitespace: spaces and escapes of them.
_WHITESPACE_CLASS = re.compile(r"(?:[ \t\n\r\f\v]|\\[tnrfv ]|\\s)+")


def bound_whitespace(grammar: Grammar, limit: int, *, spaces_only: bool = False) -> Grammar:
    """``grammar`` with every unbounded whitespace run in its regex terminals cut to ``limit``
    characters (``limit`` ≥ 1), made of spaces alone when ``spaces_only`` (no line breaks or
    tabs). Terminals built from a regex AST or an automaton (JSON Schema grammars, which bound
    their own whitespace) are left as they are."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigurationError(f"a whitespace bound must be an int ≥ 1, not {limit!r}")
    terminals: dict[str, Terminal] = {}
    changed = False
    for name, terminal in grammar.terminals.items():
        if terminal.literal is None and terminal.node is None and terminal.automaton is None:
            pattern = bound_pattern(terminal.pattern, limit, spaces_only=spaces_only)
            if pattern != terminal.pattern:
                terminal = replace(terminal, pattern=pattern)
                changed = True
        terminals[name] = terminal
    return replace(grammar, terminals=terminals) if changed else grammar


def bound_pattern(pattern: str, limit: int, *, spaces_only: bool = False) -> str:
    """``pattern`` with ``W+`` / ``W*`` (``W`` a whitespace-only class or ``\\s``, outside any
    class) written ``W{1,limit}`` / ``W{0,limit}`` (``W`` a space when ``spaces_only`` and
    ``W`` allows one); everything else unchanged."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        item_end = _whitespace_item_end(pattern, i)
        if item_end is None:
            step = _item_end(pattern, i)
            out.append(pattern[i:step])
            i = step
            continue
        item = pattern[i:item_end]
        i = item_end
        if i < len(pattern) and pattern[i] in "+*":
            low = 1 if pattern[i] == "+" else 0
            # Spaces alone only where the item allows a space (a newline-only class keeps
            # its newlines): the language must only shrink.
            spaces = spaces_only and re.fullmatch(item, " ") is not None
            out.append(("[ ]" if spaces else item) + f"{{{low},{limit}}}")
            i += 1
        else:
            out.append(item)
    return "".join(out)


def _whitespace_item_end(pattern: str, i: int) -> int | None:
    """The end of a whitespace-only item (``\\s`` or a class) starting at ``i``, else None."""
    if pattern.startswith("\\s", i):
        return i + 2
    if pattern[i] != "[" or pattern.startswith("[^", i):
        return None
    end = _class_end(pattern, i)
    return end if _WHITESPACE_CLASS.fullmatch(pattern[i + 1 : end - 1]) else None


def _item_end(pattern: str, i: int) -> int:
    """The end of the item at ``i``: an escape, a whole character class, or one character."""
    if pattern[i] == "\\":
        return min(i + 2, len(pattern))
    if pattern[i] == "[":
        return _class_end(pattern, i)
    return i + 1


def _class_end(pattern: str, i: int) -> int:
    """The index after the ``]`` closing the class that opens at ``i``."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":  # a leading ] is a literal
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return min(j + 1, len(pattern))
