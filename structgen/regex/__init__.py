"""Regular expressions → byte-level DFAs.

``parse_regex`` reads Python-style regex syntax into a small AST of code-point sets;
``compile_byte_dfa`` turns it into a minimal, trimmed DFA over UTF-8 bytes, within explicit
state limits.
"""

from structgen.regex.ast import Alt, CharSet, Concat, Empty, Node, Repeat
from structgen.regex.dfa import ByteDFA, compile_byte_dfa, regex_to_dfa
from structgen.regex.parser import parse_regex

__all__ = [
    "Alt",
    "ByteDFA",
    "CharSet",
    "Concat",
    "Empty",
    "Node",
    "Repeat",
    "compile_byte_dfa",
    "parse_regex",
    "regex_to_dfa",
]
