"""One entry point for grammars: text, a file, or the name of a bundled grammar."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Literal

from structgen.errors import ConfigurationError
from structgen.grammar.analysis import DEFAULT_MAX_RULES, DEFAULT_MAX_TERMINALS
from structgen.grammar.bundled import available, grammars_dir, path_of
from structgen.grammar.errors import GrammarError
from structgen.grammar.gbnf_frontend import grammar_from_gbnf
from structgen.grammar.lark_frontend import grammar_from_lark
from structgen.ir import Grammar

__all__ = ["GrammarSyntax", "load_grammar"]

GrammarSyntax = Literal["lark", "gbnf"]
_SUFFIXES: dict[str, GrammarSyntax] = {".lark": "lark", ".gbnf": "gbnf"}
_DEFAULT_START: dict[GrammarSyntax, str] = {"lark": "start", "gbnf": "root"}


def load_grammar(
    source: str | os.PathLike[str],
    *,
    syntax: GrammarSyntax | None = None,
    start: str | None = None,
    max_rules: int = DEFAULT_MAX_RULES,
    max_terminals: int = DEFAULT_MAX_TERMINALS,
) -> Grammar:
    """Load a grammar into the IR.

    ``source`` is a path (``os.PathLike``: the only way to read a file), the name of a bundled
    grammar (``structgen.grammar.bundled.available()``: ``"json"``, or ``"json.gbnf"`` for one
    syntax), or grammar text. A string is never read as a file, so text from an untrusted
    caller cannot make structgen read local files. ``syntax`` defaults to the file's suffix
    (``.lark`` / ``.gbnf``) and, for text, to GBNF when the text defines rules with ``::=`` and
    to Lark otherwise. ``start`` defaults to ``"start"`` for Lark and ``"root"`` for GBNF; a
    GBNF grammar without a ``start`` rule also reads ``start="start"`` as ``"root"``, so callers
    can pass Lark's default to either syntax.
    """
    if syntax is not None and syntax not in _DEFAULT_START:
        raise ConfigurationError(f"syntax must be 'lark' or 'gbnf', got {syntax!r}")
    path = _as_path(source, syntax)
    if path is not None:
        return _load_file(
            path, syntax=syntax, start=start, max_rules=max_rules, max_terminals=max_terminals
        )
    text = str(source)
    if syntax is None:
        syntax = "gbnf" if _looks_like_gbnf(text) else "lark"
    if syntax == "gbnf":
        return grammar_from_gbnf(
            text, start=_gbnf_start(text, start), max_rules=max_rules, max_terminals=max_terminals
        )
    return grammar_from_lark(
        text, start=start or "start", max_rules=max_rules, max_terminals=max_terminals
    )


def _as_path(source: str | os.PathLike[str], syntax: GrammarSyntax | None) -> Path | None:
    """The file to read: only a path object names one; a string is text or a bundled name."""
    if isinstance(source, os.PathLike):
        path = Path(source)
        if path.is_dir():
            raise GrammarError(f"{path} is a directory, not a grammar file", source_name=str(path))
        if not path.is_file():
            raise GrammarError(f"no grammar file at {path}", source_name=str(path))
        return path
    if not isinstance(source, str):
        raise ConfigurationError(
            "expected grammar text, a pathlib.Path or a bundled grammar's name, "
            f"got {type(source).__name__}"
        )
    if "\n" in source or len(source) > 4096:
        return None
    bundled = _bundled(source, syntax)
    if bundled is not None:
        return bundled
    unknown = (
        _unknown_name(source.strip(), syntax) if _BARE_NAME.fullmatch(source.strip()) else None
    )
    if unknown is not None:
        raise GrammarError(unknown, source_name=source)
    if Path(source).suffix in _SUFFIXES and not _looks_like_gbnf(source):
        raise GrammarError(
            f"{source!r} looks like a file name, but a string is grammar text: strings are "
            f"never read as files. Pass pathlib.Path({source!r}) to load a grammar file "
            f"(bundled grammars: {', '.join(available())})",
            source_name=source,
        )
    return None


# A word with no rule syntax (no ``:``, ``::=``, quotes or operators) cannot be grammar text,
# so it was meant as a bundled grammar's name.
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\.(lark|gbnf))?")


def _unknown_name(name: str, syntax: GrammarSyntax | None) -> str | None:
    """The error for a bare word that names no bundled grammar, with the closest names (None
    for a file-like name with no close match: the caller says how to load a file)."""
    stem, _, suffix = name.partition(".")
    if suffix:
        syntax = _SUFFIXES[f".{suffix}"]
    names = [
        path.stem
        for path in sorted(grammars_dir().iterdir())
        if syntax is None or path.suffix == f".{syntax}"
    ]
    names = sorted(set(names))
    kind = f"bundled {syntax} grammar" if syntax else "bundled grammar"
    close = difflib.get_close_matches(stem, names, n=3, cutoff=0.6)
    if close:
        return f"no {kind} {name!r}; did you mean {' or '.join(repr(c) for c in close)}?"
    if suffix:
        return None
    return (
        f"no {kind} {name!r} (a single word is not grammar text); "
        f"the {kind}s are: {', '.join(names)}"
    )


def _bundled(name: str, syntax: GrammarSyntax | None) -> Path | None:
    """The bundled grammar ``name`` (``json``, ``json.gbnf``), of ``syntax`` when given."""
    stem, dot, suffix = name.partition(".")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", stem) or (dot and f".{suffix}" not in _SUFFIXES):
        return None
    if dot:
        syntax = _SUFFIXES[f".{suffix}"]
    if syntax is not None:
        candidate = grammars_dir() / f"{stem}.{syntax}"
        return candidate if candidate.is_file() else None
    return path_of(stem)


def _load_file(
    path: Path,
    *,
    syntax: GrammarSyntax | None,
    start: str | None,
    max_rules: int,
    max_terminals: int,
) -> Grammar:
    if syntax is None:
        syntax = _SUFFIXES.get(path.suffix.lower())
        if syntax is None:
            raise ConfigurationError(
                f"cannot tell the syntax of {path} from its suffix; "
                "pass syntax='lark' or syntax='gbnf'"
            )
    text = _read_text(path)
    if syntax == "gbnf":
        return grammar_from_gbnf(
            text,
            start=_gbnf_start(text, start),
            source_name=str(path),
            max_rules=max_rules,
            max_terminals=max_terminals,
        )
    return grammar_from_lark(
        text,
        start=start or "start",
        source_name=str(path),
        source_path=path,
        max_rules=max_rules,
        max_terminals=max_terminals,
    )


def _read_text(path: Path) -> str:
    """The file's text; unreadable or non-UTF-8 files are a GrammarError naming the file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise GrammarError(
            f"cannot read {path}: {error.strerror or error}", source_name=str(path)
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise GrammarError(
            f"{path} is not UTF-8 text: byte {error.start} is 0x{data[error.start]:02x}",
            source_name=str(path),
        ) from None


def _gbnf_start(text: str, start: str | None) -> str:
    if start is None or (
        start == "start" and not re.search(r"^\s*start\s*::=", text, re.MULTILINE)
    ):
        return "root"
    return start


def _looks_like_gbnf(text: str) -> bool:
    return re.search(r"^\s*[A-Za-z0-9_-]+\s*::=", text, re.MULTILINE) is not None
