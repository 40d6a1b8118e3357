"""The conditions of an object schema (``not``, ``if``/``then``/``else``, schema-valued
dependencies) made ready for its member machine: one formula, its atoms, the key languages that
split the unlisted keys, and the value classes of each member.

Each atom :class:`~structgen.schema.conditions.Some` (``keys``, ``value``) is set by the members
whose key is in ``keys`` and whose value falls in the right class. A member's value schema ``V``
is split, for the distinct ``value`` subschemas ``S₁…Sₙ`` of the atoms its key belongs to, into
the classes ``V ∧ ±S₁ ∧ … ∧ ±Sₙ`` (``-S`` is ``not: S``, compiled exactly or refused like any
``not``; of the ``2ⁿ`` sign choices, none is followed past a prefix seen to be empty — a
``false``, or no value of an enum left): which atoms a member sets then depends on the class
its value is in, and the classes of one key are disjoint, so the machine sets exactly the atoms
that hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from structgen.errors import LimitExceededError
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.schema.builder import SchemaBuilder
from structgen.schema.conditions import (
    Formula,
    Inexact,
    Keys,
    Some,
    atoms_of,
    conjunction,
    disjunction,
    negation,
    read_condition,
)
from structgen.schema.errors import Unsupported
from structgen.schema.keywords import ANNOTATIONS
from structgen.schema.normalize import ObjectSpec, complement_of, flatten, make_node
from structgen.schema.refs import Location, canonical_json

__all__ = ["ObjectConditions", "plan_conditions", "value_classes"]

_MAX_VALUE_CLASSES = 64  # value classes of one member (each is a path of its member machine)
_MAX_CLASS_STEPS = 4096  # prefixes of sign vectors tried while finding them


@dataclass
class ObjectConditions:
    """``formula`` over ``atoms``; ``names``: keys the atoms name; ``splitters``: (key language
    of an atom, its automaton), which split the unlisted keys."""

    formula: Formula = True
    atoms: list[Some] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    splitters: list[tuple[Keys, CodePointDFA]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.formula is not True


def plan_conditions(
    builder: SchemaBuilder, spec: ObjectSpec, names_language
) -> ObjectConditions:
    """Read the conditions of ``spec`` (those that are no condition on keys are reported)."""
    document = builder.document
    parts: list[Formula] = []
    for condition in spec.conditions:
        try:
            formula = read_condition(document, condition.location)
        except Inexact as error:
            builder.report([Unsupported(condition.keyword, condition.location.pointer, str(error))])
            continue
        if condition.negated:
            formula = negation(formula)
        if condition.when is not None:
            formula = disjunction([negation(Some(Keys("name", name=condition.when))), formula])
        parts.append(formula)
    formula = conjunction(parts)
    out = ObjectConditions(formula)
    if formula is True or formula is False:
        return out
    out.atoms = atoms_of(formula)
    seen: set[Keys] = set()
    for atom in out.atoms:
        keys = atom.keys
        if keys.kind == "name":
            if keys.name not in out.names:
                out.names.append(keys.name)
        elif keys not in seen:
            seen.add(keys)
            out.splitters.append((keys, _key_dfa(builder, keys, names_language)))
    return out


def _key_dfa(builder: SchemaBuilder, keys: Keys, names_language) -> CodePointDFA:
    """The decoded property names in ``keys`` (a pattern, outside a location's lists, or
    refused by a ``propertyNames``)."""
    max_states = builder.options.max_regex_states
    if keys.kind == "pattern":
        return builder.pattern_dfa(keys.pattern, keys.location.pointer)  # type: ignore[union-attr]
    if keys.kind == "outside":
        where = keys.location.pointer  # type: ignore[union-attr]
        automaton = CodePointDFA.everything()
        for pattern in keys.patterns:
            piece = builder.pattern_dfa(
                pattern, f"{where}/patternProperties/{pattern}", complement=True
            )
            automaton = automaton.intersect(piece, max_states=max_states)
        if keys.names:
            listed = CodePointDFA.from_strings(list(keys.names), max_states=max_states)
            automaton = automaton.difference(listed, max_states=max_states)
        return automaton.minimized()
    allowed = names_language(keys.location)
    if allowed is None:
        return CodePointDFA.everything().complement()
    return allowed.complement().minimized()


def key_in(builder: SchemaBuilder, keys: Keys, name: str) -> bool:
    """Whether the property name ``name`` is in ``keys``."""
    if keys.kind == "name":
        return keys.name == name
    if keys.kind == "pattern":
        return builder.pattern_dfa(keys.pattern, keys.location.pointer).accepts(name)  # type: ignore[union-attr]
    if keys.kind == "outside":
        where = keys.location.pointer  # type: ignore[union-attr]
        return name not in keys.names and not any(
            builder.pattern_dfa(p, f"{where}/patternProperties/{p}").accepts(name)
            for p in keys.patterns
        )
    return not builder.document.is_valid(name, keys.location)  # type: ignore[arg-type]


def value_classes(
    builder: SchemaBuilder,
    items: list[tuple[Location, bool]],
    atoms: list[tuple[int, Some]],
    pointer: str,
) -> list[tuple[list[tuple[Location, bool]], frozenset[int]]]:
    """The value classes of a member with value schema ``items`` whose key is in the atoms
    ``atoms`` ((index, atom)): (the class's items, the atoms its values set), empty ones left
    out."""
    # One value per distinct subschema: equal ones at several places (the same ``then`` of
    # many ``if`` branches) are one split, not one each.
    values: list[Location] = []
    same: dict[Location, Location] = {}
    by_text: dict[tuple, Location] = {}
    for _, atom in atoms:
        if atom.value is not None and atom.value not in same:
            where = atom.value
            text = (canonical_json(where.schema), where.key[1:])
            if text not in by_text:
                by_text[text] = where
                values.append(where)
            same[where] = by_text[text]
    # Depth first over the values' signs (inside each value or its complement), in the order
    # of itertools.product((True, False), ...), dropping a prefix as soon as no value can hold
    # it: a discriminator's n consts make n + 1 classes out of 2^n sign vectors, found in
    # O(n^2) steps. Once the items name an enum/const, the values of it that meet every item
    # so far are carried down (each step checks only its new item against them).
    out: list[tuple[list[tuple[Location, bool]], frozenset[int]]] = []
    steps = 0
    document = builder.document

    def extend(chosen: list[tuple[Location, bool]], signs: list[bool], finite: list | None) -> None:
        nonlocal steps
        steps += 1
        if steps > _MAX_CLASS_STEPS or len(out) > _MAX_VALUE_CLASSES:
            raise LimitExceededError(
                f"the value classes of one property of the object at {pointer}",
                _MAX_VALUE_CLASSES,
                hint="fewer overlapping subschemas for one property inside 'not', 'if' or "
                "dependencies",
            )
        if finite is None:
            flat = flatten(document, make_node(chosen))
            if flat.false_at is not None:
                return
            listed = flat.enum_location()
            if listed is not None:
                finite = [
                    v for v in _listed_values(listed)
                    if all(document.is_valid(v, where) for where, _ in chosen)
                ]  # fmt: skip
        elif signs:
            where = chosen[-1][0]
            finite = [v for v in finite if document.is_valid(v, where)]
        if finite is not None and not finite:
            return
        if len(signs) == len(values):
            inside = dict(zip(values, signs))
            marks = frozenset(
                index
                for index, atom in atoms
                if atom.value is None or inside[same[atom.value]] != atom.negated
            )
            out.append((chosen, marks))
            return
        value = values[len(signs)]
        extend([*chosen, (value, True)], [*signs, True], finite)
        extend([*chosen, (_complement(builder, value), True)], [*signs, False], finite)

    extend(list(items), [], None)
    return out


def _listed_values(location: Location) -> list:
    """The values of the ``enum`` or ``const`` at ``location`` (``const`` from draft 6)."""
    schema = location.schema
    if "enum" in schema:
        return list(schema["enum"]) if isinstance(schema["enum"], list) else []
    return [schema["const"]]


def _complement(builder: SchemaBuilder, location: Location) -> Location:
    """The subschema ``not: <location>`` (for ``not: X`` alone, ``X`` itself)."""
    schema = location.schema
    if isinstance(schema, dict) and set(schema) - ANNOTATIONS == {"not"}:
        return builder.document.child(location, "not")
    document = builder.document
    return document.derived(location, "complement", lambda: complement_of(document, location))
