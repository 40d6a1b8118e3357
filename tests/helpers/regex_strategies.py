"""Hypothesis strategies for regular expressions (Python syntax, re.ASCII semantics)."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import strategies as st

LITERALS = list("abcxyz019-_ ") + ["é", "日", "😀", r"\.", r"\n", r"\t", r"\x41", r"\u00e9", r"\{"]
CLASSES = [
    r"\d", r"\w", r"\s", r"\D", ".", "[a-c]", "[^a]", "[0-9a-f]", "[é-ë]", "[^\\d]", "[-x]",
    "[日本]",
]
QUANTIFIERS = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,2}", "*?", "{2,}"]


def _atom() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(LITERALS), st.sampled_from(CLASSES))


def _quantify(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(strategy, st.sampled_from(QUANTIFIERS)).map(lambda pair: pair[0] + pair[1])


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    concatenation = st.lists(children, min_size=1, max_size=4).map("".join)
    alternation = st.lists(children, min_size=2, max_size=3).map("|".join)
    group = st.one_of(alternation, concatenation).map(lambda body: f"(?:{body})")
    capture = alternation.map(lambda body: f"({body})")
    return st.one_of(concatenation, _quantify(group), _quantify(capture))


def regexes() -> st.SearchStrategy[str]:
    """Random small regexes that Python's re compiles."""
    leaves = _quantify(_atom())
    pattern = st.recursive(leaves, _extend, max_leaves=8)
    with_flags = st.tuples(st.sampled_from(["", "", "(?i)", "(?s)"]), pattern).map("".join)
    return with_flags.filter(_compiles)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern, re.ASCII)
    except re.error:
        return False
    return True


def interegular_regexes() -> st.SearchStrategy[str]:
    """:func:`regexes` restricted to the syntax interegular reads with ``re.ASCII`` meaning.

    interegular has no ``\\u`` escapes and folds case the Unicode way, so ``(?i)`` patterns
    keep to ASCII letters (with ``re.ASCII`` only those have a case). Patterns are smaller than
    :func:`regexes`: interegular's FSM constructions grow fast with nested repeats.
    """
    pattern = st.recursive(_quantify(_atom()), _extend, max_leaves=4)
    with_flags = st.tuples(st.sampled_from(["", "", "(?i)", "(?s)"]), pattern).map("".join)
    return with_flags.filter(_compiles).filter(_interegular_compatible)


def _interegular_compatible(pattern: str) -> bool:
    if "\\u" in pattern:
        return False
    if "(?i)" in pattern:
        return all(ord(c) < 128 or c.lower() == c.upper() for c in pattern)
    return True


# Leftmost-first matching (lark terminals): small alphabets so that ordered alternation, lazy
# and greedy repeats, nullable loop bodies and one-character lookarounds meet often.
LEFTMOST_ATOMS = ["a", "b", "c", r"\\", '"', "[ab]", "[^a]", ".", r"\n", "é"]
LEFTMOST_QUANTIFIERS = ["", "", "*", "+", "?", "*?", "+?", "??", "{1,2}", "{0,2}?", "{2,}"]
LOOKAROUNDS = ["(?=a)", "(?!a)", "(?<=b)", r"(?<!\\)", "(?![ab])", "(?<=[^a])"]
LEFTMOST_ALPHABET = "abc\\\"\né"


def _leftmost_quantify(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pairs = st.tuples(strategy, st.sampled_from(LEFTMOST_QUANTIFIERS))
    return pairs.map(lambda pair: pair[0] + pair[1])


def _leftmost_extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    concatenation = st.lists(children, min_size=1, max_size=4).map("".join)
    alternation = st.lists(children | st.just(""), min_size=2, max_size=3).map("|".join)
    group = st.one_of(alternation, concatenation).map(lambda body: f"(?:{body})")
    return st.one_of(concatenation, _leftmost_quantify(group), group)


def leftmost_regexes(*, lookaround: bool = False) -> st.SearchStrategy[str]:
    """Small regexes whose leftmost-first match differs from their longest one.

    Alternations (with empty branches), lazy and greedy quantifiers over nullable bodies, and
    with ``lookaround`` one-character lookarounds anywhere (some of them at a terminal's edge,
    which lark-terminal compilation refuses).
    """
    atoms = st.sampled_from(LEFTMOST_ATOMS)
    if lookaround:
        atoms = atoms | st.sampled_from(LOOKAROUNDS)
    pattern = st.recursive(_leftmost_quantify(atoms), _leftmost_extend, max_leaves=6)
    return pattern.filter(_compiles)


def leftmost_texts() -> st.SearchStrategy[str]:
    """Short texts over the characters :func:`leftmost_regexes` draws."""
    return st.text(alphabet=LEFTMOST_ALPHABET, max_size=7)


@st.composite
def dfa_tables(
    draw: st.DrawFn, max_states: int = 24, max_classes: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """A random DFA table (``[states, classes]`` int32, -1 for no move) and its acceptance:
    unreachable, dead and equivalent states included."""
    states = draw(st.integers(1, max_states))
    classes = draw(st.integers(1, max_classes))
    moves = st.integers(-1, states - 1)
    cells = draw(st.lists(moves, min_size=states * classes, max_size=states * classes))
    accepting = draw(st.lists(st.booleans(), min_size=states, max_size=states))
    return (
        np.array(cells, dtype=np.int32).reshape(states, classes),
        np.array(accepting, dtype=bool),
    )
