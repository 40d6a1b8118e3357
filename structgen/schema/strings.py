"""String keywords (``pattern``, ``format``, ``minLength``/``maxLength``) → a language of decoded
strings, exactly.

One constraint alone is a regex AST. Several are intersected on :class:`CodePointDFA` unless a
cheaper exact form exists: a length bound the pattern already implies is dropped, and a pattern
of the shape *fixed parts + one repeated part* (``^[A-Z][a-z0-9_]*$``) takes the length bound
into that repetition's count.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache

from structgen.errors import LimitExceededError
from structgen.regex.ast import Alt, CharSet, Concat, Empty, Node, Repeat
from structgen.regex.codepoint_dfa import DEFAULT_MAX_STATES, CodePointDFA, search_language
from structgen.regex.ecma import PatternSyntaxError, PatternUnsupported, parse_ecma_regex
from structgen.regex.lengths import DEFAULT_MAX_CELLS, LengthWindow
from structgen.regex.nodes import (
    ANY_CHAR,
    EMPTY,
    NOTHING,
    alt,
    char,
    concat,
    is_empty_language,
    repeat,
    star,
)
from structgen.schema.errors import SchemaError, Unsupported
from structgen.schema.format_automata import load_format_dfa, store_format_dfa
from structgen.schema.json_strings import _difference, encode_charset
from structgen.validation.formats import format_node

# Minimal automata of slow nodes (minimal_dfa), and those automata by identity (minimized).
_MINIMAL: OrderedDict[int, tuple[Node, int, CodePointDFA]] = OrderedDict()
_KNOWN_MINIMAL: dict[int, CodePointDFA] = {}
_MINIMAL_KEPT = 64
# The format each format node stands for (format_node gives one node per format), by identity.
_FORMAT_NAMES: dict[int, tuple[Node, str]] = {}
_MEMO_AFTER_SECONDS = 0.005
# The names behind the latest nodes of all_strings_except, by the node's identity.
_EXCEPT_NAMES: OrderedDict[int, tuple[Node, tuple[str, ...]]] = OrderedDict()
_EXCEPT_NAMES_KEPT = 256
# A length bound whose product with a pattern/format passes this many states is counted lazily:
# a larger automaton would become a per-character grammar (one nonterminal per state).
_EAGER_LENGTH_STATES = 1_000

__all__ = [
    "StringLanguage",
    "all_strings_except",
    "encoded_strings_except",
    "excluded_names",
    "fixed_length",
    "format_name",
    "length_range",
    "minimal_dfa",
    "minimized",
    "pattern_language",
    "string_language",
]


class StringLanguage:
    """A language of decoded strings, in one of three forms.

    ``node`` (a regex AST) or ``dfa`` (an eager :class:`CodePointDFA`); ``charset`` with
    ``min_length``/``max_length`` describe ``C{min,max}`` languages. ``core`` with the bounds is
    the *lazy* form: the strings ``core`` accepts whose length lies in ``[min_length,
    max_length]``, kept apart because their product is too large to build (the string
    terminal reads it as a lazy automaton). Asking a lazy language for ``dfa`` builds the
    product within ``max_states`` (or raises :class:`LimitExceededError`, as the eager path did).
    """

    def __init__(
        self,
        node: Node | None = None,
        dfa: CodePointDFA | None = None,
        charset: CharSet | None = None,
        min_length: int = 0,
        max_length: int | None = None,
        *,
        core: CodePointDFA | None = None,
        max_states: int = DEFAULT_MAX_STATES,
    ) -> None:
        self.node = node
        self._dfa = dfa
        self.charset = charset
        self.min_length = min_length
        self.max_length = max_length
        self.core = core
        self._max_states = max_states
        self._window: LengthWindow | None = None

    def __repr__(self) -> str:
        form = "node" if self.node is not None else "dfa" if self._dfa is not None else "core"
        return f"StringLanguage({form}, {self.min_length}..{self.max_length})"

    @property
    def dfa(self) -> CodePointDFA | None:
        if self._dfa is None and self.core is not None:
            self._dfa = _bounded(
                self.core, self.min_length, self.max_length, self._max_states
            ).minimized()
        return self._dfa

    def length_window(self) -> LengthWindow:
        """Which states of ``core`` can still finish within the bounds (lazy form only; may
        raise :class:`LimitExceededError` when its table would be too large)."""
        if self.core is None:
            raise ValueError("only a lazy string language has a length window")
        if self._window is None:
            self._window = LengthWindow(
                self.core.transitions, self.core.accepting, self.min_length, self.max_length,
                max_cells=DEFAULT_MAX_CELLS,
            )  # fmt: skip
        return self._window

    @property
    def empty(self) -> bool:
        if self.core is not None:
            return not self.length_window().live(0, 0)
        if self.node is not None:
            return is_empty_language(self.node)
        return self.dfa is None or self.dfa.is_empty()


def pattern_language(pattern: str, pointer: str, *, max_states: int, max_size: int) -> Node:
    """The decoded strings that contain a match of the ECMA-262 ``pattern``."""
    try:
        parsed = parse_ecma_regex(pattern)
    except PatternSyntaxError as error:
        raise SchemaError(f"invalid ECMA-262 regex {pattern!r}: {error}", pointer=pointer) from None
    return search_language(parsed, max_states=max_states, max_size=max_size)


def fixed_length(node: Node) -> int | None:
    """The length of every string of ``node``, if they all have the same length."""
    if isinstance(node, CharSet):
        return 1
    if isinstance(node, Empty):
        return 0
    if isinstance(node, Concat):
        total = 0
        for part in node.parts:
            length = fixed_length(part)
            if length is None:
                return None
            total += length
        return total
    if isinstance(node, Alt):
        lengths = {fixed_length(option) for option in node.options}
        return lengths.pop() if len(lengths) == 1 else None
    if isinstance(node, Repeat):
        inner = fixed_length(node.node)
        if inner is None or node.high != node.low:
            return 0 if inner == 0 else None
        return inner * node.low
    return None


def length_range(node: Node) -> tuple[int, int | None]:
    """Shortest and longest string length of ``node`` (``None``: unbounded)."""
    if isinstance(node, CharSet):
        return 1, 1
    if isinstance(node, Empty):
        return 0, 0
    if isinstance(node, Concat):
        low, high = 0, 0
        for part in node.parts:
            a, b = length_range(part)
            low += a
            high = None if high is None or b is None else high + b
        return low, high
    if isinstance(node, Alt):
        ranges = [length_range(option) for option in node.options]
        low = min(a for a, _ in ranges)
        high = None if any(b is None for _, b in ranges) else max(b for _, b in ranges)  # type: ignore[type-var]
        return low, high
    if isinstance(node, Repeat):
        a, b = length_range(node.node)
        high = None if node.high is None or b is None else b * node.high
        if b == 0:
            high = 0
        return a * node.low, high
    raise TypeError(f"not a regex node: {node!r}")


def _bounded_repetition(node: Node, min_length: int, max_length: int | None) -> Node | None:
    """``node`` ∩ length range, when ``node`` is fixed parts and one repetition of a fixed-width
    body."""
    parts = list(node.parts) if isinstance(node, Concat) else [node]
    fixed_total = 0
    variable: int | None = None
    for index, part in enumerate(parts):
        length = fixed_length(part)
        if length is not None:
            fixed_total += length
            continue
        if variable is not None or not isinstance(part, Repeat):
            return None
        variable = index
    if variable is None:
        return node  # all fixed: the caller checks the length against the range
    body: Repeat = parts[variable]  # type: ignore[assignment]
    width = fixed_length(body.node)
    if not width:
        return None
    low = max(body.low, math.ceil(max(min_length - fixed_total, 0) / width))
    high = body.high
    if max_length is not None:
        cap = (max_length - fixed_total) // width if max_length >= fixed_total else -1
        high = cap if high is None else min(high, cap)
    if high is not None and high < low:
        return NOTHING
    parts[variable] = repeat(body.node, low, high)
    return concat(*parts)


def string_language(
    min_length: int,
    max_length: int | None,
    patterns: list[tuple[str, str]],
    formats: list[tuple[str, str]],
    *,
    max_states: int,
    max_size: int,
    unsupported: list[Unsupported],
    warnings: list[str],
    strict_formats: bool = False,
    pattern_node: Callable[[str, str], Node] | None = None,
    excluded_patterns: Sequence[tuple[str, str]] = (),
    excluded_values: Sequence[str] = (),
    max_length_expansion: int | None = None,
) -> StringLanguage:
    """The decoded strings satisfying every constraint (see the module doc); ``excluded_*``
    come from ``not`` (strings matching those patterns, or equal to those values, are out).

    A length bound on a pattern/format is built into one automaton when the product stays
    within ``max_states`` and the bound within ``max_length_expansion``; otherwise the result
    is the lazy form (``core`` and the bounds, see :class:`StringLanguage`).
    """

    def language_of(pattern: str, pointer: str, keyword: str) -> Node | None:
        try:
            if pattern_node is not None:
                return pattern_node(pattern, pointer)
            return pattern_language(pattern, pointer, max_states=max_states, max_size=max_size)
        except PatternUnsupported as error:
            unsupported.append(Unsupported(keyword, pointer, f"{pattern!r}: {error}"))
            return None

    components: list[Node] = []
    for pattern, pointer in patterns:
        node = language_of(pattern, pointer, "pattern")
        if node is not None:
            components.append(node)
    for name, pointer in formats:
        node = format_node(name)  # one node per format and process
        if node is not None:
            _FORMAT_NAMES[id(node)] = (node, name)  # for minimal_dfa's disk cache
        if node is None:
            if strict_formats:
                unsupported.append(Unsupported("format", pointer, f"format {name!r} is not known"))
            else:
                warnings.append(f"format {name!r} at {pointer} is not known: not enforced")
        else:
            components.append(node)
    if max_length is not None and max_length < min_length:
        return StringLanguage(node=NOTHING)
    bounded = min_length > 0 or max_length is not None
    longest = max(min_length, max_length or 0)
    lazy_only = max_length_expansion is not None and longest > max_length_expansion
    if excluded_patterns or excluded_values:
        if not components and not bounded and not excluded_patterns:
            return StringLanguage(node=all_strings_except(sorted(set(excluded_values))))
        if components:
            automaton = _intersection(components, max_states)
        else:
            automaton = CodePointDFA.from_node(star(ANY_CHAR), max_states=max_states)
        for pattern, pointer in excluded_patterns:
            node = language_of(pattern, pointer, "not")
            if node is not None:
                excluded = CodePointDFA.from_node(node, max_states=max_states)
                automaton = automaton.difference(excluded, max_states=max_states)
        if excluded_values:
            values = CodePointDFA.from_strings(sorted(set(excluded_values)), max_states=max_states)
            automaton = automaton.difference(values, max_states=max_states)
        return _with_lengths(automaton, min_length, max_length, max_states, lazy_only=lazy_only)
    if not components:
        return StringLanguage(
            node=repeat(ANY_CHAR, min_length, max_length),
            charset=ANY_CHAR,
            min_length=min_length,
            max_length=max_length,
        )
    unique = list(dict.fromkeys(components))
    if len(unique) == 1 and not lazy_only:
        node = unique[0]
        if not bounded:
            return StringLanguage(node=node)
        low, high = length_range(node)
        if low >= min_length and (max_length is None or (high is not None and high <= max_length)):
            return StringLanguage(node=node)
        narrowed = _bounded_repetition(node, min_length, max_length)
        if narrowed is not None:
            low, high = length_range(narrowed)
            if low >= min_length and (
                max_length is None or (high is not None and high <= max_length)
            ):
                charset = (
                    narrowed.node
                    if isinstance(narrowed, Repeat) and isinstance(narrowed.node, CharSet)
                    else None
                )
                if charset is not None:
                    return StringLanguage(
                        node=narrowed,
                        charset=charset,
                        min_length=narrowed.low,
                        max_length=narrowed.high,
                    )
                return StringLanguage(node=narrowed)
            if (high is not None and high < min_length) or (
                max_length is not None and low > max_length
            ):
                return StringLanguage(node=NOTHING)
    return _with_lengths(
        _intersection(unique, max_states), min_length, max_length, max_states, lazy_only=lazy_only
    )


def _with_lengths(
    core: CodePointDFA, min_length: int, max_length: int | None, max_states: int, *, lazy_only: bool
) -> StringLanguage:
    """``core`` within the length bounds: one automaton if it fits, else the lazy form."""
    core = minimized(core)
    if min_length == 0 and max_length is None:
        return StringLanguage(dfa=core)
    if _is_universal(core):  # e.g. an unanchored pattern that matches the empty string
        return StringLanguage(
            node=repeat(ANY_CHAR, min_length, max_length),
            charset=ANY_CHAR,
            min_length=min_length,
            max_length=max_length,
        )
    if not lazy_only:
        try:
            limit = min(max_states, _EAGER_LENGTH_STATES)
            return StringLanguage(dfa=_bounded(core, min_length, max_length, limit).minimized())
        except LimitExceededError:
            pass  # too many states for one automaton: the terminal counts lazily instead
    return StringLanguage(
        min_length=min_length, max_length=max_length, core=core, max_states=max_states
    )


def _is_universal(dfa: CodePointDFA) -> bool:
    """Whether ``dfa`` (minimised) accepts every string."""
    if dfa.num_states != 1 or not dfa.accepting[0]:
        return False
    charsets = dfa.class_charsets()
    return all(
        target == 0 or not charsets[klass].without_surrogates().ranges
        for klass, target in enumerate(dfa.transitions[0].tolist())
    )


def _intersection(components: list[Node], max_states: int) -> CodePointDFA:
    """The automaton of strings in every component."""
    unique = list(dict.fromkeys(components))
    automaton = minimal_dfa(unique[0], max_states)
    for node in unique[1:]:
        following = minimal_dfa(node, max_states)
        automaton = automaton.intersect(following, max_states=max_states)
    return automaton


def format_name(node: Node) -> str | None:
    """The format whose language :func:`string_language` gave as ``node`` itself, or None."""
    named = _FORMAT_NAMES.get(id(node))
    return named[1] if named is not None and named[0] is node else None


def minimal_dfa(node: Node, max_states: int) -> CodePointDFA:
    """``CodePointDFA.from_node(node).minimized()``, memoised per process by the node's
    identity when it took long: :func:`~structgen.validation.formats.format_node` gives one
    node per format, and an email, hostname or URI automaton costs 50–300 ms to build and
    minimise, again in every schema that uses the format (issue 11)."""
    found = _MINIMAL.get(id(node))
    if found is not None and found[0] is node and found[1] == max_states:
        _MINIMAL.move_to_end(id(node))
        return found[2]
    name = format_name(node)
    automaton = load_format_dfa(name, max_states) if name is not None else None
    if automaton is None:
        started = time.perf_counter()
        automaton = CodePointDFA.from_node(node, max_states=max_states).minimized()
        if time.perf_counter() - started <= _MEMO_AFTER_SECONDS:
            return automaton
        if name is not None:
            store_format_dfa(name, max_states, automaton)
    _MINIMAL[id(node)] = (node, max_states, automaton)  # the node is kept: its id stays its own
    _KNOWN_MINIMAL[id(automaton)] = automaton
    if len(_MINIMAL) > _MINIMAL_KEPT:
        _, _, dropped = _MINIMAL.popitem(last=False)[1]
        _KNOWN_MINIMAL.pop(id(dropped), None)
    return automaton


def minimized(automaton: CodePointDFA) -> CodePointDFA:
    """``automaton.minimized()``, or ``automaton`` itself when :func:`minimal_dfa` made it."""
    return automaton if _KNOWN_MINIMAL.get(id(automaton)) is automaton else automaton.minimized()


def _bounded(
    automaton: CodePointDFA, min_length: int, max_length: int | None, max_states: int
) -> CodePointDFA:
    """``automaton`` ∩ strings of ``min_length..max_length`` characters, built eagerly."""
    lengths = CodePointDFA.from_node(
        repeat(ANY_CHAR, min_length, max_length), max_states=max_states
    )
    return automaton.intersect(lengths, max_states=max_states)


def excluded_names(node: Node) -> tuple[str, ...] | None:
    """The names of :func:`all_strings_except` when ``node`` is what it returned (recently),
    else None: the key terminal then builds its automaton from the names directly."""
    found = _EXCEPT_NAMES.get(id(node))
    return found[1] if found is not None and found[0] is node else None


def all_strings_except(names: list[str]) -> Node:
    """Every string except those in ``names``, as a regex linear in their total length.

    A string is not a name if it is a proper prefix of names that is no name, or if it leaves
    the trie of names at some character, after which anything follows. Leaving by a character
    that occurs in no name is the same at every trie node, so it is written once
    (``prefixes · others · .*``); only the few name characters are distinguished per node.
    Memoised (an object's unlisted keys are asked for again by each of its regions).
    """
    key = tuple(names)
    node = _strings_except(key, False)
    _EXCEPT_NAMES[id(node)] = (node, key)  # the node is kept: its id stays its own
    _EXCEPT_NAMES.move_to_end(id(node))
    if len(_EXCEPT_NAMES) > _EXCEPT_NAMES_KEPT:
        _EXCEPT_NAMES.popitem(last=False)
    return node


def encoded_strings_except(names: Sequence[str]) -> Node:
    """The canonical JSON encodings (:func:`~structgen.schema.json_strings.encode`, canonical)
    of :func:`all_strings_except`, built directly; every character of ``names`` must be
    printable ASCII other than ``"`` ``/`` ``\\`` (which canonical JSON writes only as
    itself), so only the two "any other character" sets need encoding."""
    return _strings_except(tuple(names), True)


@lru_cache(maxsize=256)
def _strings_except(names: tuple[str, ...], encoded: bool) -> Node:
    prefixes, all_prefixes, leave_by_name_character, rest = _except_parts(names)
    any_char: Node = ANY_CHAR
    if encoded:  # the name characters encode as themselves: only these two sets change
        rest, any_char = encode_charset(rest, True), encode_charset(ANY_CHAR, True)  # type: ignore[arg-type]
    leave_elsewhere = concat(all_prefixes, rest)
    return alt(prefixes, concat(alt(leave_elsewhere, leave_by_name_character), star(any_char)))


@lru_cache(maxsize=256)
def _except_parts(names: tuple[str, ...]) -> tuple[Node, Node, Node, CharSet]:
    """The pieces of :func:`all_strings_except`: the proper prefixes that are no name, every
    prefix, the strings leaving the names by a name character, and the other characters."""
    trie: dict = {}
    for name in names:
        node = trie
        for c in name:
            node = node.setdefault(c, {})
        node[None] = True
    alphabet = CharSet.chars("".join(sorted({c for name in names for c in name})))
    chars = {c: char(c) for c in {c for name in names for c in name}}

    def walk(node: dict, *, stop_names: bool) -> Node:
        here = NOTHING if (stop_names and None in node) else EMPTY
        return alt(
            here,
            *(
                concat(chars[c], walk(child, stop_names=stop_names))
                for c, child in node.items()
                if c is not None
            ),
        )

    def leave_by_name_character(node: dict) -> Node:
        children = [c for c in node if c is not None]
        others = _difference(alphabet, CharSet.chars("".join(children))) if children else alphabet
        return alt(others, *(concat(chars[c], leave_by_name_character(node[c])) for c in children))

    return (
        walk(trie, stop_names=True),
        walk(trie, stop_names=False),
        leave_by_name_character(trie),
        _difference(ANY_CHAR, alphabet),
    )
