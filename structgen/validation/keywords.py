"""The JSON Schema keywords that run regular expressions, with ECMA-262 semantics (and a decimal
``multipleOf``).

``pattern``, ``patternProperties``, ``additionalProperties`` and ``unevaluatedProperties`` (the
last two consult ``patternProperties``) as jsonschema implements them, with its ``re.search``
replaced by :func:`~structgen.validation.patterns.ecma_search`; messages are jsonschema's. A
pattern that cannot be searched (malformed, or a lone surrogate in the string) is reported as
a validation error where it is used, never as a traceback.

``multipleOf`` with a non-integer step is decimal, not float64 division: a number is a multiple
of ``m`` when the shortest ``repr`` of the double it reads as (an integer literal: its exact
value) is an integer times the shortest ``repr`` of ``m``, so ``0.3`` is a multiple of ``0.1``
(the compiler generates exactly these: :mod:`structgen.schema.decimal_multiples`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from jsonschema.exceptions import ValidationError
from referencing.jsonschema import lookup_recursive_ref

from structgen.validation.patterns import PatternError, ecma_search

__all__ = ["ecma_keywords"]

Keyword = Callable[[Any, Any, Any, Any], Iterator[ValidationError]]


def ecma_keywords(keywords: Iterable[str], *, draft: str) -> dict[str, Keyword]:
    """Our implementations of those of ``keywords`` (a draft's known keywords) that use regexes
    (and ``multipleOf``);
    ``draft`` is jsonschema's class name (2019-09 has its own ``unevaluatedProperties``)."""
    known = set(keywords)
    ours: dict[str, Keyword] = {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "unevaluatedProperties": _unevaluated_properties(legacy=draft == "Draft201909Validator"),
        "multipleOf": _multiple_of,
    }
    return {name: function for name, function in ours.items() if name in known}


def _decimal_value(number: Any) -> Fraction | None:
    """The exact value of a JSON number as read (a float by its shortest ``repr``); ``None``
    for infinities and NaN."""
    if isinstance(number, float):
        return Fraction(Decimal(repr(number))) if math.isfinite(number) else None
    if isinstance(number, Decimal):
        return Fraction(number) if number.is_finite() else None
    return Fraction(number)


def _multiple_of(
    validator: Any, step: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number"):
        return
    if isinstance(step, float):
        value, divisor = _decimal_value(instance), _decimal_value(step)
        failed = value is None or divisor is None or (value / divisor).denominator != 1
    else:
        failed = bool(instance % step)
    if failed:
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


def _extras_message(extras: list[Any]) -> tuple[str, str]:
    """(``'a', 'b'``, ``were``): the listed extras and the verb agreeing with their number."""
    return ", ".join(repr(extra) for extra in extras), "was" if len(extras) == 1 else "were"


def _matching_keys(patterns: Iterable[str], keys: Iterable[str]) -> tuple[set[str], list[str]]:
    """(keys some pattern finds a match in, messages of searches that could not run)."""
    found: set[str] = set()
    problems: list[str] = []
    patterns = list(patterns)
    for key in keys:
        for pattern in patterns:
            try:
                if ecma_search(pattern, key):
                    found.add(key)
                    break
            except PatternError as error:
                problems.append(str(error))
    return found, problems


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        found = ecma_search(pattern, instance)
    except PatternError as error:
        yield ValidationError(str(error))
        return
    if not found:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            try:
                found = ecma_search(pattern, key)
            except PatternError as error:
                yield ValidationError(str(error))
                continue
            if found:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    unnamed = [key for key in instance if key not in properties]
    matched, problems = _matching_keys(patterns, unnamed)
    for problem in problems:
        yield ValidationError(problem)
    extras = [key for key in unnamed if key not in matched]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")
        else:
            listed, verb = _extras_message(sorted(extras, key=str))
            yield ValidationError(
                f"Additional properties are not allowed ({listed} {verb} unexpected)"
            )


def _resolver_of(validator: Any) -> Any:
    """The validator's ``referencing`` resolver: jsonschema keeps it in the attribute
    ``_resolver`` and offers no public accessor (its own ``unevaluatedProperties`` reads it)."""
    return validator._resolver


def _unevaluated_properties(*, legacy: bool) -> Keyword:
    """``unevaluatedProperties`` of 2020-12, or of 2019-09 (``legacy``: ``$recursiveRef``, and
    ``properties``/``additionalProperties`` count every key they name)."""

    def evaluated(validator: Any, instance: dict[str, Any], schema: Any) -> set[str]:
        if validator.is_type(schema, "boolean"):
            return set()
        keys: set[str] = set()
        resolver = _resolver_of(validator)
        targets = []
        if (ref := schema.get("$ref")) is not None:
            targets.append(resolver.lookup(ref))
        if legacy and "$recursiveRef" in schema:
            targets.append(lookup_recursive_ref(resolver))
        if not legacy and (dynamic := schema.get("$dynamicRef")) is not None:
            targets.append(resolver.lookup(dynamic))
        for resolved in targets:
            inner = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
            keys |= evaluated(inner, instance, resolved.contents)
        if legacy:
            for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
                value = schema.get(keyword)
                if value is True:
                    keys |= instance.keys()
                elif validator.is_type(value, "object"):
                    keys |= value.keys() & instance.keys()
        else:
            if validator.is_type(properties := schema.get("properties"), "object"):
                keys |= properties.keys() & instance.keys()
            for keyword in ("additionalProperties", "unevaluatedProperties"):
                if (subschema := schema.get(keyword)) is not None:
                    keys |= {
                        key
                        for key, value in instance.items()
                        if next(validator.descend(value, subschema), None) is None
                    }
        keys |= _matching_keys(schema.get("patternProperties", {}), instance)[0]
        for key, subschema in schema.get("dependentSchemas", {}).items():
            if key in instance:
                keys |= evaluated(validator, instance, subschema)
        for keyword in ("allOf", "oneOf", "anyOf"):
            for subschema in schema.get(keyword, []):
                if next(validator.descend(instance, subschema), None) is None:
                    keys |= evaluated(validator, instance, subschema)
        if "if" in schema:
            if validator.evolve(schema=schema["if"]).is_valid(instance):
                keys |= evaluated(validator, instance, schema["if"])
                if "then" in schema:
                    keys |= evaluated(validator, instance, schema["then"])
            elif "else" in schema:
                keys |= evaluated(validator, instance, schema["else"])
        return keys

    def unevaluated_properties(
        validator: Any, unevaluated: Any, instance: Any, schema: Any
    ) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        seen = evaluated(validator, instance, schema)
        failed = [
            key
            for key in instance
            if key not in seen
            and next(validator.descend(instance[key], unevaluated, path=key, schema_path=key), None)
            is not None
        ]
        if not failed:
            return
        if unevaluated is False:
            listed, verb = _extras_message(sorted(failed, key=str))
            yield ValidationError(
                f"Unevaluated properties are not allowed ({listed} {verb} unexpected)"
            )
        else:
            listed, verb = _extras_message(failed)
            yield ValidationError(
                "Unevaluated properties are not valid under the given schema "
                f"({listed} {verb} unevaluated and invalid)"
            )

    return unevaluated_properties
