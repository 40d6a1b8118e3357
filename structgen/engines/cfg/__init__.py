"""The context-free engine: Earley parsing over terminals, a product lexer over terminal DFAs,
and token masks from trie walks whose lexeme boundaries are resolved against the parser."""
