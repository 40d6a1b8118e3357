"""Issue 10, finding 9: grammars whose terminals may follow themselves with no separator.

Every split of a token into lexemes used to become a trie-walk event (``WORD+`` asked numba
for gigabytes while computing its first mask). Walk events are now merged per (trie node,
lexer state), so each walk records at most one event per node and state, and the mask work is
bounded by ``max_mask_sets``. The masks are computed in a child process under an address-space
cap (a regression is a MemoryError there, never an out-of-memory kill of the test machine);
the engine's own counts are checked against those bounds, and the languages against lark's
Earley parser with the ``dynamic_complete`` lexer.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import lark
import pytest

import structgen
from structgen.errors import LimitExceededError
from tests.helpers.synthetic_vocab import synthetic_vocabulary

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 3 << 30  # bytes of address space for the child (numba and a vocabulary fit in 1)

ITEM = (
    'start: item\n?item: WORD | "[" item* "]"\nWORD: /[a-z\\/]+/\n%import common.WS\n%ignore WS\n'
)
# lark's examples/composition/csv.lark (MIT, see tests/data/peer-suites/LICENSE.lark).
CSV = r"""start: header _NL row+
header: "#" " "? (WORD _SEPARATOR?)+
row: (_anything _SEPARATOR?)+ _NL
_anything: INT | WORD | NON_SEPARATOR_STRING | FLOAT | SIGNED_FLOAT
NON_SEPARATOR_STRING: /[a-zA-z.;\\\/]+/
_SEPARATOR: /[  ]+/
          | "\t"
          | ","
%import common.NEWLINE -> _NL
%import common.WORD
%import common.INT
%import common.FLOAT
%import common.SIGNED_FLOAT
"""


def _plus(terminal: str) -> str:
    return f"start: {terminal}+\n%import common.{terminal}\n"


# grammar → (strings the masks are computed along, [(sample, lark accepts)] come from lark)
CASES = {
    "item": (
        ITEM,
        ["[x//", "[ab/c [d] e//f]", "[[x] /]"],
        ["[x//]", "x", "[]", "[a [b] c]", "[x", "]", "A", "[x//] y"],
    ),
    "WORD": (_plus("WORD"), ["Hello", "abcdefgh"], ["abc", "aBc", "a b", "", "a1"]),
    "CNAME": (_plus("CNAME"), ["a_1b", "_x_y"], ["a_1", "1a", "_", "a b"]),
    "WS": (_plus("WS"), [" \t\n  ", "\r\n"], [" ", "\n \n", "a", ""]),
    "WS_INLINE": (_plus("WS_INLINE"), ["  \t "], [" \t", "\n", " a"]),
    "NEWLINE": (_plus("NEWLINE"), ["\n\r\n\n"], ["\n", "\r\n\n", "\r", " \n"]),
    "SH_COMMENT": (_plus("SH_COMMENT"), ["# a #b#"], ["#x", "#x\n#y", "x#", "#\n"]),
    "CPP_COMMENT": (_plus("CPP_COMMENT"), ["// a //b"], ["//x", "//x\n//y", "/x", "//\n"]),
    "SQL_COMMENT": (_plus("SQL_COMMENT"), ["-- a --b"], ["--x", "--x\n--y", "-x", "--\n"]),
    "csv": (
        CSV,
        ["# a b\n1,x\n", "# ab\nfoo;bar 2.5\n"],
        ["# a, b\n1, x\n", "# ab\nfoo 2.5\n", "# a\n", "a\n1\n"],
    ),
}

CHILD = r"""
import json, sys
import numpy as np
import structgen
from tests.helpers.vocab_fixtures import gguf_vocab

vocab = gguf_vocab(sys.argv[1])
cases = json.loads(sys.argv[2])
report = {}
for name, (grammar, texts) in cases.items():
    engine = structgen.compile_grammar(grammar, vocab).automaton
    disagreements = 0
    for text in texts:
        config = engine.initial
        for byte in text.encode():
            words, _ = engine.mask(config)
            # the mask against the byte stepper, on the tokens of the next 32 bytes' prefixes
            for token in range(0, vocab.size, 97):
                data = engine.trie.token_bytes[token]
                allowed = bool((int(words[token >> 5]) >> (token & 31)) & 1)
                if data and allowed != (engine.step_bytes(config, data) is not None):
                    disagreements += 1
            config = engine.step(config, byte)
            assert config is not None, (name, text)
        engine.mask(config)
    stats = engine.stats()
    report[name] = {
        "walk_events": stats["walk_events"],
        "walks": stats["trie_walks"],
        "largest_mask_work": stats["largest_mask_work"],
        "max_mask_sets": engine.max_mask_sets,
        "bound": engine.trie.num_nodes * engine.lexer.num_states,
        "nodes": engine.trie.num_nodes,
        "disagreements": disagreements,
    }
print(json.dumps(report))
"""


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.mark.parametrize("vocab_name", ["gpt2", "llama3"])
def test_self_following_terminals_mask_in_bounded_memory(vocab_name):
    cases = {name: (grammar, texts) for name, (grammar, texts, _) in CASES.items()}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", CHILD, vocab_name, json.dumps(cases)],
        check=False, cwd=ROOT, capture_output=True, text=True, preexec_fn=_capped, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    for name, counts in report.items():
        assert counts["disagreements"] == 0, name
        # Each walk records at most one event per (trie node, lexer state)...
        assert counts["walk_events"] <= counts["walks"] * counts["bound"], name
        # ...and in practice far fewer: about one per node per walk (it was one per split).
        assert counts["walk_events"] <= 3 * counts["walks"] * counts["nodes"], name
        assert counts["largest_mask_work"] <= counts["max_mask_sets"], name


@pytest.mark.parametrize("name", sorted(CASES))
def test_languages_agree_with_lark_dynamic_complete(name):
    grammar, texts, samples = CASES[name]
    oracle = lark.Lark(grammar, parser="earley", lexer="dynamic_complete")
    engine = structgen.compile_grammar(grammar, synthetic_vocabulary()).automaton
    for sample in [*samples, *texts]:
        try:
            oracle.parse(sample)
            expected = True
        except lark.exceptions.LarkError:
            expected = False
        config = engine.step_bytes(engine.initial, sample.encode())
        assert (config is not None and config.final) == expected, (name, sample)


def test_walk_events_are_a_named_limit():
    with pytest.raises(LimitExceededError, match="max_walk_events"):
        structgen.compile_grammar(_plus("WORD"), synthetic_vocabulary(), max_walk_events=1)
