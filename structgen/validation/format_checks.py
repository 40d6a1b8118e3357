"""Which ``format`` values are asserted, and how: every format the compiler generates is checked
by the compiler's own definition (:mod:`structgen.validation.formats`: membership in its
language, run as a code-point automaton, widened where that language is a documented subset of
the RFC), so that what the engine generates is what the validator accepts and both follow the
RFCs (``23:59:60Z``, year ``0000``, no ``'`` in a URI template); ``regex`` is ECMA-262
(:mod:`structgen.validation.patterns`); the other formats (``idn-*``, draft-03's ``time`` and
``color``) keep jsonschema's checkers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

import jsonschema

from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.validation.formats import KNOWN_FORMATS, beyond_language, format_node
from structgen.validation.patterns import PatternError, compile_pattern

__all__ = ["format_checker", "format_predicate", "format_warnings"]

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
def _language(name: str) -> CodePointDFA:
    node = format_node(name)
    if node is None:  # pragma: no cover - KNOWN_FORMATS all have a language
        raise KeyError(name)
    return CodePointDFA.from_node(node)


@cache
def format_predicate(name: str) -> Callable[[object], bool]:
    """The check of format ``name`` (one of ``KNOWN_FORMATS``): non-strings pass. Its automaton
    is built on first use, so validators of schemas without that format never pay for it."""
    beyond = beyond_language(name)

    def check(instance: object) -> bool:
        if not isinstance(instance, str):
            return True
        return _language(name).accepts(instance) or (beyond is not None and beyond(instance))

    check.__name__ = f"is_{name.replace('-', '_')}"
    return check


def _ours(cls_name: str, defined: Iterable[str]) -> dict[str, str]:
    """Format name → our definition, for the formats draft ``cls_name`` defines."""
    names = {name: name for name in defined if name in KNOWN_FORMATS}
    if cls_name == "Draft3Validator":
        names.pop("time", None)  # draft-03's time is hh:mm:ss, without an offset
        names.update({"host-name": "hostname", "ip-address": "ipv4"})
    if cls_name in _IRI_DRAFTS:
        names.update({"iri": "iri", "iri-reference": "iri-reference"})
    return names


@cache
def format_checker(cls: type[jsonschema.protocols.Validator]) -> jsonschema.FormatChecker:
    """A copy of the draft class ``cls``'s checker with our checks for ``regex`` and the formats
    the compiler generates (jsonschema's own checker objects are left untouched)."""
    base = cls.FORMAT_CHECKER
    checker = jsonschema.FormatChecker(())
    checker.checkers.update(base.checkers)
    if "regex" in base.checkers:
        checker.checks("regex", raises=PatternError)(_is_regex)
    for name, definition in _ours(cls.__name__, base.checkers).items():
        checker.checks(name)(format_predicate(definition))
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
