"""``uniqueItems`` over a finite item domain, as a state machine over the values used so far.

When every position's item schema admits finitely many values (an ``enum``/``const``, or only
``null`` and booleans), an array whose items all differ is a word over those values in which no
value repeats: a regular language whose states are ``(position, values used, contains matches)``.
Each edge reads one value (its literal, written in any JSON spelling) and adds it to the set, so
no value can come twice; equality is JSON Schema's (``1 == 1.0``, ``true != 1``: values are
keyed by :func:`~structgen.schema.refs.canonical_json`). The array is then at most as long as
the domain. The states (subsets of the domain) are bounded by ``max_unique_states``.

Over an infinite domain (any strings, numbers, objects) "all items differ" is not context-free
(it contains ``{ww}``-like copies), so it stays a refusal in :mod:`structgen.schema.arrays`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from structgen.errors import LimitExceededError
from structgen.schema.builder import SchemaBuilder, list_machine
from structgen.schema.exactly_one import kind_location
from structgen.schema.normalize import ArraySpec, analyze, flatten, make_node
from structgen.schema.refs import Location, canonical_json

__all__ = ["finite_domain", "build_unique_array"]

Items = list[tuple[Location, bool]]


def finite_domain(builder: SchemaBuilder, items: Items) -> list[Any] | None:
    """The values the item conjunction ``items`` admits, one per JSON-equality class, in schema
    order (``None``: infinitely many, or not known to be finite)."""
    if not items:
        return None
    document = builder.document
    node = make_node(items)
    flat = flatten(document, node)
    if flat.false_at is not None:
        return []
    if flat.groups:
        return None
    location = flat.enum_location()
    if location is not None:
        schema = location.schema
        if isinstance(schema.get("enum"), list):
            candidates = list(schema["enum"])
        elif "enum" in schema:
            return None
        else:
            candidates = [schema.get("const")]
    else:
        analysis = analyze(document, flat.plain, formats=builder.options.formats != "annotation")
        if analysis.unsupported or not analysis.types <= {"null", "boolean"}:
            return None
        candidates = [None] if "null" in analysis.types else []
        if "boolean" in analysis.types:
            candidates += [v for v in (True, False) if v in analysis.booleans]
    kept: dict[str, Any] = {}
    for value in candidates:
        if all(document.is_valid(value, loc) for loc, _ in node.items):
            kept.setdefault(canonical_json(value), value)
    return list(kept.values())


def build_unique_array(
    builder: SchemaBuilder,
    spec: ArraySpec,
    domains: Callable[[int], list[Any]],
    *,
    minimum: int,
    maximum: int | None,
    contains: Location | None,
    needed: int,
) -> str | None:
    """The nonterminal of arrays of ``spec`` whose items all differ; ``domains(i)`` is the finite
    list of values position ``i`` admits (``None``: no such array)."""
    document = builder.document
    owner = spec.owners[0].location
    limit = builder.options.max_unique_states
    counts: dict[str, bool] = {}

    def counts_towards(key: str, value: Any) -> bool:
        if key not in counts:
            counts[key] = contains is not None and document.is_valid(value, contains)
        return counts[key]

    symbols: dict[str, str] = {}

    def value_symbol(key: str, value: Any) -> str:
        if key not in symbols:
            symbols[key] = builder.symbol([(kind_location(builder, owner, {"const": value}), True)])
        return symbols[key]

    start: tuple[int, frozenset, int] = (0, frozenset(), 0)
    transitions: dict[tuple, list[tuple[str, tuple]]] = {}
    stack = [start]
    while stack:
        state = stack.pop()
        if state in transitions:
            continue
        if len(transitions) >= limit:
            raise LimitExceededError(
                f"the states of uniqueItems at {spec.unique} (subsets of the item values used)",
                limit,
                hint="raise max_unique_states",
            )
        count, used, matched = state
        edges: list[tuple[str, tuple]] = []
        if maximum is None or count < maximum:
            for value in domains(count):
                key = canonical_json(value)
                if key in used:
                    continue
                gained = 1 if counts_towards(key, value) else 0
                target = (count + 1, used | {key}, min(matched + gained, needed))
                edges.append((value_symbol(key, value), target))
        transitions[state] = edges
        stack.extend(target for _, target in edges)
    final = [s for s in transitions if s[0] >= minimum and s[2] >= needed]
    if not final:
        builder.unsatisfiable(
            f"{spec.pointer}: no array of distinct items meets minItems/contains ({spec.unique})"
        )
        return None
    return list_machine(builder, transitions, start, final, "u")
