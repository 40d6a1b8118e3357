"""Which ``format`` values are asserted, and how: jsonschema's checkers for each draft, with
``regex`` as ECMA-262 (:mod:`structgen.validation.patterns`) and ``iri``/``iri-reference`` from
the compiler's own grammars (:mod:`structgen.validation.formats`), so that what the engine
generates for those formats is what the validator accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import jsonschema

from structgen.validation.formats import FORMAT_REGEXES
from structgen.validation.patterns import PatternError, compile_pattern

__all__ = ["format_checker", "format_warnings"]

# Formats the drafts define; jsonschema checks some of them only with optional packages.
_STANDARD_FORMATS = frozenset(
    {
        "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
        "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
        "json-pointer", "relative-json-pointer", "regex", "color", "host-name", "ip-address",
    }
)  # fmt: skip
# The package jsonschema needs to check a format (all are structgen dependencies).
_FORMAT_PACKAGES = {
    "hostname": "fqdn", "idn-hostname": "idna", "idn-email": "idna", "duration": "isoduration",
    "date-time": "rfc3339-validator", "time": "rfc3339-validator", "uri": "rfc3986-validator",
    "uri-reference": "rfc3986-validator", "json-pointer": "jsonpointer",
    "relative-json-pointer": "jsonpointer", "uri-template": "uri-template", "color": "webcolors",
}  # fmt: skip
_IRI_DRAFTS = ("Draft7Validator", "Draft201909Validator", "Draft202012Validator")


def _is_regex(instance: object) -> bool:
    """ECMA-262 syntax; the :class:`PatternError` (its reason) becomes the error's cause."""
    if isinstance(instance, str):
        compile_pattern(instance)
    return True


@cache
def _iri_regex(name: str) -> re.Pattern[str]:
    return re.compile(FORMAT_REGEXES[name])


def _is_iri(instance: object) -> bool:
    return not isinstance(instance, str) or _iri_regex("iri").fullmatch(instance) is not None


def _is_iri_reference(instance: object) -> bool:
    return (
        not isinstance(instance, str) or _iri_regex("iri-reference").fullmatch(instance) is not None
    )


@cache
def format_checker(cls: type[jsonschema.protocols.Validator]) -> jsonschema.FormatChecker:
    """A copy of the draft class ``cls``'s checker with our ``regex`` and IRI checks (jsonschema's
    own checker objects are left untouched)."""
    base = cls.FORMAT_CHECKER
    checker = jsonschema.FormatChecker(())
    checker.checkers.update(base.checkers)
    if "regex" in base.checkers:
        checker.checks("regex", raises=PatternError)(_is_regex)
    if cls.__name__ in _IRI_DRAFTS:
        checker.checks("iri")(_is_iri)
        checker.checks("iri-reference")(_is_iri_reference)
    return checker


def format_warnings(
    formats: Iterable[str], checker: jsonschema.FormatChecker, *, draft: str, source: str
) -> list[str]:
    """One line per format of ``formats`` that ``checker`` does not check, saying why."""
    lines = []
    for name in sorted(set(formats) - set(checker.checkers)):
        package = _FORMAT_PACKAGES.get(name)
        if package is not None:
            why = f"jsonschema needs the package {package!r} for it: pip install {package}"
        elif name in _STANDARD_FORMATS:
            why = f"not a format of {draft}"
        else:
            why = "unknown format"
        lines.append(f"{source}: format {name!r} is not checked ({why})")
    return lines
