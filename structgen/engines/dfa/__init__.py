"""The regular engine: a token-level DFA with precomputed, deduplicated masks, and its matcher."""
