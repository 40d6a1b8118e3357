"""Oracle-side helpers for byte automata: walk one over bytes, and split a text between regexes."""

from __future__ import annotations

import re

from structgen.regex.dfa import ByteAutomaton


def accepts(automaton: ByteAutomaton, data: bytes, state: int = 0) -> bool:
    """Whether ``automaton`` accepts ``data`` read from ``state`` (its rows walked byte by byte)."""
    for byte in data:
        state = int(automaton.row(state)[byte])
        if state < 0:
            return False
    return automaton.accepts(state)


def splits(compiled: list[re.Pattern], text: str) -> bool:
    """Whether ``text`` splits into pieces that fully match ``compiled`` in order (brute force:
    a pattern's inline flags stay its own, which one joined regex would not allow)."""
    if len(compiled) == 1:
        return compiled[0].fullmatch(text) is not None
    return any(
        compiled[0].fullmatch(text[:cut]) and splits(compiled[1:], text[cut:])
        for cut in range(len(text) + 1)
    )
