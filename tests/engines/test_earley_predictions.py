"""The items an Earley set predicts for several symbols at once, closed in one pass, equal an
obvious fixed point over (rule, dot) pairs, whichever closures were computed before.
Grammars: random Lark grammars (nullable rules, recursion) and the JSON, arithmetic and
ambiguous IR grammars."""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structgen
from structgen.engines.cfg.earley import SELF, EarleyGrammar
from tests.helpers.grammar_strategies import lark_grammars
from tests.helpers.ir_grammars import AMBIGUOUS, ARITHMETIC, JSON
from tests.helpers.synthetic_vocab import synthetic_vocabulary

VOCAB = synthetic_vocabulary()


def _earley(grammar) -> EarleyGrammar:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (terminal collisions of random grammars)
        return structgen.compile_grammar(grammar, VOCAB, cache=False).automaton.earley


def _fixed_point(earley: EarleyGrammar, symbols: frozenset[int]) -> frozenset:
    """Predict every nonterminal after a dot and step over nullable ones until nothing is
    added; keep the items still waiting for a symbol."""
    rules, by_lhs = earley.rules, earley.rules_by_lhs
    items = {(rule, 0) for symbol in symbols for rule in by_lhs.get(symbol, ())}
    while True:
        added = set()
        for rule, dot in items:
            rhs = rules[rule][1]
            if dot < len(rhs) and rhs[dot] >= earley.num_terminals:
                added |= {(other, 0) for other in by_lhs.get(rhs[dot], ())}
                if rhs[dot] in earley.nullable:
                    added.add((rule, dot + 1))
        if added <= items:
            return frozenset((r, d, SELF) for r, d in items if d < len(rules[r][1]))
        items |= added


def _check(earley: EarleyGrammar, data: st.DataObject) -> None:
    nonterminals = sorted(earley.nonterminal_ids.values())
    symbols = frozenset(data.draw(st.lists(st.sampled_from(nonterminals), min_size=3)))
    for symbol in data.draw(st.lists(st.sampled_from(nonterminals))):
        earley._predicted(symbol)  # some closures known before, as a long decode has them
    assert earley._close_predictions(symbols) == _fixed_point(earley, symbols)
    for symbol in symbols:
        assert earley._predicted(symbol) == _fixed_point(earley, frozenset([symbol]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=lark_grammars(max_rules=5), data=st.data())
def test_predictions_of_several_symbols_equal_the_union_of_their_closures(text, data):
    earley = _earley(text)
    if len(earley.nonterminal_ids) >= 1:
        _check(earley, data)


@settings(max_examples=30, deadline=None)
@given(grammar=st.sampled_from([JSON, ARITHMETIC, AMBIGUOUS]), data=st.data())
def test_predictions_together_on_recursive_grammars(grammar, data):
    _check(_earley(grammar), data)
