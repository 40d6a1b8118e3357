"""The items an Earley set predicts for several symbols at once, closed in one pass, equal the
union of each symbol's own closure (``EarleyGrammar._predicted``), whichever closures were
computed before. Grammars: random Lark grammars (nullable rules, recursion) and the JSON,
arithmetic and ambiguous IR grammars; the union of per-symbol closures is the oracle."""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structgen
from structgen.engines.cfg.earley import EarleyGrammar
from tests.helpers.grammar_strategies import lark_grammars
from tests.helpers.ir_grammars import AMBIGUOUS, ARITHMETIC, JSON
from tests.helpers.synthetic_vocab import synthetic_vocabulary

VOCAB = synthetic_vocabulary()


def _earley(grammar) -> EarleyGrammar:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (terminal collisions of random grammars)
        return structgen.compile_grammar(grammar, VOCAB, cache=False).automaton.earley


def _check(earley: EarleyGrammar, data: st.DataObject) -> None:
    nonterminals = sorted(earley.nonterminal_ids.values())
    symbols = frozenset(data.draw(st.lists(st.sampled_from(nonterminals), min_size=3)))
    cached_first = data.draw(st.lists(st.sampled_from(nonterminals)))
    fresh = EarleyGrammar.__new__(EarleyGrammar)  # the oracle's closures: none shared
    fresh.__dict__.update(earley.__dict__, _predictions={})
    expected = frozenset().union(*(fresh._predicted(symbol) for symbol in symbols))
    for symbol in cached_first:  # some closures known before, as a long decode has them
        earley._predicted(symbol)
    assert earley._predicted_together(symbols) == expected


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
