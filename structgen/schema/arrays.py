"""Arrays: positional schemas, counts, and ``contains``.

Position ``i`` gets the conjunction of, per subschema, its ``prefixItems[i]`` (``items[i]`` before
2020-12) or else its ``items`` (``additionalItems``). The member list is a state machine over
``(items so far, contains matches so far)`` — the count stops growing once every later position
is alike and ``minItems`` is reached — emitted as *left-recursive* rules ``N[q'] → N[q] "," ITEM``,
which Earley parses in constant work per item however long the array.

``contains`` is exact without a complement: an item may be read as "item ∧ contains" (counting
towards ``minContains``) or as a plain item. ``maxContains`` cannot be expressed and is
reported. ``uniqueItems`` (unless ``maxItems ≤ 1``) is exact where every item has finitely many
values (:mod:`structgen.schema.unique_items`: the values used so far are the state) and reported
otherwise: over an infinite item domain "all items differ" is not context-free.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from structgen.errors import LimitExceededError
from structgen.schema.builder import SchemaBuilder, list_machine
from structgen.schema.errors import Unsupported
from structgen.schema.normalize import ArraySpec, flatten, make_node
from structgen.schema.unique_items import build_unique_array, finite_domain

__all__ = ["build_array"]


def build_array(builder: SchemaBuilder, spec: ArraySpec) -> str | None:
    """The nonterminal of arrays satisfying ``spec`` (``None``: none do)."""
    document, options = builder.document, builder.options
    owners = spec.owners
    prefix_length = max((len(owner.prefix) for owner in owners), default=0)

    def items_at(position: int) -> list:
        items = []
        for owner in owners:
            if position < len(owner.prefix):
                items.append((owner.prefix[position], True))
            elif owner.rest is not None:
                items.append((owner.rest, True))
        return items

    minimum, maximum = spec.min_items, spec.max_items
    for position in range(prefix_length + 1):
        if maximum is not None and position >= maximum:
            break
        if flatten(document, make_node(items_at(position))).false_at is not None:
            maximum = position if maximum is None else min(maximum, position)
            break
    if maximum is not None and maximum < minimum:
        builder.unsatisfiable(
            f"{spec.pointer}: minItems {minimum} exceeds what maxItems/items allow ({maximum})"
        )
        return None
    unique = spec.unique is not None and (maximum is None or maximum > 1)
    contains = _distinct_contains(spec.contains)
    if len(contains) > 1:
        builder.report(
            [
                Unsupported(
                    "contains",
                    f"{spec.pointer}/contains",
                    "several 'contains' on one array (from allOf) are not supported",
                )
            ]
        )
        contains = contains[:1]
    contains_location, needed = contains[0] if contains else (None, 0)
    if maximum is not None and needed > maximum:
        builder.unsatisfiable(f"{spec.pointer}: minContains {needed} exceeds maxItems {maximum}")
        return None
    domain = _finite_domains(builder, spec, items_at, prefix_length, maximum) if unique else None
    if domain is not None:
        return build_unique_array(
            builder, spec, domain, minimum=minimum, maximum=maximum,
            contains=contains_location, needed=needed,
        )  # fmt: skip
    limit = options.max_array_expansion
    horizon = max(prefix_length, minimum, 1)  # positions beyond are alike and need no count
    if maximum is not None and maximum > limit and horizon <= limit and options.lenient:
        builder.warn(
            f"maxItems {maximum} at {spec.pointer} dropped (lenient): above max_array_expansion"
        )
        maximum = None
    top = maximum if maximum is not None else horizon
    if top > limit:
        raise LimitExceededError(
            f"minItems/maxItems/prefixItems count {top} at {spec.pointer}", limit,
            hint="raise max_array_expansion (or pass lenient=True to drop a large maxItems)",
        )  # fmt: skip

    def capped(position: int) -> int:
        return position if maximum is not None else min(position, horizon)

    item_symbols: dict[int, tuple[str, str | None]] = {}

    def item(position: int) -> tuple[str, str | None]:
        key = min(position, prefix_length)
        if key not in item_symbols:
            base = items_at(key)
            with_contains = (
                builder.symbol(base + [(contains_location, True)])
                if contains_location is not None
                else None
            )
            item_symbols[key] = (builder.symbol(base), with_contains)
        return item_symbols[key]

    start = (0, 0)
    transitions: dict[tuple, list[tuple[str, tuple]]] = {}
    stack = [start]
    while stack:
        state = stack.pop()
        if state in transitions:
            continue
        count, matched = state
        edges: list[tuple[str, tuple]] = []
        if maximum is None or count < maximum:
            plain, with_contains = item(count)
            following = capped(count + 1)
            edges.append((plain, (following, matched)))
            if with_contains is not None:
                edges.append((with_contains, (following, min(matched + 1, needed))))
        transitions[state] = edges
        stack.extend(target for _, target in edges)
    final = [s for s in transitions if s[0] >= minimum and s[1] >= needed]
    return list_machine(builder, transitions, start, final, "n")


def _finite_domains(
    builder: SchemaBuilder,
    spec: ArraySpec,
    items_at: Callable[[int], list],
    prefix_length: int,
    maximum: int | None,
) -> Callable[[int], list] | None:
    """The finite values of each position, for ``uniqueItems``
    (:mod:`structgen.schema.unique_items`); ``None``, reported as unsupported, when a position
    admits infinitely many."""
    domains: dict[int, list] = {}
    last = prefix_length if maximum is None else min(prefix_length, maximum - 1)
    for position in range(last + 1):
        values = finite_domain(builder, items_at(position))
        if values is None:
            builder.report(
                [
                    Unsupported(
                        "uniqueItems",
                        spec.unique or spec.pointer,
                        "all items must differ, which a grammar can require only when each "
                        "item has finitely many values (an enum, const, booleans or null); "
                        f"item {position} does not",
                    )
                ]
            )
            return None
        domains[position] = values
    return lambda position: domains.get(min(position, prefix_length), [])


def _distinct_contains(contains: list) -> list:
    """``contains`` entries with equal subschemas (and base URI) merged, keeping the largest
    count."""
    merged: dict[tuple, tuple] = {}
    for location, needed in contains:
        key = (json.dumps(location.schema, sort_keys=True, default=str), location.key[1:])
        if key not in merged or merged[key][1] < needed:
            merged[key] = (location, needed)
    return list(merged.values())
