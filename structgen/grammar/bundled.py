"""The bundled grammars (``.lark`` / ``.gbnf`` files of the top-level ``grammars/`` folder).

The folder is installed as the data package ``structgen.grammars`` (``package-dir`` in
``pyproject.toml``); it has no ``__init__.py``, so a checkout's root on ``sys.path`` never
makes it importable as a top-level ``grammars`` package.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from structgen.errors import ConfigurationError

__all__ = ["available", "grammars_dir", "path_of"]

_SUFFIXES = (".lark", ".gbnf")


@cache
def grammars_dir() -> Path:
    """The folder that holds the bundled grammar files."""
    spec = importlib.util.find_spec("structgen.grammars")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ConfigurationError(
            "the bundled grammars (structgen.grammars) are not installed; "
            "install structgen with `pip install .` or `make setup`"
        )
    return Path(locations[0]).resolve()


def available() -> list[str]:
    """Names of the bundled grammars."""
    return sorted({p.stem for p in grammars_dir().iterdir() if p.suffix in _SUFFIXES})


def path_of(name: str) -> Path | None:
    """The file of the bundled grammar ``name`` (``.lark`` before ``.gbnf``), or None."""
    for suffix in _SUFFIXES:
        candidate = grammars_dir() / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None
