"""``oneOf`` as "exactly one branch holds" on the scalar JSON types, where branches overlap.

For ``null``, booleans, numbers and strings each branch is a regular language we can compute
exactly — a set of constants, a finite union of number ranges (each all numbers or integers
only), a code-point automaton of decoded strings — and exactly-one of ``L1 … Ln`` is
``⋃ᵢ (Lᵢ ∖ ⋃_{j≠i} Lⱼ)``: the values at least one branch holds minus those at least two hold.
Nested ``anyOf`` (union), ``oneOf`` (exactly-one, recursively), ``allOf``/``$ref`` (merged by
:func:`~structgen.schema.normalize.flatten`) and ``enum``/``const`` (finite sets) are followed.

What cannot be made exact is reported, not approximated: a ``multipleOf`` in an overlapping
number range, "non-integers only" (left when an integer branch overlaps a number branch: not
regular in scientific notation), string automata past ``max_regex_states``.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from structgen.errors import LimitExceededError
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.nodes import NOTHING, char, literal
from structgen.schema.builder import SchemaBuilder
from structgen.schema.normalize import SchemaNode, analyze, flatten, make_node
from structgen.schema.numbers import Bound, to_decimal
from structgen.schema.refs import Location
from structgen.schema.strings import StringLanguage

__all__ = [
    "SCALAR_KINDS",
    "Inexact",
    "NumberPiece",
    "enforce_exactly_one",
    "kind_location",
    "restricts",
]

SCALAR_KINDS = ("null", "boolean", "number", "string")
_MAX_DEPTH = 8
_MARK = "structgen: oneOf exactly-one, these types are built apart"
_GROUPS = frozenset({"$ref", "allOf", "anyOf", "oneOf"})  # what a plain item leaves out

# Synthetic subschemas (a type restriction, a number range) are keyed by ``id`` in a Location:
# each compile keeps its own alive (one per distinct schema) as long as the builder lives.
_KEPT: weakref.WeakKeyDictionary[Any, dict[str, Location]] = weakref.WeakKeyDictionary()


class Inexact(Exception):
    """Exactly-one cannot be enforced exactly here; ``str()`` says why."""


@dataclass(frozen=True)
class NumberPiece:
    """The numbers (or, with ``integer``, the integers) between ``low`` and ``high``."""

    low: Bound | None
    high: Bound | None
    integer: bool = False

    def holds(self, value: Decimal) -> bool:
        """Whether the number ``value`` is in this piece."""
        if self.integer and value != value.to_integral_value():
            return False
        return _above(value, self.low) and _below(value, self.high)


def _above(value: Decimal, low: Bound | None) -> bool:
    return low is None or value > low.value or (value == low.value and not low.exclusive)


def _below(value: Decimal, high: Bound | None) -> bool:
    return high is None or value < high.value or (value == high.value and not high.exclusive)


@dataclass
class _Language:
    """One branch's values of the scalar kinds: constants, number pieces, a string automaton."""

    constants: frozenset  # subset of {None, True, False}
    numbers: list[NumberPiece]
    strings: CodePointDFA


def kind_location(
    builder: SchemaBuilder, owner: Location, schema: dict, *, draft: str = "2020-12"
) -> Location:
    """A synthetic subschema ``schema`` placed at ``owner`` (one per distinct ``schema`` and
    builder, kept alive with the builder), read as ``draft``."""
    kept = _KEPT.setdefault(builder, {})
    text = json.dumps(
        [schema, draft, getattr(owner.resolver, "_base_uri", "")], sort_keys=True, default=str
    )
    found = kept.get(text)
    if found is None:
        found = kept[text] = Location(schema, owner.resolver, draft, owner.pointer)
    return found


def enforce_exactly_one(
    builder: SchemaBuilder, name: str, node: SchemaNode, kinds: dict[str, Any]
) -> tuple[str | None, Location | None]:
    """Add to ``name`` the values of the scalar ``kinds`` that ``node`` (with its ``oneOf`` s)
    holds, computed exactly; return ``(None, L)`` where ``L`` (``not: {type: kinds}``) keeps
    the branch-by-branch alternatives off those kinds, or ``(why, None)`` with nothing added.
    An object or array kind in ``kinds`` is one that no value holds exactly one branch of
    (two branches take all of it): it is only kept off; or one whose exactly-one is the union
    of the conjunctions listed in ``kinds[kind]`` (objects: a branch disjoint from the others
    on objects, or a key-set schema, :mod:`structgen.schema.key_sets`; arrays: each branch's
    non-empty arrays, and ``[]`` with the one branch holding it)."""
    try:
        result = _language(builder, node, 0)
    except Inexact as error:
        return str(error), None
    owner = node.items[0][0]
    if "null" in kinds and None in result.constants:
        builder.rule(name, _keyword(builder, "null"))
    if "boolean" in kinds:
        for value in (True, False):
            if value in result.constants:
                builder.rule(name, _keyword(builder, "true" if value else "false"))
    if "number" in kinds:
        for piece in result.numbers:
            location = kind_location(builder, owner, _schema(piece))
            builder.rule(name, builder.symbol([(location, True)]))
    if "string" in kinds and not result.strings.is_empty():
        language = StringLanguage(dfa=result.strings.minimized())
        builder.rule(name, builder.string_from_language(language, close=char('"'), name="str"))
    structured = [kinds[k] for k in ("object", "array") if kinds.get(k) is not None]
    if structured:
        flat = flatten(builder.document, node)
        if len(flat.groups) > 1:
            return (
                "exactly-one on objects or arrays next to another anyOf/oneOf is not supported",
                None,
            )
        plain = [(location, False) for location in flat.plain]
        for alternatives in structured:
            for alternative in alternatives:
                builder.rule(name, builder.symbol([*plain, *alternative]))
    kept = [k for k in (*SCALAR_KINDS, "object", "array") if k in kinds]
    return None, kind_location(builder, owner, {"not": {"type": kept}, "$comment": _MARK})


def restricts(node: SchemaNode) -> bool:
    """Whether ``node`` holds a restriction made by :func:`enforce_exactly_one` (its branches
    may then lose every type: that is no unsatisfiable branch to warn about)."""
    return any(
        isinstance(location.schema, dict) and location.schema.get("$comment") == _MARK
        for location, _ in node.items
    )


def _keyword(builder: SchemaBuilder, text: str) -> str:
    return builder.terminal(literal(text), key=("lit", text), name=text, literal_text=text)


def _schema(piece: NumberPiece) -> dict:
    schema: dict[str, Any] = {"type": "integer" if piece.integer else "number"}
    if piece.low is not None:
        schema["exclusiveMinimum" if piece.low.exclusive else "minimum"] = piece.low.value
    if piece.high is not None:
        schema["exclusiveMaximum" if piece.high.exclusive else "maximum"] = piece.high.value
    return schema


# -- the language of a node ------------------------------------------------------------------------
def _language(builder: SchemaBuilder, node: SchemaNode, depth: int) -> _Language:
    if depth > _MAX_DEPTH:
        raise Inexact(f"branches nest deeper than {_MAX_DEPTH} anyOf/oneOf levels")
    document = builder.document
    flat = flatten(document, node)
    if flat.false_at is not None:
        return _nothing()
    enum_location = flat.enum_location()
    if enum_location is not None:
        schema = enum_location.schema
        values = list(schema["enum"]) if isinstance(schema.get("enum"), list) else []
        if "enum" not in schema:
            values = [schema.get("const")]
        kept = [v for v in values if _holds(builder, v, node)]
        return _finite(builder, kept)
    plain = [(loc, False) for loc in flat.plain]
    if flat.groups:
        result: _Language | None = None
        for group in flat.groups:
            parts = [
                _language(builder, make_node(plain + [(branch, True)]), depth + 1)
                for branch in group.branches
            ]
            combined = (
                _union(builder, parts) if group.kind == "anyOf" else _exactly_one(builder, parts)
            )
            result = combined if result is None else _intersection(builder, result, combined)
        return result if result is not None else _nothing()
    analysis = analyze(document, flat.plain, formats=builder.options.formats != "annotation")
    builder.report(analysis.unsupported)
    types = analysis.types
    constants: set = set()
    if "null" in types:
        constants.add(None)
    if "boolean" in types:
        constants |= set(analysis.booleans)
    numbers: list[NumberPiece] = []
    if types & {"number", "integer"}:
        spec = analysis.number
        if spec.multiples or spec.not_multiples:
            where = (spec.multiples or spec.not_multiples)[0][1]
            raise Inexact(f"multipleOf at {where} in an overlapping number range")
        numbers = _split(NumberPiece(spec.low, spec.high, "number" not in types), spec.excluded)
    strings = CodePointDFA.from_node(NOTHING)
    if "string" in types:
        language = builder.decoded_string_of(analysis.string, pointer=analysis.pointer)
        if language is not None:
            strings = _dfa(builder, language)
    return _Language(frozenset(constants), numbers, strings)


def _holds(builder: SchemaBuilder, value: Any, node: SchemaNode) -> bool:
    """Whether ``value`` satisfies ``node``: its full items entirely, its plain items by their
    own keywords (their ``anyOf``/``oneOf`` choice is made elsewhere: validating the whole
    owner would apply the very ``oneOf`` being computed)."""
    document = builder.document
    for location, full in node.items:
        if not full and isinstance(location.schema, dict) and _GROUPS & location.schema.keys():
            location = _own_keywords(builder, location)
        if not document.is_valid(value, location):
            return False
    return True


def _own_keywords(builder: SchemaBuilder, location: Location) -> Location:
    kept = _KEPT.setdefault(builder, {})
    key = repr(("own", location.key))
    found = kept.get(key)
    if found is None:
        schema = {k: v for k, v in location.schema.items() if k not in _GROUPS}
        found = kept[key] = Location(schema, location.resolver, location.draft, location.pointer)
    return found


def _dfa(builder: SchemaBuilder, language: StringLanguage) -> CodePointDFA:
    try:
        dfa = language.dfa
        if dfa is None:
            dfa = CodePointDFA.from_node(language.node, max_states=builder.options.max_regex_states)
    except LimitExceededError as error:
        raise Inexact(f"a branch's strings exceed an automaton limit ({error})") from error
    return dfa


def _nothing() -> _Language:
    return _Language(frozenset(), [], CodePointDFA.from_node(NOTHING))


def _finite(builder: SchemaBuilder, values: list[Any]) -> _Language:
    constants = frozenset(v for v in values if v is None or isinstance(v, bool))
    numbers = [
        NumberPiece(Bound(to_decimal(v)), Bound(to_decimal(v)))
        for v in values
        if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)
    ]
    strings = [v for v in values if isinstance(v, str)]
    dfa = CodePointDFA.from_strings(strings, max_states=builder.options.max_regex_states)
    return _Language(constants, numbers, dfa)


def _split(piece: NumberPiece, excluded: list[Decimal]) -> list[NumberPiece]:
    """``piece`` without the points in ``excluded``."""
    pieces = [piece]
    for point in sorted(set(excluded)):
        following = []
        for p in pieces:
            if not p.holds(point):
                following.append(p)
                continue
            following += [
                NumberPiece(p.low, Bound(point, True), p.integer),
                NumberPiece(Bound(point, True), p.high, p.integer),
            ]
        pieces = following
    return pieces


# -- the algebra -----------------------------------------------------------------------------------
def _union(builder: SchemaBuilder, parts: list[_Language]) -> _Language:
    limit = builder.options.max_regex_states
    strings = CodePointDFA.from_node(NOTHING)
    try:
        for part in parts:
            strings = strings.union(part.strings, max_states=limit)
    except LimitExceededError as error:
        raise Inexact(f"the union of the branches' strings exceeds {limit} states") from error
    return _Language(
        frozenset().union(*(p.constants for p in parts)),
        [piece for part in parts for piece in part.numbers],
        strings,
    )


def _intersection(builder: SchemaBuilder, a: _Language, b: _Language) -> _Language:
    limit = builder.options.max_regex_states
    try:
        strings = a.strings.intersect(b.strings, max_states=limit)
    except LimitExceededError as error:
        raise Inexact(f"the intersection of strings exceeds {limit} states") from error
    numbers = []
    for x in a.numbers:
        for y in b.numbers:
            low = _tighter(x.low, y.low, lower=True)
            high = _tighter(x.high, y.high, lower=False)
            numbers.append(NumberPiece(low, high, x.integer or y.integer))
    return _Language(a.constants & b.constants, numbers, strings)


def _tighter(x: Bound | None, y: Bound | None, *, lower: bool) -> Bound | None:
    if x is None or y is None:
        return y if x is None else x
    if x.value == y.value:
        return x if x.exclusive else y
    return (max if lower else min)((x, y), key=lambda bound: bound.value)


def _exactly_one(builder: SchemaBuilder, parts: list[_Language]) -> _Language:
    """The values exactly one of ``parts`` holds."""
    limit = builder.options.max_regex_states
    constants = frozenset(
        v for v in (None, True, False) if sum(1 for p in parts if v in p.constants) == 1
    )
    once = CodePointDFA.from_node(NOTHING)  # held by at least one part so far
    twice = CodePointDFA.from_node(NOTHING)  # held by at least two
    try:
        for part in parts:
            twice = twice.union(once.intersect(part.strings, max_states=limit), max_states=limit)
            once = once.union(part.strings, max_states=limit).minimized()
            twice = twice.minimized()
        strings = once.difference(twice, max_states=limit)
    except LimitExceededError as error:
        raise Inexact(f"exactly-one of the branches' strings exceeds {limit} states") from error
    return _Language(constants, _numbers_exactly_one([p.numbers for p in parts]), strings)


def _numbers_exactly_one(branches: list[list[NumberPiece]]) -> list[NumberPiece]:
    """The numbers exactly one branch (a union of pieces) holds, as pieces.

    Every bound is a cut; between two cuts each branch holds all numbers, only the integers, or
    nothing, so one sample point per open segment decides it.
    """
    cuts = sorted(
        {b.value for pieces in branches for p in pieces for b in (p.low, p.high) if b is not None}
    )
    out: list[NumberPiece] = []
    for point in cuts:
        if sum(1 for pieces in branches if any(p.holds(point) for p in pieces)) == 1:
            out.append(NumberPiece(Bound(point), Bound(point)))
    edges: list[Decimal | None] = [None, *cuts, None]
    for low, high in zip(edges, edges[1:]):
        if low is None and high is None:
            sample = Decimal("0.5")
        elif low is None:
            sample = high - Decimal("0.5")  # type: ignore[operator]
        elif high is None:
            sample = low + Decimal("0.5")
        else:
            sample = (low + high) / 2
        covers = [
            [p for p in pieces if _above(sample, p.low) and _below(sample, p.high)]
            for pieces in branches
        ]
        integers = sum(1 for found in covers if found)
        reals = sum(1 for found in covers if any(not p.integer for p in found))
        lower = None if low is None else Bound(low, True)
        upper = None if high is None else Bound(high, True)
        if integers == 1 and reals == 1:
            out.append(NumberPiece(lower, upper))
        elif integers == 1:
            out.append(NumberPiece(lower, upper, integer=True))
        elif reals == 1:
            if _has_integer(low, high):
                raise Inexact(
                    "only the non-integers between two bounds hold exactly one branch "
                    "(an integer branch overlaps a number branch there), which a number "
                    "grammar cannot single out"
                )
            out.append(NumberPiece(lower, upper))
    return out


def _has_integer(low: Decimal | None, high: Decimal | None) -> bool:
    """Whether the open interval (``low``, ``high``) holds an integer."""
    if low is None or high is None:
        return True
    first = int(low.to_integral_value(rounding="ROUND_FLOOR")) + 1
    return Decimal(first) < high
