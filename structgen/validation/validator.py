"""The one validator: jsonschema's draft classes extended with ECMA-262 regex keywords
(:mod:`~structgen.validation.keywords`) and our format checks
(:mod:`~structgen.validation.format_checks`). ``structgen validate``, ``check-schema`` and
``example``, the compiler's oracle for ``enum``/``const``
(:meth:`structgen.schema.refs.SchemaDocument.validator`) and ``generate_json`` all build their
validators here, so they agree on every instance.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing import Specification
from referencing.jsonschema import specification_with

from structgen.validation.drafts import draft_class
from structgen.validation.format_checks import format_checker
from structgen.validation.keywords import ecma_keywords
from structgen.validation.references import refusing_registry
from structgen.validation.specifications import schemas_only

__all__ = ["make_validator", "metaschema_validator", "validator_class"]

OPAQUE = Specification.OPAQUE


@cache
def validator_class(cls: type[Validator]) -> type[Validator]:
    """The draft class ``cls`` with ECMA-262 regex keywords and its own format checker
    (jsonschema's classes and checkers are left untouched)."""
    keywords = ecma_keywords(cls.VALIDATORS, draft=cls.__name__)
    return extend(cls, keywords, format_checker=format_checker(cls))  # type: ignore[no-any-return]


def make_validator(
    schema: Any,
    *,
    draft: str | None = None,
    registry: Any = None,
    resolver: Any = None,
    format_assertion: bool = True,
    source: str = "<schema>",
) -> Validator:
    """A validator of ``schema`` (not meta-validated here: see
    :func:`~structgen.validation.schema_check.check_schema`).

    ``draft``: a short draft name (``"2020-12"``, ``"7"``…) overriding ``$schema``.
    ``registry``: where ``$ref`` s resolve (default: nothing is ever retrieved). ``resolver``: a
    ``referencing`` resolver positioned at ``schema``'s base URI, for a subschema of a larger
    document. ``format_assertion``: whether ``format`` is checked.
    """
    cls = validator_class(draft_class(schema, source=source, draft=draft))
    registry = refusing_registry() if registry is None else registry
    options: dict[str, Any] = {
        "registry": registry,
        "format_checker": cls.FORMAT_CHECKER if format_assertion else None,
    }
    if resolver is None:
        # The schema as a resource whose subresources are schemas only (what jsonschema would
        # make itself, but for referencing's reading of a mixed draft-7 ``dependencies``).
        dialect = specification_with(
            cls.ID_OF(cls.META_SCHEMA) or "urn:unknown-dialect", default=OPAQUE
        )
        resource = schemas_only(dialect).create_resource(schema)
        resolver = METASCHEMAS.combine(registry).resolver_with_root(resource)  # as jsonschema
    options["_resolver"] = resolver  # jsonschema has no public way to start at a subschema
    return cls(schema, **options)


@cache
def metaschema_validator(cls: type[Validator]) -> Validator:
    """The validator of the metaschema of draft class ``cls`` (formats asserted)."""
    meta_cls = validator_class(validator_for(cls.META_SCHEMA, default=cls))
    return meta_cls(cls.META_SCHEMA, format_checker=meta_cls.FORMAT_CHECKER)
