"""The JSON Schema metaschemas (and 2019-09/2020-12 vocabularies), read from the data files of
``jsonschema-specifications`` — the very documents jsonschema validates with — without
importing that package: its import builds a ``referencing`` registry (referencing and attrs,
~30 ms of a fresh process's first compile), which :mod:`~structgen.validation.quick_check`
does not need to read a metaschema.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib.util import find_spec
from typing import Any

__all__ = ["metaschemas"]

_PACKAGE = "jsonschema_specifications"


@cache
def metaschemas() -> dict[str, Any]:
    """Every schema the package ships, by its URI (its ``$id``, or ``id`` before draft 6,
    without a trailing ``#``), read once per process."""
    found: dict[str, Any] = {}
    for path in _files(_folder()):
        with open(path, encoding="utf-8") as stream:
            contents = json.load(stream)
        uri = contents.get("$id", contents.get("id")) if isinstance(contents, dict) else None
        if isinstance(uri, str):
            found[uri.rstrip("#")] = contents
    return found


def _folder() -> str:
    spec = find_spec(_PACKAGE)  # finds the package's folder; runs none of its code
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{_PACKAGE} is not installed", name=_PACKAGE)
    return os.path.join(next(iter(spec.submodule_search_locations)), "schemas")


def _files(root: str) -> list[str]:
    """The files two levels down (``draft7/metaschema.json``, ``draft202012/vocabularies/core``),
    hidden ones skipped, as the package itself reads them."""
    out = []
    for version in sorted(os.listdir(root)):
        folder = os.path.join(root, version)
        if version.startswith(".") or not os.path.isdir(folder):
            continue
        for child in sorted(os.listdir(folder)):
            path = os.path.join(folder, child)
            if child.startswith("."):
                continue
            if os.path.isdir(path):
                out += [os.path.join(path, n) for n in sorted(os.listdir(path)) if n[0] != "."]
            else:
                out.append(path)
    return out
