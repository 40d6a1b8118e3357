"""Every terminal of lark's ``common.lark`` compiles and means what it means in lark.

Each ``NAME`` of the installed ``lark/grammars/common.lark`` is imported alone
(``%import common.NAME`` / ``start: NAME``), compiled over a byte vocabulary and walked byte by
byte; lark's own Earley parser (``lexer="dynamic_complete"``) judges the same strings: a pool
of texts around numbers, names, strings and comments, and seeded random mutations of them.
"""

from __future__ import annotations

import functools
import random
import re
import warnings
from pathlib import Path

import lark
import pytest

from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.compiler import compile_grammar
from structgen.vocab import Vocabulary

COMMON = Path(lark.__file__).parent / "grammars" / "common.lark"
NAMES = sorted(set(re.findall(r"^(_?[A-Z][A-Z_]*)\s*:", COMMON.read_text(), re.MULTILINE)))
# fmt: off
POOL = [
    "0", "7", "42", "-1", "+5", "1.", ".5", "1.5", "-2.25", "1e5", "1E-3", "+1.5e+10", "1e",
    "a", "Z", "abc", "_x1", "x_1", "1x", " ", " \t ", "\n", "\r\n", "\n\n", "\r", "\x0c",
    '""', '"a"', '"a\\"b"', '"a\\\\"', '"\\\\"b"', '"\\"', '"a', '"a"b"', '"a\nb"', '"\\\\\\""',
    "# c", "#", "// c++", "/* c */", "/* a */ b */", "/* a */ */", "/**/", "/*/", "/* x",
    "/***/", "/* * / */", "-- sql", "--", "é", "ff",
]
# fmt: on
MUTATION_CHARS = '"\\*/ a1\n\t-#.eE+_é'
MUTANTS_PER_TEXT = 3


@functools.cache
def byte_vocab() -> Vocabulary:
    return Vocabulary([bytes([b]) for b in range(256)] + [b"</s>"], eos_ids=[256], name="bytes")


def _mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 2)):
        where = rng.randint(0, len(chars))
        kind = rng.choice(("insert", "delete", "replace", "double"))
        if kind == "insert" or not chars:
            chars.insert(where, rng.choice(MUTATION_CHARS))
        elif kind == "delete":
            del chars[min(where, len(chars) - 1)]
        elif kind == "replace":
            chars[min(where, len(chars) - 1)] = rng.choice(MUTATION_CHARS)
        else:
            chars[where:where] = chars[where:]
    return "".join(chars)


def _texts(name: str) -> list[str]:
    rng = random.Random(name)
    texts = list(POOL)
    texts += [_mutate(text, rng) for text in POOL for _ in range(MUTANTS_PER_TEXT)]
    return list(dict.fromkeys(texts))


def _accepts(compiled: CompiledGrammar, text: str) -> bool:
    matcher = compiled.matcher()
    return all(matcher.advance(byte) for byte in text.encode("utf-8")) and matcher.is_accepting()


def _lark_accepts(parser: lark.Lark, text: str) -> bool:
    try:
        parser.parse(text)
    except lark.exceptions.LarkError:
        return False
    return True


def test_the_names_were_found() -> None:
    assert {"ESCAPED_STRING", "C_COMMENT", "NUMBER", "WS", "CNAME"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_common_terminal_agrees_with_lark(name: str) -> None:
    grammar = f"%import common.{name}\nstart: {name}\n"
    try:
        parser = lark.Lark(grammar, parser="earley", lexer="dynamic_complete")
    except lark.exceptions.LarkError:
        # lark itself refuses it (a zero-width helper such as _STRING_INNER): so must we.
        with pytest.raises(Exception, match="empty string"):
            compile_grammar(grammar, byte_vocab(), syntax="lark")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = compile_grammar(grammar, byte_vocab(), syntax="lark")
    wrong = [
        (text, expected)
        for text in _texts(name)
        if _accepts(compiled, text) != (expected := _lark_accepts(parser, text))
    ]
    assert not wrong, f"{name}: (text, lark's verdict) where structgen differs: {wrong[:8]}"


@pytest.mark.parametrize(
    ("grammar", "accepted", "rejected"),
    [
        ("start: /a|ab/\n", ["a"], ["ab"]),
        ("%import common.C_COMMENT\nstart: C_COMMENT\n", ["/* a */"], ["/* a */ */"]),
        ("%import common.ESCAPED_STRING\nstart: ESCAPED_STRING\n", ['"a\\"b"'], ['"a"b"']),
        ('start: /"([^"\\\\]|\\\\.)*?"(?!")x/\n', ['"a"x'], ['""x"x']),
    ],
)
def test_issue_cases(grammar: str, accepted: list[str], rejected: list[str]) -> None:
    compiled = compile_grammar(grammar, byte_vocab(), syntax="lark")
    parser = lark.Lark(grammar, parser="earley", lexer="dynamic_complete")
    for text in accepted:
        assert _lark_accepts(parser, text) and _accepts(compiled, text)
    for text in rejected:
        assert not _lark_accepts(parser, text) and not _accepts(compiled, text)


def test_lookahead_at_the_end_is_refused_naming_the_terminal() -> None:
    with pytest.raises(Exception, match=r"terminal STAR .*lookahead at the end of a terminal"):
        compile_grammar("start: STAR\nSTAR: /\\*(?!\\/)/\n", byte_vocab(), syntax="lark")
