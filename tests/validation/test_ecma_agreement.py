"""The compiler's ECMA-262 patterns (:mod:`structgen.regex.ecma` → search language → code-point
DFA, as ``pattern`` is compiled in :mod:`structgen.schema.strings`) agree with ``regress``, an
independent ECMA-262 engine, and so with ``structgen validate``: JSON Schema patterns are
searched, so a string is in the compiled language exactly when ``regress`` finds a match."""

from __future__ import annotations

import pytest
import regress
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.regex.codepoint_dfa import DEFAULT_MAX_SIZE, DEFAULT_MAX_STATES, CodePointDFA
from structgen.schema.strings import pattern_language
from structgen.validation import DocumentValidator

LITERALS = ["a", "b", "_", "1", " ", "-", "é", "Ω", "😀", "\\.", "\\n", "\\t", "\\x41",
            "\\u00e9", "\\u{1F600}", "\\cJ", "\\/", "\\$"]  # fmt: skip
CLASSES = ["\\d", "\\w", "\\s", "\\D", "\\W", "\\S", ".", "[a-c]", "[^a]", "[é-ë]", "[^\\d]",
           "[\\s\\S]", "[^]", "[\\w-]", "\\p{L}", "\\P{Lu}", "\\p{Nd}", "[\\p{Ll}1]"]  # fmt: skip
QUANTIFIERS = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,2}", "*?", "+?", "{2,}"]
# Characters on which the dialects differ: non-ASCII letters and digits, line terminators,
# Unicode spaces, astral code points.
ALPHABET = "ab_1AΩé٣ \t\n\r\u2028\ufeff\u00a0😀-."


def _atoms() -> st.SearchStrategy[str]:
    quantified = st.tuples(st.sampled_from(LITERALS + CLASSES), st.sampled_from(QUANTIFIERS))
    return quantified.map("".join) | st.sampled_from(["^", "$"])


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    concatenation = st.lists(children, min_size=1, max_size=4).map("".join)
    alternation = st.lists(children, min_size=2, max_size=3).map("|".join)
    body = concatenation | alternation
    group = st.tuples(st.sampled_from(["(?:", "("]), body, st.sampled_from(QUANTIFIERS))
    return concatenation | alternation | group.map(lambda t: f"{t[0]}{t[1]}){t[2]}")


PATTERNS = st.recursive(_atoms(), _extend, max_leaves=6)
TEXTS = st.lists(st.text(alphabet=ALPHABET, max_size=6), min_size=1, max_size=6)


def compiled_search(pattern: str) -> CodePointDFA:
    """The language the compiler gives ``{"pattern": pattern}``, as a code-point DFA."""
    node = pattern_language(
        pattern, "#/pattern", max_states=DEFAULT_MAX_STATES, max_size=DEFAULT_MAX_SIZE
    )
    return CodePointDFA.from_node(node)


def ecma_test(pattern: str, text: str) -> bool:
    """``new RegExp(pattern, "u").test(text)``, by regress."""
    return regress.Regex(pattern, "u").find(text) is not None


@settings(deadline=None)  # the first \p{…} builds Unicode tables
@given(PATTERNS, TEXTS)
def test_compiled_patterns_agree_with_regress(pattern: str, texts: list[str]) -> None:
    """And ``structgen validate`` accepts exactly what the engine can generate."""
    dfa = compiled_search(pattern)
    validator = DocumentValidator({"type": "string", "pattern": pattern})
    for text in texts:
        expected = ecma_test(pattern, text)
        assert dfa.accepts(text) == expected, (pattern, text)
        assert validator.is_valid(text) == expected, (pattern, text)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"^\w+$", "abç1", False),
        (r"^\d$", "\u0663", False),
        (r"^\s$", "\ufeff", True),
        (r"^.$", "\u2028", False),
        (r"^.$", "😀", True),
        (r"^a$", "a\n", False),
        (r"(^a|b$)+", "xab", True),
        (r"c$|^x", "abc", True),
        (r"^\p{Letter}+$", "Straße", True),
        (r"a]", "xa]", True),  # Annex B, which the compiler's parser also accepts
    ],
)
def test_known_differences_from_python_re(pattern: str, text: str, expected: bool) -> None:
    assert compiled_search(pattern).accepts(text) is expected
    assert DocumentValidator({"pattern": pattern}).is_valid(text) is expected
