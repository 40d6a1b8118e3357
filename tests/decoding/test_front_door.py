"""The front door (issue 13, part 6): schema options through ``generate`` and the CLI, the
memo key covering them, whitespace bounds on grammars, typos of bundled names, models from the
local Hugging Face cache. No network; the model-side runs use a tiny random model."""

from __future__ import annotations

import json
import warnings

import pytest

import structgen
from structgen import generation
from structgen.cli import compile_cmd
from structgen.cli.main import EXIT_USAGE, build_parser, main
from structgen.decoding import DecodingStats
from structgen.errors import ConfigurationError
from structgen.grammar.errors import GrammarError
from structgen.grammar.loading import load_grammar
from structgen.schema import schema_to_grammar
from structgen.schema.errors import SchemaError, SchemaWarning, UnsupportedSchemaError

# uniqueItems cannot be enforced exactly: refused unless lenient.
_UNIQUE = {"type": "array", "items": {"type": "integer"}, "uniqueItems": True, "maxItems": 3}


def test_the_lenient_hint_is_an_option_generate_takes():
    """The schema error says "pass lenient=True": generate() takes it (checked before the
    model, so model=object() never loads anything)."""
    with pytest.raises(UnsupportedSchemaError, match="lenient=True"):
        structgen.generate("p", schema=_UNIQUE, model=object())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigurationError, match="without its tokenizer"):
            structgen.generate("p", schema=_UNIQUE, model=object(), lenient=True)
    assert any(issubclass(w.category, SchemaWarning) for w in caught)


def test_schema_options_start_from_generations_defaults_and_are_overridden_by_name():
    options = generation.generation_schema_options
    default = options({"type": "object"}, lenient=False, whitespace=None, property_order=None,
                      schema_options=None)  # fmt: skip
    assert default == generation.GENERATION_SCHEMA_OPTIONS
    given = options(
        {"type": "object"},
        lenient=True,
        whitespace=4,
        property_order="any",
        schema_options={"formats": "annotation", "whitespace": "flexible"},
    )
    assert given["lenient"] is True and given["property_order"] == "any"
    assert given["whitespace"] == 4  # the named option wins over schema_options
    assert given["formats"] == "annotation" and given["escapes"] == "canonical"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"schema": {"type": "object"}, "whitespace": "wide"}, "whitespace must be"),
        ({"schema": {"type": "object"}, "property_order": "alpha"}, "property_order must be"),
        ({"schema": {"type": "object"}, "schema_options": {"colour": 1}}, "unknown schema opt"),
        ({"schema": {"type": "object"}, "schema_options": ["lenient"]}, "must be a mapping"),
        ({"grammar": "json", "lenient": True}, "lenient= are options of schema="),
        ({"regex": "a", "property_order": "any"}, "property_order= are options of schema="),
        ({"regex": "a", "whitespace": "compact"}, "a regex spells out its own whitespace"),
        ({"grammar": "json", "whitespace": -1}, "int ≥ 0"),
    ],
)
def test_options_a_constraint_would_ignore_are_refused_before_the_model(options, match):
    with pytest.raises(ConfigurationError, match=match):
        structgen.generate("p", model=object(), **options)


def test_the_memo_key_covers_the_options():
    key = generation._constraint_key
    schema = {"type": "object"}
    compact = key(regex=None, grammar=None, schema=schema, options={"whitespace": "compact"})
    flexible = key(regex=None, grammar=None, schema=schema, options={"whitespace": "flexible"})
    assert compact != flexible and compact == key(
        regex=None, grammar=None, schema=schema, options={"whitespace": "compact"}
    )
    one = key(regex=None, grammar="json", schema=None, options={"max_ignore_bytes": 1})
    many = key(regex=None, grammar="json", schema=None, options={"max_ignore_bytes": 32})
    assert one != many


def test_grammar_whitespace_bounds_the_ignored_text():
    """compact: one ignored character between two terminals; N: up to N; 0: none. Checked
    against a grammar compiled for each (bytes fed to a fresh matcher)."""
    from structgen.vocab import Vocabulary

    alphabet = b"abcd \n"
    vocab = Vocabulary([bytes([b]) for b in alphabet] + [b"</s>"], eos_ids=[6], name="ws")
    text = "start: WORD+\nWORD: /[a-d]+/\n%ignore /[ \\n]+/\n"

    def accepts(whitespace, output: bytes) -> bool:
        limits = generation.generation_grammar_options(whitespace)
        grammar = generation._load_constraint(
            regex=None, grammar=text, whitespace_limit=limits["max_ignore_bytes"]
        )
        matcher = structgen.compile_grammar(grammar, vocab, cache=False, **limits).matcher()
        ok = all(matcher.advance(alphabet.index(b)) for b in output)
        return ok and matcher.is_accepting()

    assert accepts("compact", b"ab cd") and not accepts("compact", b"ab\n\ncd")
    assert not accepts("compact", b"ab\ncd")  # compact: a space, no line breaks
    assert accepts(3, b"ab \n cd") and not accepts(3, b"ab \n  cd")
    assert accepts("flexible", b"ab" + b" " * 32 + b"cd")
    assert not accepts("flexible", b"ab" + b" " * 33 + b"cd")
    assert accepts(0, b"ab") and not accepts(0, b"ab cd")
    compact = {"max_ignore_bytes": 1, "single_spaces": True}
    assert generation.generation_grammar_options(None) == compact


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("jsno", "no bundled grammar 'jsno'; did you mean 'json'?"),
        ("sql_selct", "did you mean 'sql_select'"),
        ("zzz", "the bundled grammars are: arithmetic, csv, json"),
        ("jsno.gbnf", "no bundled gbnf grammar 'jsno.gbnf'; did you mean 'json'"),
    ],
)
def test_a_typo_of_a_bundled_name_names_the_closest(name, match):
    with pytest.raises(GrammarError, match=match):
        load_grammar(name)


def test_only_a_bare_word_is_read_as_a_name():
    """Text with rule syntax is still grammar text (its own errors), a real name still loads."""
    assert load_grammar("json").rules
    with pytest.raises(GrammarError) as error:
        load_grammar("start: jsno")
    assert "bundled" not in str(error.value)
    with pytest.raises(GrammarError, match=r"pathlib.Path\('mine.lark'\)"):
        load_grammar("mine.lark")  # a file name with no close bundled name: pass a Path


def test_cli_typo_of_a_bundled_grammar(capsys):
    assert main(["generate", "--grammar", "jsno", "p"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "did you mean 'json'?" in err and "Traceback" not in err
    assert main(["compile", "--grammar", "arithmetc"]) == EXIT_USAGE
    assert "did you mean 'arithmetic'?" in capsys.readouterr().err


def test_cli_schema_flags_reach_generate(monkeypatch, capsys, tmp_path):
    seen = {}

    def fake(prompt, **options):
        seen.update(options)
        return generation.GenerationResult("[]", [1], DecodingStats(tokens=1))

    monkeypatch.setattr(generation, "generate_result", fake)
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(_UNIQUE), encoding="utf-8")
    status = main(
        ["generate", "--schema", str(schema), "--lenient", "--whitespace", "2",
         "--property-order", "any", "--schema-option", "formats=annotation",
         "--schema-option", "max-array-expansion=4096", "p"]
    )  # fmt: skip
    assert status == 0 and capsys.readouterr().out == "[]\n"
    assert seen["lenient"] is True and seen["whitespace"] == 2
    assert seen["property_order"] == "any"
    assert seen["schema_options"] == {"formats": "annotation", "max_array_expansion": 4096}
    args = build_parser().parse_args(
        ["generate", "--grammar", "json", "--whitespace", "flexible", "p"]
    )
    assert args.whitespace == "flexible" and args.lenient is False and args.schema_option is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--whitespace", "wide", "p"])


def test_cli_compile_schema_prints_what_generate_compiles(tmp_path, capsys):
    """``compile --schema``: the statistics of the grammar generate would compile (compact,
    schema order), and the flags change it as they change generate."""
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(_UNIQUE), encoding="utf-8")
    assert main(["compile", "--schema", str(schema)]) == EXIT_USAGE  # uniqueItems: refused
    assert "lenient" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaWarning)
        assert main(["compile", "--schema", str(schema), "--lenient", "--no-cache", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {"compile_seconds", "from_cache", "rules", "lexer_states"} <= set(stats)
    assert stats["from_cache"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaWarning)
        expected = schema_to_grammar(_UNIQUE, lenient=True, **generation.GENERATION_SCHEMA_OPTIONS)
        flexible = schema_to_grammar(_UNIQUE, lenient=True, whitespace="flexible")
    vocab = compile_cmd._default_vocabulary()
    assert stats["vocab_size"] == vocab.size
    reference = structgen.compile_grammar(expected, vocab, cache=False).stats()
    other = structgen.compile_grammar(flexible, vocab, cache=False).stats()
    for name in ("rules", "terminals", "lexer_states"):
        assert stats[name] == reference[name]
    assert other["lexer_states"] != reference["lexer_states"]  # the options made a difference
    assert main(["compile", "--regex", "a", "--lenient"]) == EXIT_USAGE
    assert "--lenient do not apply to --regex" in capsys.readouterr().err


def test_cli_compile_grammar_takes_whitespace(capsys):
    assert main(["compile", "--grammar", "arithmetic", "--whitespace", "compact", "--json",
                 "--no-cache"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["constraint"].startswith("grammar")
    assert main(["compile", "--grammar", "arithmetic", "--property-order", "any"]) == EXIT_USAGE
    assert "--property-order do not apply to --grammar" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("pattern", "bounded"),
    [
        ("(?i:[ \t\r\n]+from[ \t\r\n]+)", "(?i:[ \t\r\n]{1,3}from[ \t\r\n]{1,3})"),
        (r"\s*x\s+?", r"\s{0,3}x\s{1,3}?"),
        ("[^ ]+", "[^ ]+"),  # not whitespace-only
        ("[a ]+", "[a ]+"),
        (r"\[ \]+", r"\[ \]+"),  # escaped brackets: no class
        ("(?:a|[ ]*)", "(?:a|[ ]{0,3})"),
        ("[ ]{2}", "[ ]{2}"),  # already bounded
    ],
)
def test_bound_pattern_cuts_only_unbounded_whitespace_runs(pattern, bounded):
    import re

    from structgen.grammar.whitespace import bound_pattern

    assert bound_pattern(pattern, 3) == bounded
    assert bound_pattern(pattern, 1, spaces_only=True) == bounded.replace("{1,3}", "{1,1}").replace(
        "{0,3}", "{0,1}"
    ).replace("[ \t\r\n]{", "[ ]{").replace("\\s{", "[ ]{")
    # the language only shrinks: every string the bounded pattern matches, the original does
    for sample in ("from", " from ", "  x ", "x  ", " ", ""):
        if re.fullmatch(bounded, sample):
            assert re.fullmatch(pattern, sample)


@pytest.mark.parametrize("pattern", [r"[\r\n]+", "[\t]*x", r"(?:[\n]+|[ \t]+)y", r"\s+", "[ \n]*"])
def test_spaces_only_never_adds_a_space_a_pattern_did_not_allow(pattern):
    """Compact generation writes whitespace runs as spaces only where the run allowed a space;
    a newline-only run stays newlines (bounded): the language only shrinks."""
    import itertools
    import re

    from structgen.grammar.whitespace import bound_pattern

    bounded = bound_pattern(pattern, 2, spaces_only=True)
    assert bounded != pattern
    samples = ["".join(p) for n in range(4) for p in itertools.product(" \t\nxy", repeat=n)]
    matched = [s for s in samples if re.fullmatch(bounded, s)]
    assert matched  # the bounded language is not empty
    assert all(re.fullmatch(pattern, s) for s in matched), bounded


@pytest.mark.parametrize("entry", ["stream", "generate_json", "generate_result", "generate"])
def test_every_entry_point_passes_the_schema_options_on(entry):
    """Refused without lenient, accepted with it (then the model check fails: it was reached)."""
    call = getattr(structgen, entry)
    args = (_UNIQUE, "p") if entry == "generate_json" else ("p",)
    kwargs = {} if entry == "generate_json" else {"schema": _UNIQUE}
    with pytest.raises(UnsupportedSchemaError):
        call(*args, model=object(), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaWarning)
        with pytest.raises(ConfigurationError, match="without its tokenizer"):
            call(*args, model=object(), lenient=True, **kwargs)


def test_generate_json_with_lenient_names_what_was_not_enforced(monkeypatch):
    """A value that breaks an ignored keyword is the caller's choice (SchemaError naming
    lenient), not a structgen bug (MatcherError) — which it is without lenient."""
    monkeypatch.setattr(generation, "generate", lambda prompt, **options: "[1,1]")
    with pytest.raises(SchemaError, match="lenient=True left keywords unenforced"):
        structgen.generate_json(_UNIQUE, "p", lenient=True)
    with pytest.raises(structgen.MatcherError, match="a structgen bug"):
        structgen.generate_json(_UNIQUE, "p")
    monkeypatch.setattr(generation, "generate", lambda prompt, **options: "[1,2]")
    assert structgen.generate_json(_UNIQUE, "p", lenient=True) == [1, 2]


def test_schema_constraints_compile_lazily_in_generation():
    """generate's schema grammars compile as compile_json_schema does: no lexer state beyond
    what the first mask needs (a bounded string's automaton is not explored ahead)."""
    from tests.helpers.synthetic_vocab import synthetic_vocabulary

    schema = {"type": "object", "properties": {"notes": {"type": "string", "maxLength": 400}}}
    schema_opts, grammar_opts = generation._constraint_options(
        regex=None, grammar=None, schema=schema, lenient=False, whitespace=None,
        property_order=None, schema_options=None,
    )  # fmt: skip
    constraint = generation._load_constraint(
        regex=None, grammar=None, schema=schema, options=schema_opts
    )
    vocab = synthetic_vocabulary()
    compiled = generation._compile(
        constraint, vocab=vocab, key=("lazy-test", id(vocab)), grammar_options=grammar_opts
    )
    # (precomputed, the same grammar reaches tens of thousands of lexer states before its
    # first mask, minutes of work)
    assert compiled.automaton.lexer.num_states < 100
    matcher = compiled.matcher()
    for token in compiled.automaton.trie.greedy_tokenize(b'{"notes":"' + b"x" * 30 + b'"}'):
        assert matcher.advance(token)
    assert matcher.is_accepting()
