"""The builder that the type modules (arrays, objects, disjoint, string terminals) emit into.

:class:`SchemaBuilder` is the narrow interface they call back: the schema document and the
options, naming and adding rules, interning terminals (punctuation, keys, string languages),
a subschema's nonterminal, and the diagnostics (warnings, unsupported keywords, reasons a
schema is unsatisfiable). :class:`~structgen.schema.compiler.SchemaCompiler` implements it and
imports the type modules; they import only this module, so no import leads back to the
compiler.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from structgen.key_set_rules import KeySetRules
from structgen.regex.ast import Node
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import ByteAutomaton
from structgen.schema.errors import Unsupported
from structgen.schema.normalize import StringSpec
from structgen.schema.options import SchemaOptions
from structgen.schema.refs import Location, SchemaDocument
from structgen.schema.strings import StringLanguage

__all__ = ["SchemaBuilder", "list_machine"]


class SchemaBuilder(Protocol):
    """What a type module may ask of the compiler that calls it."""

    document: SchemaDocument
    options: SchemaOptions
    ws: Node  # the whitespace that punctuation and key terminals carry

    @property
    def canonical(self) -> bool:
        """Whether strings are spelled only the way ``json.dumps`` escapes them."""
        ...

    # -- rules and terminals
    def fresh(self, prefix: str) -> str:
        """A new nonterminal name starting with ``prefix``."""
        ...

    def rule(self, lhs: str, *rhs: str) -> None:
        """Add the rule ``lhs → rhs``."""
        ...

    def add_rules(self, rules: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        """Add the rules ``(lhs, rhs)`` in order (a machine's many rules in one call)."""
        ...

    def add_lazy(self, source: KeySetRules, placeholders: list[tuple[str, ...]]) -> None:
        """Add rules made on demand. ``placeholders`` are right-hand sides for ``source.root``
        that stand for its rules while the grammar is pruned (the root is productive when one
        of them is, and reaches what they name); the pruned grammar keeps none of them, and
        ``source`` only the pairs that stayed."""
        ...

    def terminal(
        self, node: Node, *, key: Any = None, name: str = "t", literal_text: str | None = None
    ) -> str:
        """The terminal matching ``node`` (one per distinct ``key``, or per node)."""
        ...

    def automaton_terminal(
        self,
        automaton: ByteAutomaton,
        description: str,
        *,
        key: Any,
        name: str = "t",
        node: Node | None = None,
    ) -> str:
        """The terminal read through a (lazy) byte automaton, one per ``key`` (``node``: its
        regex, when there is a small one)."""
        ...

    def punct(self, text: str) -> str:
        """The terminal of ``{`` ``}`` ``[`` ``]`` or ``,`` with its whitespace."""
        ...

    def key_terminal(self, decoded: Node, *, canonical: bool | None = None) -> str:
        """A property name from the decoded-string language ``decoded``, quoted, then ``:``."""
        ...

    def symbol(self, items: Iterable[tuple[Location, bool]]) -> str:
        """The nonterminal of the conjunction of the subschemas ``items`` (built later)."""
        ...

    # -- strings
    def pattern_node(self, pattern: str, pointer: str) -> Node:
        """The decoded strings that contain a match of ``pattern``."""
        ...

    def pattern_dfa(self, pattern: str, pointer: str, *, complement: bool = False) -> CodePointDFA:
        """The minimised automaton of :meth:`pattern_node` (or of its complement)."""
        ...

    def decoded_string_of(self, spec: StringSpec, *, pointer: str) -> StringLanguage | None:
        """The decoded strings that ``spec`` allows (``None``: none)."""
        ...

    def string_from_language(
        self, language: StringLanguage, *, close: Node, name: str, canonical: bool | None = None
    ) -> str:
        """A symbol for ``"`` + an encoding of ``language`` + ``close``."""
        ...

    # -- diagnostics
    def warn(self, message: str) -> None:
        """Record a warning (once)."""
        ...

    def report(self, items: list[Unsupported]) -> None:
        """Record keywords that cannot be enforced (once each)."""
        ...

    def unsatisfiable(self, reason: str) -> None:
        """Record why a subschema has no instance (said if the whole schema has none)."""
        ...


def list_machine(
    builder: SchemaBuilder,
    transitions: dict[Any, list[tuple[str, Any]]],
    start: Any,
    final: list,
    prefix: str,
) -> str:
    """The symbol of ``[`` items ``]`` whose items follow a state machine: ``transitions[state]``
    lists ``(item symbol, next state)`` from ``start``; the list may close in a ``final`` state.
    One nonterminal (named ``prefix`` + a number) per state reached: the items so far."""
    array = builder.fresh("arr")
    lbracket, rbracket, comma = builder.punct("["), builder.punct("]"), builder.punct(",")
    names = {state: builder.fresh(prefix) for state in transitions if state != start}
    if start in final:
        builder.rule(array, lbracket, rbracket)
    for state, edges in transitions.items():
        for symbol, target in edges:
            if state == start:
                builder.rule(names[target], symbol)
            else:
                builder.rule(names[target], names[state], comma, symbol)
    for state in final:
        if state != start:
            builder.rule(array, lbracket, names[state], rbracket)
    return array
