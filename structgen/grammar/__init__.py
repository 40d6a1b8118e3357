"""Context-free grammars: frontends (Lark, GBNF) into one IR, and the analyses over it."""

from structgen.grammar.analysis import (
    check_grammar,
    min_derivation_heights,
    nullable_nonterminals,
    productive,
    reachable,
)
from structgen.grammar.errors import GrammarError, GrammarWarning
from structgen.grammar.gbnf_frontend import grammar_from_gbnf
from structgen.grammar.lark_frontend import grammar_from_lark
from structgen.grammar.loading import load_grammar
from structgen.ir import Grammar, Rule, Terminal

__all__ = [
    "Grammar",
    "GrammarError",
    "GrammarWarning",
    "Rule",
    "Terminal",
    "check_grammar",
    "grammar_from_gbnf",
    "grammar_from_lark",
    "load_grammar",
    "min_derivation_heights",
    "nullable_nonterminals",
    "productive",
    "reachable",
]
