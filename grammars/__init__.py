"""Bundled grammars (``.lark`` / ``.gbnf`` files), found by name with :func:`path_of`."""

from __future__ import annotations

from pathlib import Path

GRAMMARS_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the bundled grammars."""
    return sorted({p.stem for p in GRAMMARS_DIR.iterdir() if p.suffix in (".lark", ".gbnf")})


def path_of(name: str) -> Path | None:
    """The file of the bundled grammar ``name``, or None."""
    for suffix in (".lark", ".gbnf"):
        candidate = GRAMMARS_DIR / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None
