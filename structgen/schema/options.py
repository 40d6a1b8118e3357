"""Options of the JSON Schema compiler (:class:`SchemaOptions`)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from structgen.errors import ConfigurationError

__all__ = ["DEFAULT_MAX_WHITESPACE", "SchemaOptions"]

DEFAULT_MAX_WHITESPACE = 32


@dataclass(frozen=True)
class SchemaOptions:
    """How a JSON Schema becomes a grammar.

    whitespace
        ``"compact"``: no whitespace at all (``json.dumps(v, separators=(",", ":"))``).
        ``"flexible"``: a run of at most ``max_whitespace`` characters of ``[ \\t\\n\\r]`` on either
        side of every ``{ } [ ] , :`` (so ``json.dumps(v)`` and ``json.dumps(v, indent=n)`` are
        accepted while the nesting keeps the indentation within the bound). An int ``n`` is
        ``"flexible"`` with ``max_whitespace=n``. No whitespace before or after the document.
    property_order
        ``"any"``: object properties may come in any order; required properties are enforced
        exactly by tracking which have been seen (past eight keys whose only test is
        ``required``, the rules of each set of keys seen are made as decoding reaches it, with no
        bound; otherwise a subset construction bounded by ``max_object_states``, past which the
        required properties must keep schema order among themselves, with a warning).
        ``"schema"``: properties in the order the schema lists them (each at most once), then
        the additional ones — except in objects with conditions
        on which keys are present (``dependentRequired``, ``oneOf`` over required keys, ``not:
        {required}``), which need the keys seen tracked and so take the ``"any"`` machine.
    additional_properties_default
        ``True``: a schema without ``additionalProperties`` allows unlisted properties (JSON
        Schema). ``False``: in an object whose ``properties`` list some keys and which has no
        ``additionalProperties``, unlisted properties are forbidden unless a ``patternProperties``
        allows them (what most generators' strict modes do); objects that list no properties
        (``{}``, ``{"type": "object"}``, only ``propertyNames``) stay open.
    lenient
        Ignore keywords that cannot be enforced exactly (``not``, ``uniqueItems``, …) and limits on
        counts, each with a :class:`~structgen.schema.errors.SchemaWarning`, instead of raising.
    formats
        ``"assert"``: ``format`` is enforced for the formats we know (see
        :mod:`structgen.validation.formats`); others are ignored with a warning. ``"strict"``:
        the same, but an unknown format is unsupported (an error unless ``lenient``).
        ``"annotation"``: ``format`` is ignored, as JSON Schema 2019-09+ specify by default.
    escapes
        ``"all"``: inside strings any character may be written as a ``\\uXXXX`` escape (either hex
        case), as JSON allows. ``"canonical"``: printable ASCII only as itself, the way
        ``json.dumps`` (``ensure_ascii`` true or false) writes it; every other escape as with
        ``"all"``. Patterns and formats compile to far smaller automata (e.g. ``format: email``
        904 instead of 6061 byte-DFA states). Keys of unlisted properties are always canonical.
    default_draft
        The dialect of a schema without ``$schema``.
    validate_schema
        Check the schema against its meta-schema first (errors name the JSON pointer).
    max_*
        Limits (each error names the limit to raise): states of an object's member machine,
        positions counted in an array, the ``max_length_expansion`` up to which a length
        bound combined with a pattern or format is folded into one eager automaton (past it,
        a lazy product automaton reads the string: not a refusal), the
        ``maxLength``/``minLength`` of a string without one (``max_string_length``), automaton
        states and regex size for combined string constraints, ``anyOf``/``oneOf`` combinations,
        schema nodes.
    """

    whitespace: Literal["compact", "flexible"] | int = "flexible"
    max_whitespace: int = DEFAULT_MAX_WHITESPACE
    property_order: Literal["any", "schema"] = "any"
    additional_properties_default: bool = True
    lenient: bool = False
    formats: Literal["assert", "strict", "annotation"] = "assert"
    escapes: Literal["all", "canonical"] = "all"
    default_draft: Literal["2020-12", "2019-09", "7", "6", "4"] = "2020-12"
    validate_schema: bool = True
    max_object_states: int = 4096
    max_unique_states: int = 4096
    max_array_expansion: int = 1024
    max_length_expansion: int = 1024
    max_string_length: int = 1_000_000
    max_regex_states: int = 20_000
    max_regex_size: int = 200_000
    max_alternatives: int = 1024
    max_nonterminals: int = 200_000

    def __post_init__(self) -> None:
        if isinstance(self.whitespace, bool) or not (
            self.whitespace in ("compact", "flexible") or isinstance(self.whitespace, int)
        ):
            raise ConfigurationError(
                f"whitespace must be 'compact', 'flexible' or an int, got {self.whitespace!r}"
            )
        if isinstance(self.whitespace, int) and self.whitespace < 0:
            raise ConfigurationError(f"whitespace must be ≥ 0, got {self.whitespace}")
        if self.property_order not in ("any", "schema"):
            raise ConfigurationError(
                f"property_order must be 'any' or 'schema', got {self.property_order!r}"
            )
        if self.default_draft not in ("2020-12", "2019-09", "7", "6", "4"):
            raise ConfigurationError(
                "default_draft must be one of 2020-12, 2019-09, 7, 6, 4, "
                f"got {self.default_draft!r}"
            )
        if self.escapes not in ("all", "canonical"):
            raise ConfigurationError(f"escapes must be 'all' or 'canonical', got {self.escapes!r}")
        if self.formats not in ("assert", "strict", "annotation"):
            raise ConfigurationError(
                f"formats must be 'assert', 'strict' or 'annotation', got {self.formats!r}"
            )
        for item in fields(self):
            if item.name.startswith("max_") and (
                not isinstance(getattr(self, item.name), int) or getattr(self, item.name) < 0
            ):
                raise ConfigurationError(
                    f"{item.name} must be a non-negative int, got {getattr(self, item.name)!r}"
                )

    @property
    def whitespace_limit(self) -> int:
        """The longest whitespace run allowed between two tokens (0: compact)."""
        if self.whitespace == "compact":
            return 0
        if isinstance(self.whitespace, int):
            return self.whitespace
        return self.max_whitespace

    @classmethod
    def build(cls, options: SchemaOptions | None = None, **overrides: Any) -> SchemaOptions:
        """``options`` (or the defaults) with ``overrides`` applied; unknown names are an error."""
        base = options if options is not None else cls()
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigurationError(
                f"unknown schema option(s) {', '.join(unknown)}; "
                f"known options: {', '.join(sorted(known))}"
            )
        return replace(base, **overrides) if overrides else base
