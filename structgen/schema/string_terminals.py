"""String terminals: a decoded-string language → terminals (or a small grammar) over its JSON text.

A language small enough becomes one terminal: ``"`` + :func:`~structgen.schema.json_strings.encode`
of the regex + the closing text (``"``, or ``"``, whitespace and ``:`` for a key). Two shapes get
a grammar instead, so no terminal needs a huge automaton:

- ``C{m,n}`` with a large ``n`` (``maxLength: 5000``): chunk terminals of 32 characters chained by
  rules that count the chunks, then one tail terminal — the lexer holds at most two short
  automata at a time;
- a language only an automaton expresses compactly (intersections, complements): one
  nonterminal per automaton state and one terminal per character class (a right-linear grammar).
"""

from __future__ import annotations

from structgen.errors import LimitExceededError
from structgen.regex.ast import Node
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.dfa import compile_byte_dfa
from structgen.regex.lazy_product import JsonStringAutomaton
from structgen.regex.nodes import char, concat, depth, star, tree_size
from structgen.regex.text import to_regex_text
from structgen.schema.builder import SchemaBuilder
from structgen.schema.errors import Unsupported
from structgen.schema.format_tables import format_table
from structgen.schema.json_strings import encode
from structgen.schema.normalize import Analysis, StringSpec
from structgen.schema.strings import (
    StringLanguage,
    format_name,
    minimal_dfa,
    minimized,
    pattern_language,
    string_language,
)

__all__ = ["StringTerminals"]

# Regexes built from automata past this many AST nodes become per-character grammars instead.
_INLINE_DFA_SIZE = 2_000
# A string terminal larger than this (AST nodes, escapes included) becomes a per-character grammar.
_MAX_TERMINAL_SIZE = 12_000
_MAX_DEPTH = 150
# A string of one character class bounded past this many characters is counted lazily (one
# terminal whose rows are built on use) instead of written out as a regex of its repetitions.
_LAZY_LENGTH = 64
_QUOTE = char('"')


class StringTerminals:
    """The string part of a schema compiler, with its caches; emits through ``builder``."""

    def __init__(self, builder: SchemaBuilder) -> None:
        self.builder = builder
        self._patterns: dict[str, Node] = {}
        self._pattern_dfas: dict[tuple[str, bool], CodePointDFA] = {}
        self._symbols: dict[tuple, str | None] = {}

    def pattern_node(self, pattern: str, pointer: str) -> Node:
        """The decoded strings containing a match of ``pattern`` (cached; may raise
        :class:`~structgen.regex.ecma.PatternUnsupported`)."""
        found = self._patterns.get(pattern)
        if found is None:
            options = self.builder.options
            found = pattern_language(
                pattern,
                pointer,
                max_states=options.max_regex_states,
                max_size=options.max_regex_size,
            )
            self._patterns[pattern] = found
        return found

    def pattern_dfa(self, pattern: str, pointer: str, *, complement: bool = False) -> CodePointDFA:
        """The automaton of :meth:`pattern_node` (or of its complement), minimised and cached."""
        key = (pattern, complement)
        found = self._pattern_dfas.get(key)
        if found is None:
            if complement:
                found = self.pattern_dfa(pattern, pointer).complement().minimized()
            else:
                node = self.pattern_node(pattern, pointer)
                found = CodePointDFA.from_node(
                    node, max_states=self.builder.options.max_regex_states
                ).minimized()
            self._pattern_dfas[key] = found
        return found

    def string_symbol(self, analysis: Analysis) -> str | None:
        """The symbol of the strings that ``analysis`` allows (``None``: none)."""
        spec = analysis.string
        key = spec.key()
        if key not in self._symbols:
            language = self.decoded_string_of(spec, pointer=analysis.pointer)
            self._symbols[key] = (
                None
                if language is None
                else self.from_language(language, close=char('"'), name="str")
            )
        return self._symbols[key]

    def decoded_string_of(self, spec: StringSpec, *, pointer: str) -> StringLanguage | None:
        """The decoded strings that a :class:`~structgen.schema.normalize.StringSpec` allows."""
        return self.decoded_string(
            spec.min_length, spec.max_length, spec.patterns, spec.formats, pointer=pointer,
            excluded_patterns=spec.excluded_patterns, excluded_values=spec.excluded_values,
        )  # fmt: skip

    def decoded_string(
        self,
        min_length,
        max_length,
        patterns,
        formats,
        *,
        pointer: str,
        excluded_patterns=(),
        excluded_values=(),
    ) -> StringLanguage | None:
        """The decoded strings within the length bounds that match the patterns and formats
        (``None``: none; unsupported patterns and unknown formats are reported)."""
        options = self.builder.options
        unsupported: list[Unsupported] = []
        notes: list[str] = []
        limit = options.max_length_expansion
        longest = max(min_length, max_length or 0)
        keyword = "minLength" if max_length is None or min_length >= max_length else "maxLength"
        if not patterns and not formats:
            # One character class: counted lazily (see _LAZY_LENGTH).
            if longest > options.max_string_length:
                raise LimitExceededError(
                    f"{keyword} {longest} at {pointer}", options.max_string_length,
                    hint="raise max_string_length (the bound is counted by the string's lexer "
                    "states)",
                )  # fmt: skip
        elif longest > options.max_string_length:
            if not options.lenient:
                raise LimitExceededError(
                    f"{keyword} {longest} at {pointer} combined with pattern/format",
                    options.max_string_length,
                    hint="raise max_string_length, or pass lenient=True to drop the length bound",
                )
            self.builder.warn(
                f"length bound at {pointer} dropped (lenient): above max_string_length"
            )
            min_length, max_length = 0, None
        language = string_language(
            min_length, max_length, patterns, formats,
            max_states=options.max_regex_states, max_size=options.max_regex_size,
            unsupported=unsupported, warnings=notes, strict_formats=options.formats == "strict",
            pattern_node=self.pattern_node, excluded_patterns=excluded_patterns,
            excluded_values=excluded_values, max_length_expansion=limit,
        )  # fmt: skip
        self.builder.report(unsupported)
        for message in notes:
            self.builder.warn(message)
        if language.empty:
            self.builder.unsatisfiable(f"{pointer}: no string satisfies the string keywords")
            return None
        return language

    def from_language(
        self, language: StringLanguage, *, close: Node, name: str, canonical: bool | None = None
    ) -> str:
        """A symbol for ``"`` + an encoding of ``language`` + ``close``.

        ``close`` is ``"``, or ``": `` for keys. ``canonical``: escape only what ``json.dumps``
        escapes (see :func:`encode_charset`); by default as the ``escapes`` option says. One
        terminal: its regex when that stays small, else a lazy automaton of the language
        (:class:`~structgen.regex.lazy_product.JsonStringAutomaton`), rows built on use.
        """
        canonical = self.builder.canonical if canonical is None else canonical
        if language.core is not None:
            return self._lazy_string(language, close, canonical)
        if language.node is not None and close == _QUOTE:
            found = self._format_string(language.node, canonical)
            if found is not None:
                return found
        quote = char('"')
        if language.charset is not None and (
            max(language.min_length, language.max_length or 0) > _LAZY_LENGTH
        ):
            core = CodePointDFA.from_node(star(language.charset))
            bounded = StringLanguage(
                core=core, min_length=language.min_length, max_length=language.max_length
            )
            return self._lazy_string(bounded, close, canonical)
        node = language.node
        if node is None and language.dfa is not None:
            try:
                node = language.dfa.to_node(max_size=_INLINE_DFA_SIZE)
            except LimitExceededError:
                node = None
        if node is not None:
            encoded = concat(quote, encode(node, canonical=canonical), close)
            if tree_size(encoded) <= _MAX_TERMINAL_SIZE and depth(encoded) <= _MAX_DEPTH:
                return self.builder.terminal(encoded, name=name)
        dfa = language.dfa or minimal_dfa(node, self.builder.options.max_regex_states)
        return self._lazy_string(StringLanguage(core=minimized(dfa)), close, canonical)

    def _format_string(self, node: Node, canonical: bool) -> str | None:
        """The terminal of a string of one known format and nothing else, read through the
        format's shipped table (:mod:`~structgen.schema.format_tables`); None when ``node`` is
        not a format's language or no table is there for these settings."""
        name = format_name(node)
        if name is None:
            return None
        limit = self.builder.options.max_regex_states
        table = format_table(name, canonical=canonical, max_states=limit)
        if table is None:
            return None
        description = f"<JSON string of format {name}: {table.num_states}-state table>"
        key = ("format table", name, canonical, limit)
        return self.builder.automaton_terminal(table, description, key=key, name="str")

    def _lazy_string(self, language: StringLanguage, close: Node, canonical: bool) -> str:
        """One terminal whose automaton is the lazy product of ``language.core``, the length
        count and the JSON decoding (:class:`~structgen.regex.lazy_product.JsonStringAutomaton`)."""
        automaton = JsonStringAutomaton(
            language.core,  # type: ignore[arg-type]
            language.min_length,
            language.max_length,
            compile_byte_dfa(close),
            canonical=canonical,
            window=language.length_window(),
        )
        key = ("lazy", automaton.fingerprint(), to_regex_text(close))
        description = (
            f"<JSON string: {language.core.num_states}-state automaton, "  # type: ignore[union-attr]
            f"length {language.min_length}..{language.max_length}, {key[1]}>"
        )
        return self.builder.automaton_terminal(automaton, description, key=key, name="str")
