"""structgen: constrained structured generation.

Constraints (regular expressions today; grammars and JSON Schemas next) are compiled against a
tokenizer's vocabulary into token-level automata with precomputed masks. A ``Matcher`` walks one
sequence through the automaton; decoders and integrations drive it.

``import structgen`` is light: numpy only. numba, torch and transformers are imported where used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from structgen.errors import (
    ConfigurationError,
    LimitExceededError,
    MatcherError,
    MissingDependencyError,
    RegexError,
    SerializationError,
    StructgenError,
    TokenizerError,
    UnsupportedFeatureError,
)
from structgen.version import __version__

if TYPE_CHECKING:
    from structgen.automaton import Automaton
    from structgen.bitmask import allocate_token_bitmask, apply_token_bitmask, bitmask_words
    from structgen.generation import generate, generate_json, generate_result, stream
    from structgen.matcher import Matcher
    from structgen.runtime.compiled import CompiledGrammar
    from structgen.runtime.compiler import compile_grammar, compile_json_schema, compile_regex
    from structgen.runtime.tool_calls import compile_tool_calls
    from structgen.runtime.warm import warm_up
    from structgen.vocab import Vocabulary

__all__ = [
    "Automaton",
    "CompiledGrammar",
    "ConfigurationError",
    "LimitExceededError",
    "Matcher",
    "MatcherError",
    "MissingDependencyError",
    "RegexError",
    "SerializationError",
    "StructgenError",
    "TokenizerError",
    "UnsupportedFeatureError",
    "Vocabulary",
    "__version__",
    "allocate_token_bitmask",
    "apply_token_bitmask",
    "bitmask_words",
    "compile_grammar",
    "compile_json_schema",
    "compile_regex",
    "compile_tool_calls",
    "generate",
    "generate_json",
    "generate_result",
    "stream",
    "warm_up",
]

# Public names resolved on first use, so that importing the package stays cheap.
_LAZY = {
    "Vocabulary": "structgen.vocab",
    "CompiledGrammar": "structgen.runtime.compiled",
    "Matcher": "structgen.matcher",
    "Automaton": "structgen.automaton",
    "compile_regex": "structgen.runtime.compiler",
    "compile_grammar": "structgen.runtime.compiler",
    "allocate_token_bitmask": "structgen.bitmask",
    "apply_token_bitmask": "structgen.bitmask",
    "bitmask_words": "structgen.bitmask",
    "generate": "structgen.generation",
    "generate_json": "structgen.generation",
    "generate_result": "structgen.generation",
    "stream": "structgen.generation",
    "compile_json_schema": "structgen.runtime.compiler",
    "compile_tool_calls": "structgen.runtime.tool_calls",
    "warm_up": "structgen.runtime.warm",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'structgen' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
