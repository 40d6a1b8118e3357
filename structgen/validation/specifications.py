"""referencing's JSON Schema specifications, with only schemas taken for subresources.

referencing (0.37) reads every value of a draft-7 ``dependencies`` as a subschema once the first
one is: a list of required names after a schema dependency then fails on its ``$id``
(``'list' object has no attribute 'get'``). Wrapped here, a specification offers only objects
and booleans as subresources; everything else about it is referencing's own. Import this module
only where referencing is loaded already (a cached compile never loads it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import attrs
from referencing import Specification

__all__ = ["schemas_only"]


@cache
def schemas_only(specification: Specification[Any]) -> Specification[Any]:
    """``specification`` whose subresources are only schemas (objects and booleans)."""
    inner = specification.subresources_of

    def subresources_of(contents: Any) -> Iterable[Any]:
        return (each for each in inner(contents) if isinstance(each, (Mapping, bool)))

    return attrs.evolve(specification, subresources_of=subresources_of)
