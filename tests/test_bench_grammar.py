"""The grammar benchmark: its grammar translations, its oracle, its corpus, and a tiny run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from structgen.errors import ConfigurationError
from structgen_bench.grammar_bench import GRAMMARS
from structgen_bench.grammar_docs import CORPUS, check_corpus, json_documents
from structgen_bench.grammar_forms import (
    bundled_grammar,
    llguidance_lark,
    regex_to_ebnf,
    regex_to_rust,
    xgrammar_ebnf,
)
from structgen_bench.grammar_oracle import PrefixOracle
from structgen_bench.regex_tree import NotExpressible
from tests.helpers.maskbench_sample import sample_dir

PRIMARY_PEERS = ("xgrammar", "llguidance")


def test_corpus_documents_are_in_their_grammars() -> None:
    check_corpus()
    assert set(CORPUS) == set(GRAMMARS) - {"json"}
    assert all(10 <= len(docs) <= 20 for docs in CORPUS.values())


def test_a_corpus_document_outside_its_grammar_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CORPUS, "arithmetic", ("1 +",))
    with pytest.raises(ConfigurationError, match=r"arithmetic\[0\] '1 \+' is not in the grammar"):
        check_corpus(["arithmetic"])


@pytest.mark.parametrize(
    ("pattern", "flags", "ebnf", "rust"),
    [
        (r"\d+", 0, "[0-9]+", "[0-9]+"),
        (r"\w", 0, "[0-9A-Z_a-z]", "[0-9A-Z_a-z]"),
        (r"(?i:ab)", 0, "[Aa] [Bb]", "[Aa][Bb]"),
        ("sel", re.IGNORECASE, "[Ss] [Ee] [Ll]", "[Ss][Ee][Ll]"),
        (r"[^a]", re.IGNORECASE, "[^Aa]", "[^Aa]"),
        (r'"(?:[^"\\]|\\.)*"', 0, None, None),
        (r"[\W_]x|\s", 0, None, None),
        (r"a{2,5}|b{3}|c{1,}", 0, '("a"{2,5} | "b"{3} | "c"+)', None),
        (r"x?y*z+", 0, '"x"? "y"* "z"+', "x?y*z+"),
    ],
)
def test_regex_printers(pattern: str, flags: int, ebnf: str | None, rust: str | None) -> None:
    if ebnf is not None:
        assert regex_to_ebnf(pattern, flags) == ebnf
    if rust is not None:
        assert regex_to_rust(pattern, flags) == rust
    # The Rust form means what the pattern means (Python reads it once its \x{..} escapes are
    # spelled Python's way), on every short string over an alphabet that exercises it.
    printed = re.sub(r"\\x\{([0-9A-F]+)\}", lambda m: f"\\U{int(m.group(1), 16):08x}",
                     regex_to_rust(pattern, flags))  # fmt: skip
    original, rewritten = re.compile(pattern, flags | re.ASCII), re.compile(printed)
    alphabet = 'aAbBsSeElLxyz09_ "\\é\t-'
    strings = [""] + list(alphabet)
    strings += [a + b for a in alphabet for b in alphabet]
    strings += [a + b + c for a in "aAx\"\\" for b in alphabet for c in "ab\"zé"]
    strings += ["aaa", "aaaaa", "aaaaaa", "bbb", "cccc", "xyyz"]
    for text in strings:
        assert bool(original.fullmatch(text)) == bool(rewritten.fullmatch(text)), (text, printed)


@pytest.mark.parametrize("pattern", [r"^a", r"a$", r"(?=a)a", r"(a)\1", r"\bword"])
def test_regex_features_ebnf_cannot_say_are_not_expressible(pattern: str) -> None:
    with pytest.raises(NotExpressible):
        regex_to_ebnf(pattern)


def test_llguidance_text_rewrites_only_regex_literals() -> None:
    text = '// a /comment/ here\nstart: "a/b" NAME\nNAME: /\\w+/i\n%ignore /[ \\t]+/\n'
    rewritten, changes = llguidance_lark(text)
    assert rewritten.startswith('// a /comment/ here\nstart: "a/b" NAME\n')
    assert "NAME: /[0-9A-Z_a-z]+/\n" in rewritten
    assert len(changes) == 2


@pytest.mark.parametrize("name", GRAMMARS)
def test_oracle_agrees_with_lark_on_documents_and_near_misses(name: str) -> None:
    import lark

    grammar = bundled_grammar(name)
    parser = lark.Lark(grammar.lark_text, parser="earley", lexer="dynamic_complete",
                       g_regex_flags=re.ASCII)  # fmt: skip
    oracle = PrefixOracle(grammar.ir)
    documents = list(CORPUS.get(name, ())) or [
        json.dumps({"a": [1, -2.5e3, "xé\\n", True, None], "b": {}}, ensure_ascii=False),
        "[]",
        '"\\u00e9"',
    ]
    for text in documents:
        variants = [text, text[:-1], text + "}", text.replace(" ", "", 1), "(" + text]
        for variant in variants:
            state = oracle.feed(oracle.initial(), variant.encode())
            try:
                parser.parse(variant)
                in_language = True
            except lark.exceptions.LarkError:
                in_language = False
            assert (state is not None and oracle.accepts(state)) == in_language, variant
            if in_language:  # every prefix of a string of the language is viable
                data = variant.encode()
                for cut in range(len(data)):
                    assert oracle.feed(oracle.initial(), data[:cut]) is not None, (variant, cut)


def test_oracle_reads_bytes_as_utf8() -> None:
    oracle = PrefixOracle(bundled_grammar("json").ir)
    start = oracle.initial()
    assert oracle.feed(start, '"é'.encode()[:2]) is not None  # inside a character
    assert oracle.feed(start, b'"\xff') is None  # never UTF-8
    assert oracle.feed(start, b"1\xc3") is None  # no non-ASCII character may follow a digit


def test_xgrammar_reads_the_printed_ir_with_the_same_language() -> None:
    import lark
    import xgrammar as xgr

    info = xgr.TokenizerInfo([chr(c) for c in range(32, 127)])
    compiler = xgr.GrammarCompiler(info, cache_enabled=False)
    for name in GRAMMARS:
        grammar = bundled_grammar(name)
        compiled = compiler.compile_grammar(xgrammar_ebnf(grammar.ir))
        parser = lark.Lark(grammar.lark_text, parser="earley", lexer="dynamic_complete",
                           g_regex_flags=re.ASCII)  # fmt: skip
        for text in CORPUS.get(name, ('{"a": [1, -2.5e3, "x", true, null]}', "[]")):
            for variant in (text, text[:-1], text + "}", text.replace(" ", "", 1), "(" + text):
                matcher = xgr.GrammarMatcher(compiled)
                complete = matcher.accept_string(variant) and matcher.is_completed()
                try:
                    parser.parse(variant)
                    in_language = True
                except lark.exceptions.LarkError:
                    in_language = False
                assert complete == in_language, (name, variant)


def test_llguidance_reads_every_bundled_grammar() -> None:
    import llguidance
    for name in GRAMMARS:
        text = bundled_grammar(name).llguidance_text()
        is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(
            llguidance.LLMatcher.grammar_from_lark(text)
        )
        assert not is_error, (name, messages)


def test_json_sample_is_deterministic_and_mixed() -> None:
    data = sample_dir()  # the vendored MaskBench sample, same layout as default_data_dir()
    first, counts = json_documents(data, 12, max_bytes=4096)
    again, _ = json_documents(data, 12, max_bytes=4096)
    assert [d.text for d in first] == [d.text for d in again]
    assert counts == {"instance": 6, "schema": 6}
    # An instance then a schema, each kind round robin over the sorted subsets; the one
    # Github_ultra schema (45 KB) is over 4 × max_bytes, so Glaiveai2K's comes instead.
    assert ["#test" in d.source for d in first] == [True, False] * 6
    subsets = sorted(p.name for p in (data / "jsonschemabench").iterdir() if p.is_dir())
    assert [d.source.split("/")[0] for d in first[0::2]] == subsets[:6]
    assert [d.source.split("/")[0] for d in first[1::2]] == subsets[:5] + ["Glaiveai2K"]
    for document in first:
        assert len(document.text.encode()) <= 4096
        assert json.dumps(json.loads(document.text), ensure_ascii=False) == document.text


@pytest.mark.slow
def test_quick_grammar_benchmark_checks_correctness_and_writes_results(tmp_path: Path) -> None:
    from structgen.cli.main import main

    data = sample_dir()
    out = tmp_path / "results"
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\nHand-written intro.\n")
    argv = [
        "bench", "grammar", "--quick", "--tokenizers", "smollm2", "--grammars", "json,arithmetic",
        "--data", str(data), "--sample", "3", "--max-corpus-docs", "3", "--repeat", "1",
        "--budget", "3", "--check-docs", "2", "--no-progress",
        "--out", str(out), "--markdown", str(markdown),
    ]  # fmt: skip
    assert main(argv) == 0

    results = json.loads((out / "grammar.json").read_text())
    assert results["benchmark"] == "grammar"
    for key in ("machine", "config", "engines", "grammars", "tokenizers", "setup", "results",
                "mask_agreement"):  # fmt: skip
        assert key in results
    assert results["config"]["tokenizers"] == ["smollm2"]
    assert results["config"]["grammars"] == ["json", "arithmetic"]
    assert results["tokenizers"]["smollm2"]["status"] == "ok"
    assert results["grammars"]["json"]["documents"] == 3
    assert results["grammars"]["arithmetic"]["documents"] == 3

    rows = {(row["engine"], row["grammar"]): row for row in results["results"]}
    for grammar in ("json", "arithmetic"):
        ours = rows[("structgen", grammar)]
        assert ours["status"] == "ok", ours.get("error")
        check = ours["correctness"]
        assert check["all_passed"] is True and check["passed"] == check["documents"] == 3
        assert check["checked_steps"] > 3
        assert ours["mask"]["n"] == check["checked_steps"]
        for field in ("p50_us", "p99_us", "max_us", "mean_us"):
            assert ours["mask"][field] > 0
        assert ours["per_document"]["n"] == 3
        assert ours["compile"]["median_ms"] > 0
        assert ours["time_to_first_mask"]["median_ms"] >= ours["compile"]["median_ms"]
        assert ours["memory_bytes"] > 0
        for peer in PRIMARY_PEERS:
            row = rows[(peer, grammar)]
            if results["engines"][peer]["status"] == "not installed":
                assert row["status"] == "not installed"
                continue
            assert row["status"] == "ok", row.get("error")
            assert row["correctness"]["failed"] == 0, row["correctness"]["failures"]
    assert rows[("xgrammar-builtin", "arithmetic")]["status"] == "n/a"
    # Whatever the peers allow beyond structgen, the oracle must never find structgen allowing
    # a token outside the language.
    for agreement in results["mask_agreement"]:
        assert agreement["steps"] > 0
        assert agreement["judged"]["only_structgen"]["invalid"] == 0, agreement["invalid_examples"]

    page = markdown.read_text()
    assert page.startswith("# Benchmarks\n\nHand-written intro.")
    assert "structgen-bench:grammar:begin" in page and "| json | structgen | 3/3 |" in page
    assert (out / "grammar.png").stat().st_size > 0
