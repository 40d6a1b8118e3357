"""JSON string encoding at the AST level, and ECMA-262 patterns (search semantics, anchors)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.regex import compile_byte_dfa
from structgen.regex.ast import CharSet
from structgen.regex.codepoint_dfa import CodePointDFA, search_language
from structgen.regex.ecma import PatternSyntaxError, PatternUnsupported, parse_ecma_regex
from structgen.regex.nodes import ANY_CHAR, concat, literal, repeat, star
from structgen.regex.parser import parse_regex
from structgen.regex.text import to_regex_text
from structgen.schema.json_strings import ANY_ENCODED_CHAR, encode_charset, hex_range, quoted
from structgen.schema.strings import string_language

ANY_STRING = compile_byte_dfa(quoted(star(ANY_CHAR)))
ANY_STRING_CANONICAL = compile_byte_dfa(quoted(star(ANY_CHAR), canonical=True))
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)


def _json_variants(text: str) -> set[str]:
    """What json.dumps writes, and hand-made escapes json.dumps never uses but JSON allows."""
    out = {json.dumps(text), json.dumps(text, ensure_ascii=False)}
    out.add(
        json.dumps(text).upper().replace("\\U", "\\u").replace("\\N", "\\n")
        .replace("\\T", "\\t").replace("\\R", "\\r").replace("\\B", "\\b").replace("\\F", "\\f")
        if text.isascii() and not any(c.isalpha() for c in text)
        else json.dumps(text)
    )  # fmt: skip
    out.add('"' + "".join(f"\\u{ord(c):04X}" if ord(c) < 0x10000 else c for c in text) + '"')
    return out


@settings(max_examples=300, deadline=None)
@given(texts)
def test_every_json_encoding_of_any_string_is_accepted(text):
    for encoded in _json_variants(text):
        assert json.loads(encoded) == text
        assert ANY_STRING.fullmatch(encoded.encode("utf-8")), encoded


@settings(max_examples=300, deadline=None)
@given(texts)
def test_canonical_mode_accepts_what_json_dumps_writes(text):
    for encoded in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
        assert ANY_STRING_CANONICAL.fullmatch(encoded.encode("utf-8"))
    if any(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in text):
        assert not ANY_STRING_CANONICAL.fullmatch(
            ('"' + "".join(f"\\u{ord(c):04x}" for c in text if ord(c) < 0x10000) + '"').encode()
        ) or all(not (0x20 <= ord(c) <= 0x7E) for c in text if ord(c) < 0x10000)


@pytest.mark.parametrize(
    "bad",
    [
        b'"\x01"',
        b'"a',
        b'"\\x41"',
        b'"\\ud800"',
        b'"\\udc00\\ud800"',
        b'"\\u12"',
        b'"\\uD83D"',
        b'"""',
        b'"\\"',
    ],
)
def test_invalid_json_strings_are_refused(bad):
    assert not ANY_STRING.fullmatch(bad)


def test_surrogate_pairs_and_hex_case():
    for text in ["😀", "𝄞", "\U0010ffff", "\U00010000"]:
        high, low = divmod(ord(text) - 0x10000, 0x400)
        for form in (
            f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}",
            f"\\u{0xD800 + high:04X}\\u{0xDC00 + low:04X}",
        ):
            assert json.loads(f'"{form}"') == text
            assert ANY_STRING.fullmatch(f'"{form}"'.encode())


@pytest.mark.parametrize(
    "low,high",
    [
        (0, 0xFFFF),
        (0x41, 0x5A),
        (0x7F, 0x100),
        (0xD7FF, 0xE000),
        (0x1234, 0x1234),
        (0x0FF0, 0x1010),
    ],
)
def test_hex_range_is_exact(low, high):
    dfa = compile_byte_dfa(hex_range(low, high))
    for value in list(range(max(0, low - 300), min(0xFFFF, high + 300) + 1)) + [0, 0xFFFF]:
        for text in (f"{value:04x}", f"{value:04X}"):
            assert dfa.fullmatch(text.encode()) == (low <= value <= high), text


@pytest.mark.parametrize(
    "charset",
    [
        CharSet.chars('a"\\/\n'),
        CharSet.of([(0x61, 0x7A), (0x1F600, 0x1F64F)]),
        CharSet.of([(0, 0x1F)]),
    ],
)
def test_encode_charset_matches_exactly_its_characters(charset):
    dfa = compile_byte_dfa(concat(literal('"'), encode_charset(charset), literal('"')))
    probes = [chr(c) for c in list(range(0x300)) + [0x1F5FF, 0x1F600, 0x1F64F, 0x1F650, 0x10FFFF]]
    for c in probes:
        inside = ord(c) in charset
        for encoded in {json.dumps(c), json.dumps(c, ensure_ascii=False)}:
            assert dfa.fullmatch(encoded.encode()) == inside, (c, encoded)


def test_minlength_maxlength_count_code_points_not_bytes_or_escapes():
    language = quoted(repeat(ANY_CHAR, 2, 3))
    dfa = compile_byte_dfa(language)
    for text, ok in [
        ("ab", True),
        ("a", False),
        ("😀😀", True),
        ("é日😀", True),
        ("abcd", False),
        ("\n\t", True),
    ]:
        for encoded in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
            assert dfa.fullmatch(encoded.encode()) == ok, encoded


def test_regex_text_round_trips():
    for node in [
        quoted(star(ANY_CHAR)),
        ANY_ENCODED_CHAR,
        hex_range(0x100, 0x2FF),
        parse_regex(r"[a-c]{2,5}(x|yz)*\."),
    ]:
        again = parse_regex(to_regex_text(node))
        left, right = compile_byte_dfa(node), compile_byte_dfa(again)
        for sample in [b'"a"', b"\\u0041", b"0100", b"abx.", b"aayzyz.", b"", b'"\\ud83d\\ude00"']:
            assert left.fullmatch(sample) == right.fullmatch(sample)


# -- ECMA-262 patterns ------------------------------------------------------------------------
def _python_equivalent(pattern: str) -> str:
    """For the shared subset: $ is end of input (Python's $ also matches before a final newline)."""
    return pattern.replace("$", r"\Z").replace("[^]", r"[\s\S]")


SEARCH_CASES = ["abc", "^a", "b$", "^a|b$", "^(a|b)*$", "(^a|b)c", "^\\d{2,3}$", "[^a]+",
                "\\w+@", "^$", "x?$", "(a$|b)", "^[a-b]{1,2}(?:0|1)*$", "a^b", "[^]",
                "^(?:ab)+$"]  # fmt: skip


@pytest.mark.parametrize("pattern", SEARCH_CASES)
@settings(max_examples=120, deadline=None)
@given(text=st.text(alphabet="ab01-_ é日😀\n@x", max_size=6))
def test_search_semantics_match_regexp_test(pattern, text):
    expected = re.search(_python_equivalent(pattern), text, re.ASCII) is not None
    assert (
        CodePointDFA.from_node(search_language(parse_ecma_regex(pattern))).accepts(text) == expected
    )


@pytest.mark.parametrize(
    "pattern,matching,not_matching",
    [
        (r"^\s$", ["\u00a0", "\ufeff", "\u2028", " ", "\t"], ["a", "\u200b"]),
        (r"^\d$", ["0", "9"], ["\u0660", "a"]),
        (r"^\w$", ["a", "_", "Z"], ["é", "\u00b5"]),
        (r"^.$", ["a", "😀", "é"], ["\n", "\r", "\u2028", "\u2029"]),
        (r"^[^]$", ["\n", "a"], ["", "ab"]),
        (r"^[]$", [], ["", "a"]),
        (r"^\u{1F600}$", ["😀"], ["a"]),
        (r"^\uD83D\uDE00$", ["😀"], ["a"]),
        (r"^\p{L}+$", ["héllo", "日本"], ["1", "a b"]),
        (r"^\P{L}$", ["1", " "], ["a"]),
        (r"^a{2}$", ["aa"], ["a", "aaa"]),
        (r"^a{,2}$", ["a{,2}"], ["aa"]),  # Annex B: not a quantifier, literal braces
        (r"^[\d-x]$", ["5", "-", "x"], ["a"]),
        (r"^\cJ$", ["\n"], ["J"]),
        (r"^\x41\0$", ["A\x00"], ["A0"]),
        (r"^[\b]$", ["\b"], ["b"]),
        (r"^\/$", ["/"], ["\\/"]),
    ],
)
def test_ecma_semantics(pattern, matching, not_matching):
    dfa = CodePointDFA.from_node(search_language(parse_ecma_regex(pattern)))
    for text in matching:
        assert dfa.accepts(text), text
    for text in not_matching:
        assert not dfa.accepts(text), text


@pytest.mark.parametrize(
    "pattern,feature",
    [("(?=a)", "lookahead"), ("(?!a)", "lookahead"), ("(?<=a)b", "lookbehind"),
     ("(a)\\1", "backreference"), ("(?<n>a)\\k<n>", "named backreference"),
     ("\\bword", "word boundary"), ("\\p{Script=Greek}", "Unicode property")],
)  # fmt: skip
def test_unsupported_ecma_features_are_named(pattern, feature):
    with pytest.raises(PatternUnsupported, match=feature):
        parse_ecma_regex(pattern)


@pytest.mark.parametrize(
    "pattern", ["(", "a)", "[a", "*a", "a{2,1}", "\\", "(?P<n>x)", "\\q", "(?i)a"]
)
def test_malformed_patterns(pattern):
    with pytest.raises(PatternSyntaxError):
        parse_ecma_regex(pattern)


def test_pattern_and_length_intersect_exactly():
    notes: list = []
    language = string_language(
        2,
        4,
        [("^[a-c]+x", "#/pattern")],
        [],
        max_states=10_000,
        max_size=100_000,
        unsupported=[],
        warnings=notes,
    )
    automaton = language.dfa if language.dfa is not None else CodePointDFA.from_node(language.node)
    for text in ["ax", "abx", "abcx", "abcx!", "aax", "x", "abcdx", "ab"]:
        expected = 2 <= len(text) <= 4 and re.match(r"[a-c]+x", text) is not None
        assert automaton.accepts(text) == expected, text


def test_fixed_parts_and_one_repetition_take_the_length_bound():
    language = string_language(
        0,
        5,
        [("^[A-Z][a-z]*$", "#/pattern")],
        [],
        max_states=1000,
        max_size=1000,
        unsupported=[],
        warnings=[],
    )
    assert language.node is not None, "no automaton needed"
    dfa = compile_byte_dfa(language.node)
    assert dfa.fullmatch(b"Abcde") and not dfa.fullmatch(b"Abcdef") and not dfa.fullmatch(b"abc")
