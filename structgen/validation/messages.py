"""jsonschema's errors → :class:`~structgen.validation.issues.Issue` s: located, shortened,
ordered by location, with the closest sub-error of a failed ``anyOf``/``oneOf`` named."""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from structgen.validation.issues import Issue
from structgen.validation.patterns import PatternError

__all__ = ["describe", "to_issues"]

Locate = Callable[[Iterable[str | int]], str]

_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60
_SHORT.maxdict = _SHORT.maxlist = 4
_SHORT.maxlevel = 2


def describe(error: ValidationError, locate: Locate) -> str:
    """jsonschema's message, with a huge instance shortened, the reason of a failed format
    check added (why a ``regex`` is not one) and the closest sub-error added."""
    message = str(error.message)
    shown = repr(error.instance)
    if len(shown) > 100 and shown in message:
        message = message.replace(shown, _SHORT.repr(error.instance), 1)
    if error.validator == "format" and isinstance(error.cause, PatternError):
        message += f" ({error.cause})"
    closest = best_match(error.context) if error.context else None
    if closest is None:
        return message
    deeper = len(closest.absolute_path) > len(error.absolute_path)
    if deeper:  # a branch that failed further in is the likely intent
        message += f" (closest: {locate(closest.absolute_path)}: {describe(closest, locate)})"
    elif closest.validator != "type":  # e.g. the enum of type names when a type is misspelt
        message += f" (closest: {describe(closest, locate)})"
    return message


def _path_key(path: Iterable[str | int]) -> tuple[tuple[int, Any], ...]:
    return tuple((0, item) if isinstance(item, int) else (1, item) for item in path)


def to_issues(
    errors: Iterable[ValidationError], locate: Locate, *, source: str, line: int | None = None
) -> list[Issue]:
    """One issue per error, ordered by location; repeats dropped (an ``allOf`` of metaschemas
    reports one root type error per vocabulary)."""
    ordered = sorted(errors, key=lambda error: _path_key(error.absolute_path))
    issues = (
        Issue(source, locate(error.absolute_path), describe(error, locate), line)
        for error in ordered
    )
    return list(dict.fromkeys(issues))
