"""The compile entry points (regex, grammar, JSON Schema), the compiled constraint and its
on-disk cache."""
