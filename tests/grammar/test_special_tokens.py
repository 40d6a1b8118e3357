"""Special tokens named in GBNF and Lark grammars (``<[id]>``, ``<|name|>``), against ``re``.

The oracle reads a token sequence as text in which special token ``i`` is the character
``chr(0xE000 + i)`` and ordinary bytes are Latin-1 (so byte 0xFF is ``ÿ``, which no grammar
text allows); every token sequence of up to three tokens over a small vocabulary — single bytes
that could spell a special token's private bytes (0xFF, 0x00, 0x01), a token equal to those
bytes, tokens holding 0xFF — is checked: the mask allows a token exactly when the oracle says
the text stays a prefix of the language.
"""

from __future__ import annotations

import itertools
import re
import warnings

import numpy as np
import pytest

from structgen.bitmask import allocate_token_bitmask
from structgen.engines.cfg.engine import GrammarEngine
from structgen.errors import ConfigurationError
from structgen.grammar.errors import GrammarError
from structgen.grammar.gbnf_frontend import grammar_from_gbnf
from structgen.grammar.lark_frontend import grammar_from_lark
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.compiler import compile_grammar
from structgen.vocab import Vocabulary
from structgen.vocab.special import engine_vocabulary, special_token_bytes
from structgen.vocab.trie import build_trie
from tests.helpers.vocab_fixtures import gguf_vocab

# ids 0..3 special: 0 eos, 1 <|x|>, 2 <|y|>, 3 <think> (never named below: stays banned)
_SPECIAL = {0: "<|eos|>", 1: "<|x|>", 2: "<|y|>", 3: "<think>"}
_ORDINARY = [b"a", b"b", b"c", b"ab", b"ba", b"abc", b"\xff", b"\x00", b"\x01", b"a\xff"]
_FORGERY = special_token_bytes(1)  # an ordinary token spelling <|x|>'s private bytes
TOKENS = [b""] * 4 + _ORDINARY + [_FORGERY, b"\x00\x00\x00\x01"]
VOCAB = Vocabulary(TOKENS, special_ids=[1, 2, 3], eos_ids=[0], special_names=_SPECIAL, name="toy")
SIZE = VOCAB.size

GBNF = 'root ::= [a-c]* <|x|> ("ab" | <[2]>)+'
LARK = 'start: LETTERS? <|x|> (AB | <[2]>)+\nLETTERS: /[a-c]+/\nAB: "ab"\n'
ORACLE = re.compile("[a-c]*\ue001(?:ab|\ue002)+")
ALPHABET = ["a", "b", "c", "\ue001", "\ue002", "\ue003", "ÿ", "\x00"]


def _text(tokens: tuple[int, ...]) -> str:
    return "".join(
        chr(0xE000 + t) if t in _SPECIAL else TOKENS[t].decode("latin-1") for t in tokens
    )


def _viable(text: str) -> bool:
    """Whether some completion of at most 2 more symbols is in the language (enough here:
    from any viable prefix, ``ab`` or ``<|x|> ab`` or ``b`` completes it)."""
    return any(
        ORACLE.fullmatch(text + "".join(tail))
        for length in range(3)
        for tail in itertools.product(ALPHABET, repeat=length)
    )


def _allowed(matcher) -> set[int]:
    bitmask = allocate_token_bitmask(1, SIZE)
    matcher.fill_next_token_bitmask(bitmask, 0)
    bits = np.unpackbits(bitmask[0].view(np.uint8), bitorder="little")[:SIZE]
    return set(np.flatnonzero(bits).tolist())


def _expected(prefix: tuple[int, ...]) -> set[int]:
    text = _text(prefix)
    allowed = {
        t for t in range(1, SIZE) if (TOKENS[t] or t in _SPECIAL) and _viable(text + _text((t,)))
    }
    allowed.discard(0)
    if ORACLE.fullmatch(text):
        allowed.add(0)
    return allowed


@pytest.fixture(scope="module", params=["gbnf", "lark"])
def compiled(request: pytest.FixtureRequest) -> CompiledGrammar:
    source = GBNF if request.param == "gbnf" else LARK
    return compile_grammar(source, VOCAB, syntax=request.param, cache=False)


def test_masks_match_the_oracle_on_every_sequence_of_three_tokens(compiled) -> None:
    frontier = [()]
    for _depth in range(3):
        grown = []
        for prefix in frontier:
            matcher = compiled.matcher()
            for token in prefix:
                assert matcher.advance(token)
            allowed = _allowed(matcher)
            assert allowed == _expected(prefix), _text(prefix)
            assert matcher.is_accepting() == bool(ORACLE.fullmatch(_text(prefix)))
            for token in range(SIZE):
                assert matcher.accepts(token) == (token in allowed)
            grown += [prefix + (token,) for token in sorted(allowed) if token != 0]
        frontier = grown
    assert len(frontier) > 20  # the walk went through special tokens on both sides


def test_the_forged_bytes_and_tokens_holding_0xff_are_never_allowed(compiled) -> None:
    matcher = compiled.matcher()
    for token in (TOKENS.index(b"a"), 1):
        assert matcher.advance(token)
    forged = TOKENS.index(_FORGERY)
    for _ in range(2):
        assert {forged, TOKENS.index(b"\xff"), TOKENS.index(b"a\xff"), 3}.isdisjoint(
            _allowed(matcher)
        )
        assert matcher.advance(2)
    assert not matcher.advance(forged)


def test_a_grammar_naming_no_special_token_walks_the_plain_trie() -> None:
    compiled = compile_grammar('root ::= "ab" [c]', VOCAB, syntax="gbnf", cache=False)
    assert compiled.automaton.trie is build_trie(VOCAB)
    assert _allowed(compiled.matcher()) == {TOKENS.index(t) for t in (b"a", b"ab", b"abc")}


def test_the_engine_view_blanks_0xff_tokens_and_spells_named_ones() -> None:
    view = engine_vocabulary(VOCAB, [2, 1])
    assert view.token_bytes[1] == b"\xff\x00\x00\x00\x01"
    assert view.token_bytes[2] == b"\xff\x00\x00\x00\x02"
    assert view.token_bytes[3] == b""  # not named: still special
    assert all(b"\xff" not in view.token_bytes[i] for i in range(4, SIZE))
    assert view.eos_ids == VOCAB.eos_ids and view.size == VOCAB.size
    assert engine_vocabulary(VOCAB, []) is VOCAB
    assert engine_vocabulary(VOCAB, [1, 2]) is view


def test_serialized_grammar_keeps_its_special_tokens(compiled) -> None:
    restored = CompiledGrammar.from_bytes(compiled.to_bytes(), VOCAB)
    for prefix in [(), (4,), (4, 1), (4, 1, 2), (7, 1, 2, 7)]:
        a, b = compiled.matcher(), restored.matcher()
        for token in prefix:
            assert a.advance(token) and b.advance(token)
        assert _allowed(a) == _allowed(b)


@pytest.mark.parametrize(
    ("source", "syntax", "message"),
    [
        ("root ::= <|nope|>", "gbnf", r"no special token '<\|nope\|>'; special tokens there"),
        ("root ::= <[99]>", "gbnf", r"id 99 is outside vocabulary 'toy' \(ids 0 to 15\)"),
        ("root ::= <[5]>", "gbnf", r"token 5 is an ordinary token \(b'b'\)"),
        ("root ::= <[0]>", "gbnf", "ends the sequence"),
        ("root ::= <ab>", "gbnf", "no special token '<ab>'"),
        ("root ::= !<[1]>", "gbnf", r"negated token references \(!<...>\) are not supported"),
        ('start: A\nA: "a" <|x|>\n', "lark", "may appear in rules only"),
        ('start: "a" < x>\n', "lark", "expected a special token <"),
    ],
)
def test_bad_references_say_what_is_wrong(source: str, syntax: str, message: str) -> None:
    with pytest.raises(GrammarError, match=message):
        compile_grammar(source, VOCAB, syntax=syntax, cache=False)


def test_an_ordinary_token_text_is_pointed_to_a_string() -> None:
    vocab = Vocabulary([b"", b"<tool_call>", b"x"], eos_ids=[0], special_names={0: "<eos>"})
    with pytest.raises(GrammarError, match=r"ordinary token there: write it as the string"):
        compile_grammar("root ::= <tool_call>", vocab, syntax="gbnf", cache=False)


def test_an_unbound_grammar_is_refused_by_the_engine() -> None:
    with pytest.raises(ConfigurationError, match="not bound to a vocabulary yet"):
        GrammarEngine(grammar_from_gbnf("root ::= <|x|>"), VOCAB)


def test_references_inside_strings_regexes_and_comments_stay_text() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grammar = grammar_from_lark('start: "<a>" /<[b]>/ <|x|> // <c>\n')
    assert sorted(grammar.terminals) == ["<|x|>", "__ANON_0", "__ANON_1"]
    compiled = compile_grammar(grammar, VOCAB, cache=False)
    assert "<[1]>" in compiled.automaton.grammar.terminals


def test_real_vocabularies_resolve_names_and_ids() -> None:
    smol = gguf_vocab("smollm2")
    assert smol.special_names[1] == "<|im_start|>"
    for source in ("root ::= <|im_start|> [a-z]", "root ::= <[1]> [a-z]"):
        matcher = compile_grammar(source, smol, syntax="gbnf", cache=False).matcher()
        bitmask = allocate_token_bitmask(1, smol.size)
        matcher.fill_next_token_bitmask(bitmask, 0)
        bits = np.unpackbits(bitmask[0].view(np.uint8), bitorder="little")[: smol.size]
        assert np.flatnonzero(bits).tolist() == [1]
        assert matcher.advance(1) and not matcher.accepts(1)
    llama3 = gguf_vocab("llama3")  # (Llama 3.0: 128010 is a reserved special token there)
    header = 'root ::= <|start_header_id|> "x" <|end_header_id|> <[128010]>'
    matcher = compile_grammar(header, llama3, syntax="gbnf", cache=False).matcher()
    for token in (128006, 87, 128007, 128010):  # 87: "x"
        assert matcher.accepts(token) and matcher.advance(token)
    assert matcher.is_accepting() and not matcher.accepts(128010)


def test_special_names_survive_arrays_and_pickle() -> None:
    import pickle

    assert Vocabulary.from_arrays(VOCAB.to_arrays()).special_names == VOCAB.special_names
    assert pickle.loads(pickle.dumps(VOCAB)).special_names == VOCAB.special_names
    assert Vocabulary.from_arrays(VOCAB.to_arrays()).fingerprint == VOCAB.fingerprint


def test_tokenizer_and_gguf_readers_name_the_same_special_tokens() -> None:
    from tests.helpers.vocab_fixtures import hf_vocab

    gguf, hf = gguf_vocab("smollm2"), hf_vocab("smollm2")
    shared = gguf.special_ids & hf.special_ids
    assert {gguf.special_names[i] for i in shared} == {hf.special_names[i] for i in shared}
    assert hf.special_names[1] == "<|im_start|>"
