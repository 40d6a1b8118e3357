"""Grammar frontends (Lark, GBNF) → IR, the IR analyses, and the bundled grammars.

The oracles are independent parsers: lark's Earley parser (``lexer="dynamic_complete"``, the
IR's semantics) on the original Lark text, xgrammar on the original GBNF text, and the IR
printed back as Lark text (a round trip through a second route). Strings come from
``tests.helpers.grammar_sampler``; random grammars from ``tests.helpers.grammar_strategies``.
"""

from __future__ import annotations

import json
import random
import re
import string
import warnings
from functools import cache

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.errors import LimitExceededError
from structgen.grammar import (
    Grammar,
    GrammarError,
    GrammarWarning,
    Rule,
    Terminal,
    check_grammar,
    grammar_from_gbnf,
    grammar_from_lark,
    load_grammar,
    min_derivation_heights,
    nullable_nonterminals,
    productive,
    reachable,
)
from structgen.grammar.analysis import TerminalCollisionWarning
from structgen.grammar.bundled import available, path_of
from structgen.regex import parse_regex
from tests.helpers.grammar_sampler import sample, sample_terminal
from tests.helpers.grammar_strategies import grammar_to_lark, keyword_free_identifier, lark_grammars

LARK_GRAMMARS = ["json", "arithmetic", "sql_select", "csv", "python_expr"]
GBNF_GRAMMARS = ["json", "arithmetic"]
PYTHON_KEYWORDS = [
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
]
SQL_KEYWORDS = [
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "order",
    "by",
    "asc",
    "desc",
    "limit",
]


# -- oracles ----------------------------------------------------------------------------------


@cache
def lark_parser(text: str, start: str = "start") -> lark.Lark:
    # ambiguity="forest": acceptance only, without building (exponentially many) trees
    return lark.Lark(
        text,
        parser="earley",
        lexer="dynamic_complete",
        start=start,
        g_regex_flags=re.ASCII,
        ambiguity="forest",
    )


def lark_accepts(text: str, string_: str) -> bool:
    try:
        lark_parser(text).parse(string_)
    except lark.exceptions.UnexpectedInput:
        return False
    return True


@cache
def _xgrammar_compiled(gbnf: str):
    import xgrammar

    compiler = xgrammar.GrammarCompiler(xgrammar.TokenizerInfo([]), cache_enabled=False)
    return compiler.compile_grammar(xgrammar.Grammar.from_ebnf(gbnf))


def xgrammar_accepts(gbnf: str, string_: str) -> bool:
    """xgrammar's verdict on a whole string (a matcher with an empty vocabulary, fed text)."""
    import xgrammar

    matcher = xgrammar.GrammarMatcher(_xgrammar_compiled(gbnf), terminate_without_stop_token=True)
    return matcher.accept_string(string_) and matcher.is_terminated()


def samples(grammar: Grammar, seed: int, count: int, **options) -> list[str]:
    rng = random.Random(seed)
    return [sample(grammar, rng, **options) for _ in range(count)]


def mutations(strings: list[str], seed: int, count: int) -> list[str]:
    """Near misses: each a sample with one character deleted, inserted or replaced."""
    rng = random.Random(seed)
    alphabet = sorted(set("".join(strings)) | set(' "\\[]{},:0a-.\n'))
    out = []
    for _ in range(count):
        text = rng.choice(strings)
        index = rng.randint(0, len(text))
        kind = rng.choice(["delete", "insert", "replace"]) if text else "insert"
        if kind == "delete" and index < len(text):
            out.append(text[:index] + text[index + 1 :])
        elif kind == "replace" and index < len(text):
            out.append(text[:index] + rng.choice(alphabet) + text[index + 1 :])
        else:
            out.append(text[:index] + rng.choice(alphabet) + text[index:])
    return out


def _reject_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON (RFC 8259)")


def bundled_text(name: str, suffix: str) -> str:
    path = path_of(name).with_suffix(suffix)
    return path.read_text(encoding="utf-8")


# -- bundled grammars ---------------------------------------------------------------------------


def test_every_bundled_grammar_is_listed_and_starts_with_a_header_comment():
    assert set(available()) == set(LARK_GRAMMARS) | set(GBNF_GRAMMARS)
    for name in LARK_GRAMMARS:
        assert bundled_text(name, ".lark").startswith("// ")
    for name in GBNF_GRAMMARS:
        assert bundled_text(name, ".gbnf").startswith("# ")


@pytest.mark.parametrize("name", LARK_GRAMMARS)
def test_bundled_lark_grammar_samples_are_accepted_by_lark_and_the_round_trip(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a bundled grammar has no dead rules
        grammar = load_grammar(name)
    assert grammar.warnings == ()
    text = bundled_text(name, ".lark")
    round_trip = grammar_to_lark(grammar)
    count = 12 if name == "python_expr" else 30
    for string_ in samples(grammar, seed=len(name), count=count):
        assert lark_accepts(text, string_), string_
        assert lark_accepts(round_trip, string_), string_


@pytest.mark.parametrize("name", GBNF_GRAMMARS)
def test_bundled_gbnf_samples_are_accepted_by_xgrammar_and_the_lark_round_trip(name):
    gbnf = bundled_text(name, ".gbnf")
    grammar = load_grammar(f"{name}.gbnf")
    assert grammar.start == "root" and grammar.warnings == ()
    round_trip = grammar_to_lark(grammar)
    strings = samples(grammar, seed=7, count=40)
    for string_ in strings:
        assert xgrammar_accepts(gbnf, string_), string_
        assert lark_accepts(round_trip, string_), string_
    for near_miss in mutations(strings, seed=8, count=60):
        assert xgrammar_accepts(gbnf, near_miss) == lark_accepts(round_trip, near_miss), near_miss


@pytest.mark.parametrize("name", GBNF_GRAMMARS)
def test_lark_and_gbnf_versions_of_a_bundled_grammar_agree(name):
    lark_text, gbnf = bundled_text(name, ".lark"), bundled_text(name, ".gbnf")
    from_lark, from_gbnf = load_grammar(f"{name}.lark"), load_grammar(f"{name}.gbnf")
    for string_ in samples(from_lark, seed=3, count=25):
        assert xgrammar_accepts(gbnf, string_), string_
    for string_ in samples(from_gbnf, seed=4, count=25):
        assert lark_accepts(lark_text, string_), string_


def test_json_samples_are_json_and_json_edge_cases():
    for syntax in ("lark", "gbnf"):
        grammar = load_grammar(f"json.{syntax}")
        for string_ in samples(grammar, seed=11, count=150, max_depth=14):
            json.loads(string_, parse_constant=_reject_constant)
    text = bundled_text("json", ".lark")
    good = [
        ' {"a" : [1, -0.5e+3, "\\u00e9\\n", true, null, {}]} ',
        "0",
        '"\x7f\u00e9"',
        "[ ]",
        "-0.0E-0",
    ]
    bad = [
        "01",
        "+1",
        "1.",
        ".5",
        "[1,]",
        '"\x01"',
        '"\\x41"',
        "NaN",
        "{1: 2}",
        "tru",
        '{"a" "b"}',
        "",
    ]
    assert all(lark_accepts(text, s) for s in good)
    assert not any(lark_accepts(text, s) for s in bad)


def test_python_expr_samples_are_python_expressions():
    grammar = load_grammar("python_expr")
    for string_ in samples(grammar, seed=5, count=300):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            compile(string_.lstrip(" \t"), "<sample>", "eval")  # eval() strips leading blanks
    text = bundled_text("python_expr", ".lark")
    good = [
        "f(x, [1, 2.5e-3])[0].y ** -2 if not a in b else lambda n: n % 7",
        "x[1:, ::2]",
        "'a' \"b\"",
        "a is not b not in c",
        "(1,)",
        "{1: lambda: 0}",
        "True.real",
        "~-+x // y @ z",
    ]
    bad = [
        "for",
        "a andb",
        "1.real",
        "lambda x, y: 0",
        "a and(b)",
        "x[]",
        "f(,)",
        "01",
        "'\\N{DASH}'",
    ]
    assert all(lark_accepts(text, s) for s in good)
    assert not any(lark_accepts(text, s) for s in bad)


def test_sql_select_examples():
    text = bundled_text("sql_select", ".lark")
    good = [
        "SELECT * FROM t",
        "select a, t.b from items where a = 1 and not (b <> 'x''y' or c >= -2.5)"
        " order by a DESC, b limit 10;",
        "  Select name\nFROM people\tWHERE age>18 OR age<=-1  ",
        "SELECT fromage FROM selection",
    ]
    bad = [
        "selecta from t",
        "select from from t",
        "SELECT * FROM t WHERE(a=1)",
        "SELECT * FROM t LIMIT 1.5",
        "SELECT * FROM t ORDER BY",
        "SELECT a b FROM t",
        "SELECT * FROM t WHERE a = 'x",
    ]
    assert all(lark_accepts(text, s) for s in good)
    assert not any(lark_accepts(text, s) for s in bad)


def test_csv_examples():
    text = bundled_text("csv", ".lark")
    good = ['name,comment\r\nAda,"said ""hi"", then\nleft"\n', "\n", ",,\n", "a b ,é\n1,2\n"]
    bad = ["a,b", 'a"b\n', '"a"b\n', '"a\n', "a\rb\n"]
    assert all(lark_accepts(text, s) for s in good)
    assert not any(lark_accepts(text, s) for s in bad)


@pytest.mark.parametrize(
    ("name", "keywords", "ignore_case"),
    [("python_expr", PYTHON_KEYWORDS, False), ("sql_select", SQL_KEYWORDS, True)],
)
def test_names_are_exactly_the_identifiers_that_are_not_keywords(name, keywords, ignore_case):
    pattern = load_grammar(name).terminals["NAME"].pattern
    generated = keyword_free_identifier(keywords, ignore_case=ignore_case)
    rng = random.Random(0)
    words = [*keywords, *(k.upper() for k in keywords), "True", "None", "_", "x1", "1x", "é"]
    for keyword in keywords:
        words += [keyword[:cut] for cut in range(1, len(keyword))]
        words += [keyword + c for c in "a_0Z"] + ["_" + keyword]
    for _ in range(3000):
        words.append(
            "".join(
                rng.choice(string.ascii_letters + string.digits + "_")
                for _ in range(rng.randint(1, 7))
            )
        )
    folded = {k.lower() for k in keywords} if ignore_case else set(keywords)
    for word in words:
        expected = (
            word.isidentifier()
            and word.isascii()
            and (word.lower() if ignore_case else word) not in folded
        )
        assert bool(re.fullmatch(pattern, word, re.ASCII)) == expected, word
        assert bool(re.fullmatch(generated, word, re.ASCII)) == expected, word


# -- random Lark grammars -------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=lark_grammars(), seed=st.integers(0, 2**16))
def test_random_lark_grammars_samples_are_accepted_by_lark(text, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", TerminalCollisionWarning)  # lexer-only, language intact
        grammar = grammar_from_lark(text)
    round_trip = grammar_to_lark(grammar)
    for string_ in samples(grammar, seed=seed, count=5, max_terminals=10):
        assert lark_accepts(text, string_), (text, string_)
        assert lark_accepts(round_trip, string_), (round_trip, string_)


def test_lark_frontend_reads_templates_imports_flags_and_ignore():
    text = r"""
start: item ("," item)* [tail] sep{WORD, ";"} KEYWORD
?item: NUMBER | "+" | /a+b?/is
sep{x, s}: x (s x)~1..2
tail: "!"
KEYWORD: "select"i
%import common (NUMBER, WORD, WS)
%ignore WS
"""
    grammar = grammar_from_lark(text)
    assert grammar.ignore == ("WS",)
    assert grammar.terminals["PLUS"] == Terminal("PLUS", r"\+", literal="+")
    assert (
        grammar.terminals["KEYWORD"].pattern == "(?i:select)"
        and grammar.terminals["KEYWORD"].literal is None
    )
    anonymous = [t for t in grammar.terminals.values() if t.name.startswith("__ANON")]
    assert [t.pattern for t in anonymous] == ["(?s:(?i:a+b?))"]
    assert "sep{WORD,SEMICOLON}" in grammar.nonterminals
    assert all(type(name) is str for rule in grammar.rules for name in (rule.lhs, *rule.rhs))
    for string_ in ["1,+ , AB x;y SeLeCt", "ab!x;y;z select", "1\n,\t2 x ; y select"]:
        assert lark_accepts(text, string_)
    for string_ in samples(grammar, seed=1, count=30):
        assert lark_accepts(text, string_), string_


# -- GBNF frontend --------------------------------------------------------------------------------

# Features xgrammar also reads: checked against xgrammar and the lark round trip.
GBNF_FEATURES = {
    "escapes": r'root ::= "\x41\u00e9\U0001F600\t\n\r\\\"" [\x00-\x1F\[\]\u00e9-\u00ff\"]+',
    "classes": r"root ::= [a-cx-z_] [^a-z\n]* [a^-] [-a] [a-] [\]\[]",
    "repetitions": 'root ::= "a"{3} "b"{1,} ( "c" | "d" ){0,2} "e"{2,4} "f"{0} [0-9]{2,}',
    "layout": """
# a comment line
root ::= item ( "," item )*   # trailing comment
item ::=
    "x" | "y"
  | ( "(" root ")" )
""",
    "recursion": 'root ::= "(" root ")" root | ""\n',
    "left-recursion": 'root ::= root "+" term | term\nterm ::= [0-9]+ | "-" term',
}

# llama.cpp syntax xgrammar does not read: checked against the lark round trip and examples.
GBNF_EXTRAS = {
    "bounded-above": ('root ::= "a"{,2} "b"', ["b", "ab", "aab"], ["aaab", "a", ""]),
    "any-char": ('root ::= . "b"', ["xb", "\nb", "éb", "😀b"], ["b", "xxb"]),
    "empty-alternative": ('root ::= ( "a" | ) "b" |', ["", "b", "ab"], ["a", "aab"]),
    "stacked-postfix": ('root ::= "a"?+ "b"', ["b", "ab", "aaab"], ["a"]),
    "escaped-brackets": (r'root ::= "\[\]"', ["[]"], ["\\[\\]"]),
    "negated-empty-class": ('root ::= [^] "."', ["x.", "\n."], ["."]),
    # llama.cpp reads \- in classes and strings; its JSON-schema converter writes [a-z\-].
    "escaped-hyphen": (
        r'root ::= [a-z\-]+ "\-" "a\-b"', ["a-b-a-b", "--a-b"], ["a_b-a-b", "ab-ab"]
    ),
}


@pytest.mark.parametrize("name", sorted(GBNF_FEATURES))
def test_gbnf_features_agree_with_xgrammar(name):
    gbnf = GBNF_FEATURES[name]
    grammar = grammar_from_gbnf(gbnf)
    round_trip = grammar_to_lark(grammar)
    strings = samples(grammar, seed=2, count=25)
    for string_ in strings:
        assert xgrammar_accepts(gbnf, string_), string_
        assert lark_accepts(round_trip, string_), string_
    for near_miss in mutations(strings, seed=3, count=40):
        assert xgrammar_accepts(gbnf, near_miss) == lark_accepts(round_trip, near_miss), near_miss


@pytest.mark.parametrize("name", sorted(GBNF_EXTRAS))
def test_gbnf_llama_cpp_extras(name):
    gbnf, good, bad = GBNF_EXTRAS[name]
    grammar = grammar_from_gbnf(gbnf)
    round_trip = grammar_to_lark(grammar)
    assert all(lark_accepts(round_trip, s) for s in good)
    assert not any(lark_accepts(round_trip, s) for s in bad)
    for string_ in samples(grammar, seed=5, count=20):
        assert lark_accepts(round_trip, string_), string_


def test_gbnf_terminals_are_shared_and_named_after_their_source():
    grammar = grammar_from_gbnf('root ::= "a" [0-9] "a" [0-9] x\nx ::= [0-9]* "a"')
    assert set(grammar.terminals) == {'"a"', "[0-9]"}
    assert grammar.terminals['"a"'] == Terminal('"a"', "a", literal="a")
    assert Rule("x/star1", ("x/star1", "[0-9]")) in grammar.rules
    assert grammar.ignore == ()


# -- errors -------------------------------------------------------------------------------------


def test_lark_syntax_error_has_line_column_and_caret():
    with pytest.raises(GrammarError, match=r"<grammar>:2:\d+: .*\n  foo: \( \"b\"\n +\^") as info:
        grammar_from_lark('start: "a"\nfoo: ( "b"\nbar: "c"\n')
    assert info.value.line == 2 and info.value.column is not None
    with pytest.raises(
        GrammarError, match=r"my.lark:2:5: syntax error: unexpected character '@'"
    ) as info:
        grammar_from_lark('start: "a"\n  | @@\n', source_name="my.lark")
    assert (info.value.line, info.value.column) == (2, 5)


def test_gbnf_syntax_error_has_line_column_and_caret():
    with pytest.raises(
        GrammarError, match=r"<grammar>:3:14: unexpected '@'.*\n  item ::= \"x\" @ \"y\"\n {15}\^"
    ) as info:
        grammar_from_gbnf('root ::= item\n# comment\nitem ::= "x" @ "y"\n')
    assert (info.value.line, info.value.column) == (3, 14)
    with pytest.raises(GrammarError, match=r"1:14: unterminated string"):
        grammar_from_gbnf('root ::= "a" "b\n')
    with pytest.raises(GrammarError, match=r"unknown escape \\q"):
        grammar_from_gbnf(r'root ::= "\q"')
    with pytest.raises(GrammarError, match="negated token references"):
        grammar_from_gbnf("root ::= !<think>")  # (<think> itself names a special token)
    with pytest.raises(GrammarError, match=r"2:1: rule 'a' is defined twice \(first on line 1\)"):
        grammar_from_gbnf('a ::= "x"\na ::= "y"\nroot ::= a')
    with pytest.raises(GrammarError, match=r"empty character class"):
        grammar_from_gbnf("root ::= []")
    for unterminated in ("root ::= [a-\n", "root ::= [a-", "root ::= [a"):
        with pytest.raises(GrammarError, match=r"1:10: unterminated character class"):
            grammar_from_gbnf(unterminated)
    with pytest.raises(GrammarError, match=r"no rule named 'root'"):
        grammar_from_gbnf('start ::= "x"')


def test_undefined_rules_and_terminals_are_named():
    with pytest.raises(GrammarError, match=r"undefined rule 'b' \(used in rule 'start'\)") as info:
        grammar_from_lark('start: a b\na: "x"\n')
    assert info.value.line == 1
    with pytest.raises(GrammarError, match=r"undefined terminal 'B'"):
        grammar_from_lark('start: A B\nA: "x"\n')
    with pytest.raises(
        GrammarError, match=r"2:10: undefined rule 'missing' \(used in rule 'item'\)"
    ):
        grammar_from_gbnf('root ::= item\nitem ::= missing "x"')
    with pytest.raises(GrammarError, match=r"the start rule 'expr' is not defined"):
        grammar_from_lark('start: "x"\n', start="expr")
    with pytest.raises(GrammarError, match=r"terminal B has no pattern"):
        grammar_from_lark("%declare B\nstart: B\n")


def test_unproductive_rules_are_named():
    with pytest.raises(GrammarError, match=r"can never derive a string of terminals.*: loop"):
        grammar_from_lark('start: loop | "x"\nloop: "y" loop\n')
    with pytest.raises(GrammarError, match=r"2 rules can never derive .*: a, root"):
        grammar_from_gbnf('root ::= a\na ::= "x" root')


def test_unreachable_rules_warn_and_are_recorded():
    with pytest.warns(
        GrammarWarning,
        match=r"2 rules unreachable from the start rule 'start', ignored: island, orphan",
    ):
        grammar = grammar_from_lark('start: "x"\norphan: "y"\nisland: island "z" | "z"\n')
    assert grammar.warnings == (
        "<grammar>: 2 rules unreachable from the start rule 'start', ignored: island, orphan",
    )
    assert grammar.nonterminals == {"start"}
    with pytest.warns(GrammarWarning, match=r"1 rule unreachable .*'root', ignored: spare"):
        grammar = grammar_from_gbnf('root ::= "x"\nspare ::= [a-z]+')
    assert set(grammar.terminals) == {'"x"'}


def test_bad_terminal_regexes_name_the_terminal():
    with pytest.raises(
        GrammarError, match=r"<grammar>:2:1: terminal PAIR \(/\(a\)\\1/\): .*backreference"
    ) as info:
        grammar_from_lark("start: PAIR\nPAIR: /(a)\\1/\n")
    assert info.value.line == 2
    with pytest.raises(GrammarError, match=r"terminal __ANON_0 \(/\(\?=ab\)a/\): .*lookahead"):
        grammar_from_lark("start: /(?=ab)a/\n")
    with pytest.raises(
        GrammarError, match=r"terminal A \(/\^a/\): the anchor \^ depends on the position"
    ):
        grammar_from_lark("start: A\nA: /^a/\n")
    with pytest.raises(
        GrammarError, match=r"terminal A \(/a b/x\): the verbose flag 'x' is not supported"
    ):
        grammar_from_lark("start: A\nA: /a b/x\n")
    with pytest.raises(GrammarError, match=r"terminal A \(/a\*/\) matches the empty string"):
        grammar_from_lark("start: A\nA: /a*/\n")
    with pytest.raises(GrammarError, match=r"invalid terminal regex '\(a': missing \)"):
        grammar_from_lark("start: A\nA: /(a/\n")


def test_limits_are_explicit_and_named():
    with pytest.raises(
        LimitExceededError, match=r"number of rules .* exceeds the limit of 2; pass max_rules="
    ):
        grammar_from_lark('start: a a\na: "x" | "y" | "z"\n', max_rules=2)
    with pytest.raises(
        LimitExceededError,
        match=r"number of terminals .* exceeds the limit of 1; pass max_terminals=",
    ):
        grammar_from_gbnf('root ::= "x" "y"', max_terminals=1)
    with pytest.raises(
        LimitExceededError,
        match=r"repetition count 20000 .* exceeds the limit of 10000; pass max_repetition=",
    ):
        grammar_from_gbnf('root ::= "x"{1,20000}')
    with pytest.raises(LimitExceededError, match=r"number of rules .* limit of 50"):
        grammar_from_gbnf('root ::= "x"{0,100}', max_rules=50)


# -- analyses and check_grammar on the IR ----------------------------------------------------------


def ir(rules: list[tuple[str, tuple[str, ...]]], terminals: str = "ab", **options) -> Grammar:
    return Grammar(
        terminals={t: Terminal(t, t, literal=t) for t in terminals},
        rules=tuple(Rule(lhs, rhs) for lhs, rhs in rules),
        start=rules[0][0],
        **options,
    )


def test_nullable_productive_reachable_and_heights():
    grammar = ir(
        [
            ("S", ("A", "B")),
            ("A", ()),
            ("A", ("a", "A")),
            ("B", ("A",)),
            ("B", ("b",)),
            ("C", ("C", "a")),
            ("D", ("b",)),
            ("E", ("S", "S", "S")),
        ]
    )
    assert nullable_nonterminals(grammar) == {"S", "A", "B", "E"}
    assert productive(grammar) == {"S", "A", "B", "D", "E"}
    assert reachable(grammar) == {"S", "A", "B", "a", "b"}
    assert min_derivation_heights(grammar) == {"A": 1, "B": 1, "D": 1, "S": 2, "E": 3}


def test_check_grammar_validates_the_ir():
    with pytest.raises(GrammarError, match=r"undefined rule or terminal: 'X' \(used in rule 'S'\)"):
        check_grammar(ir([("S", ("a", "X"))]))
    with pytest.raises(GrammarError, match=r"names used both as a terminal and as a rule: a"):
        check_grammar(ir([("S", ("a",)), ("a", ("b",))]))
    with pytest.raises(GrammarError, match=r"ignored terminals are not defined: WS"):
        check_grammar(ir([("S", ("a",))], ignore=("WS",)))
    with pytest.raises(GrammarError, match=r"start rule 'S' is not defined"):
        check_grammar(Grammar(terminals={}, rules=(), start="S"))
    broken = Grammar({"T": Terminal("T", "a+", literal="a")}, (Rule("S", ("T",)),), "S")
    with pytest.raises(
        GrammarError, match=r"terminal T: its pattern 'a\+' is not the escaped literal"
    ):
        check_grammar(broken)
    empty_language = Grammar({"T": Terminal("T", "[^\\s\\S]")}, (Rule("S", ("T",)),), "S")
    with pytest.raises(GrammarError, match=r"terminal T .* matches no string"):
        check_grammar(empty_language)
    duplicated = check_grammar(ir([("S", ("a",)), ("S", ("a",))]))
    assert duplicated.rules == (Rule("S", ("a",)),)


def test_prebuilt_regex_ast_terminals_are_checked_and_sampled_from_the_ast():
    digits = Terminal("DIGITS", "one or more digits", node=parse_regex("[0-9]+"))
    grammar = check_grammar(Grammar({"DIGITS": digits}, (Rule("S", ("DIGITS",)),), "S"))
    assert all(re.fullmatch("[0-9]+", text) for text in samples(grammar, seed=0, count=20))
    nullable = Terminal("ANY", "anything", node=parse_regex("[0-9]*"))
    with pytest.raises(GrammarError, match=r"terminal ANY .* matches the empty string"):
        check_grammar(Grammar({"ANY": nullable}, (Rule("S", ("ANY",)),), "S"))


def test_sample_terminal_matches_its_regex():
    rng = random.Random(0)
    for pattern in [
        r"[a-c]+x?",
        r"\d{2,4}",
        r"(?i:ab)",
        r"[^\x00-\x7f]",
        r'"(?:[^"\\]|\\.)*"',
        "é|😀",
    ]:
        for _ in range(50):
            assert re.fullmatch(pattern, sample_terminal(pattern, rng), re.ASCII), pattern


# -- load_grammar ---------------------------------------------------------------------------------


def test_strings_are_never_read_as_files(tmp_path):
    """Text from an untrusted caller must not make structgen read (and echo) a local file."""
    secret = tmp_path / "secret.lark"
    secret.write_text('start: "TOP-SECRET"\n', encoding="utf-8")
    with pytest.raises(GrammarError, match=r"looks like a file name.*pathlib\.Path") as info:
        load_grammar(str(secret))
    assert "TOP-SECRET" not in str(info.value)
    passwd_like = tmp_path / "passwd"
    passwd_like.write_text("root:x:0:0:TOP-SECRET:/root:/bin/bash\n", encoding="utf-8")
    with pytest.raises(GrammarError) as info:
        load_grammar(str(passwd_like))  # read as (bad) grammar text, not as the file
    assert "TOP-SECRET" not in str(info.value)


def test_unreadable_grammar_files_are_named_errors(tmp_path):
    latin1 = tmp_path / "latin1.lark"
    latin1.write_bytes('start: "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(GrammarError, match=r"latin1\.lark is not UTF-8 text: byte 11 is 0xe9"):
        load_grammar(latin1)


def test_load_grammar_sources(tmp_path):
    assert load_grammar("json").source_name.endswith("json.lark")
    assert load_grammar("json", syntax="gbnf").start == "root"
    assert load_grammar("json.gbnf", start="start").start == "root"  # Lark's default, read as root
    assert load_grammar('start ::= root\nroot ::= "y"', start="start").start == "start"
    assert load_grammar("arithmetic.gbnf").source_name.endswith("arithmetic.gbnf")
    assert load_grammar('start: "x"').terminals["X"].literal == "x"
    assert load_grammar('root ::= "x" | "y"').start == "root"
    assert load_grammar('top: "x"\n', start="top").start == "top"
    lark_file = tmp_path / "mine.lark"
    lark_file.write_text("start: WORD\n%import common.WORD\n", encoding="utf-8")
    gbnf_file = tmp_path / "mine.gbnf"
    gbnf_file.write_text("root ::= [a-z]+\n", encoding="utf-8")
    assert load_grammar(lark_file).source_name == str(lark_file)
    assert load_grammar(gbnf_file).terminals["[a-z]"].pattern == "[a-z]"
    with pytest.raises(GrammarError, match=r"no grammar file at .*absent\.lark"):
        load_grammar(tmp_path / "absent.lark")
    with pytest.raises(GrammarError, match=r"is a directory, not a grammar file"):
        load_grammar(tmp_path)
    other = tmp_path / "grammar.txt"
    other.write_text('start: "x"\n', encoding="utf-8")
    with pytest.raises(Exception, match=r"pass syntax='lark' or syntax='gbnf'"):
        load_grammar(other)
    assert load_grammar(other, syntax="lark").start == "start"
    with pytest.raises(ValueError, match=r"syntax must be 'lark' or 'gbnf'"):
        load_grammar('start: "x"', syntax="ebnf")  # type: ignore[arg-type]
    with pytest.raises(GrammarError, match=r"\.lark:3:\d+: syntax error"):
        bad = tmp_path / "bad.lark"
        bad.write_text('start: a\na: "x"\n  ) oops\n', encoding="utf-8")
        load_grammar(bad)
