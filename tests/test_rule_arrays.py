"""Pruning a grammar held as int arrays (the numba kernel) against the named-rule passes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.ir import Rule, derivable_rules
from structgen.kernels.numba_cpu import prune_rules
from structgen.rule_arrays import RuleArrays, prune_with

TERMINALS = ["a", "b", "c"]
NONTERMINALS = ["S", "A", "B", "C", "D", "E"]


@st.composite
def grammars(draw: st.DrawFn) -> list[Rule]:
    symbols = st.sampled_from(TERMINALS + NONTERMINALS + ["U"])  # U: never defined
    rule = st.builds(Rule, st.sampled_from(NONTERMINALS), st.lists(symbols, max_size=4).map(tuple))
    return draw(st.lists(rule, max_size=14))


def _reference(rules: list[Rule], start: str) -> tuple[list[Rule], set[str], set[str]]:
    """The named passes: derivable_rules for the productive ones, then a search from start."""
    productive, kept = derivable_rules(rules, TERMINALS)
    reached, stack, used = {start}, [start], set()
    while stack:
        symbol = stack.pop()
        for rule in kept:
            if rule.lhs != symbol:
                continue
            for other in rule.rhs:
                if other in TERMINALS:
                    used.add(other)
                elif other not in reached:
                    reached.add(other)
                    stack.append(other)
    return [r for r in kept if r.lhs in reached], set(productive), used


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=grammars(), start=st.sampled_from(NONTERMINALS))
def test_kernel_prunes_as_the_named_passes_do(rules, start):
    kept, is_productive, used, numbered = prune_with(prune_rules, rules, TERMINALS, start)
    expected_kept, productive, expected_used = _reference(rules, start)
    if start in productive:  # (an unproductive start is an error before anything is kept)
        assert kept == expected_kept
        assert used == expected_used
    # the kept rules numbered: read back, they are the kept rules
    names, bounds = numbered.symbols, numbered.offsets.tolist()
    rhs = [names[i] for i in numbered.rhs.tolist()]
    back = [
        Rule(names[head], tuple(rhs[a:b]))
        for head, a, b in zip(numbered.lhs.tolist(), bounds, bounds[1:])
    ]
    assert back == kept
    for symbol in NONTERMINALS + ["U"]:
        assert is_productive(symbol) == (symbol in productive), symbol


def test_numbering_puts_terminals_first_and_keeps_rule_order():
    rules = [Rule("S", ("A", "x")), Rule("A", ()), Rule("A", ("y", "A"))]
    arrays = RuleArrays.of(rules, ["x", "y"])
    assert arrays.symbols == ["x", "y", "S", "A"]
    assert arrays.lhs.tolist() == [2, 3, 3]
    assert arrays.offsets.tolist() == [0, 2, 2, 4]
    assert arrays.rhs.tolist() == [3, 0, 1, 3]


def test_a_start_without_rules_is_unproductive_and_keeps_nothing():
    kept, is_productive, used, _ = prune_with(prune_rules, [Rule("A", ("a",))], TERMINALS, "S")
    assert not is_productive("S") and is_productive("A") and is_productive("a")
    assert kept == [] and used == set()


@pytest.mark.parametrize("lazy", [False, True])
def test_schema_grammars_are_the_same_either_way(monkeypatch, lazy):
    # ten keys in any order: 1,024 key sets, ~6k rules written out (past the kernel's
    # threshold), or made on demand (then the kernel prunes with the placeholders)
    from structgen.schema import compiler, objects
    from structgen.schema.to_grammar import schema_to_grammar

    if lazy:
        monkeypatch.setattr(compiler, "_KERNEL_PRUNE_RULES", 1)
    else:
        monkeypatch.setattr(objects, "LAZY_PAST_STATES", 1 << 20)

    schema = {
        "type": "object",
        "properties": {f"k{i}": {"type": "integer"} for i in range(10)},
        "required": ["k0"],
        "additionalProperties": False,
        "anyOf": [{"required": ["k1"]}, {"required": ["k2"]}, {"properties": {"k3": False}}],
    }
    monkeypatch.setattr(compiler, "prune_kernel", lambda: None)
    named = schema_to_grammar(schema)
    monkeypatch.setattr(compiler, "prune_kernel", lambda: prune_rules)
    coded = schema_to_grammar(schema)
    assert len(named.rules) >= compiler._KERNEL_PRUNE_RULES
    assert coded.rules == named.rules and coded.terminals == named.terminals
    assert coded.warnings == named.warnings
    assert coded.lazy == named.lazy and bool(coded.lazy) == lazy
    if lazy:  # the numbered rules are the kept ones, without the placeholders
        assert coded.arrays is not None
        assert len(coded.arrays.lhs) == len(coded.rules)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=grammars(), start=st.sampled_from(NONTERMINALS))
def test_earley_reads_numbered_rules_as_it_reads_named_ones(rules, start):
    from dataclasses import replace

    from structgen.engines.cfg.earley import EarleyGrammar
    from structgen.ir import Grammar, Terminal

    kept, is_productive, used, numbered = prune_with(prune_rules, rules, TERMINALS, start)
    if not is_productive(start):
        return
    kept = tuple(kept)
    terminals = {name: Terminal(name, name) for name in TERMINALS}
    fast = Grammar(terminals, kept, start, arrays=replace(numbered, rules=kept))
    slow = replace(fast, arrays=None)
    ids = {name: i for i, name in enumerate(sorted(used))}
    a, b = (EarleyGrammar(g, terminal_ids=ids) for g in (fast, slow))
    assert a.rules == b.rules and a.rule_length == b.rule_length
    assert a.nonterminal_ids == b.nonterminal_ids and a.rules_by_lhs == b.rules_by_lhs
    assert a.nullable == b.nullable
    # rebuilt with other rules (dataclasses.replace), the grammar's old numbering is not read
    other = replace(fast, rules=kept + (Rule(start, ()),))
    rebuilt = EarleyGrammar(other, terminal_ids=ids)
    assert rebuilt.nonterminal_ids[start] in rebuilt.nullable
