"""Token-level automata: constraints × vocabulary → precomputed masks, and the Matcher."""
