"""Engines: each compiles a constraint against a vocabulary and drives its own Matcher.

- ``dfa``: regular constraints as a token-level DFA whose masks are all precomputed.
- ``cfg``: context-free constraints: Earley parsing over terminals, a product lexer over
  terminal DFAs, token masks from trie walks whose lexeme boundaries the parser resolves.
"""
