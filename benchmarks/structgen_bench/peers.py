"""One adapter per engine the benchmarks compare: structgen itself and its peers.

Every adapter offers the same few steps, so the harness times all engines with one loop:

- ``prepare(tokenizer)``: vocabulary-level setup (token tables, tries), timed apart from compiles;
- ``compile(regex)``: a *cold* compile, with the engine's result caches off or cleared;
- ``matcher(compiled)``: a fresh matcher at the start of the constraint;
- ``fill(matcher, bitmask)``: write the allowed-token mask, int32 ``[1, ceil(V/32)]``;
- ``advance(matcher, token_id)``: take one token, ``False`` when the engine rejects it.

The grammar benchmark adds ``compile_grammar(grammar)``: a cold compile of a
:class:`~structgen_bench.grammar_forms.BenchGrammar`, each engine reading the form it takes
(:data:`GRAMMAR_ENGINES` lists them, with the peers' builtin JSON grammars as extra rows).

MaskBench adds ``compile_schema(schema)``: a cold compile of a JSON Schema with the engine's own
JSON-schema compiler, under the options in ``schema_options`` (chosen so that ``json.dumps``
output, with its ``", "`` and ``": "`` separators, is in the language), and
``is_accepting(matcher)``: the engine's own "may stop here", cross-checked against EOS in its mask.

Peers are optional (dependencies of the ``structgen-bench`` distribution): a missing package
makes its engine "not installed".
Peers are driven through their lowest-overhead public call for a numpy mask, so that Python
glue does not count against them.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pickle
import tempfile
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from structgen.errors import ConfigurationError
from structgen.kernels.trie_walk import warm_up
from structgen.runtime.cache import wait_for_writes
from structgen.runtime.compiler import compile_grammar, compile_json_schema, compile_regex
from structgen.schema import SchemaOptions, SchemaWarning
from structgen.version import __version__
from structgen.vocab import Vocabulary
from structgen_bench.errors import EngineError, GrammarNotSupported
from structgen_bench.grammar_forms import BenchGrammar
from structgen_bench.masks import new_bitmask
from structgen_bench.structgen_caches import drop_memo_caches
from structgen_bench.timing import package_version
from structgen_bench.vocabs import LoadedTokenizer

__all__ = [
    "EngineAdapter",
    "ENGINES",
    "GRAMMAR_ENGINES",
    "make_engine",
    "make_grammar_engine",
]


# A tiny grammar with a regex terminal, a literal and an ignored terminal: compiled and masked
# once per vocabulary before the grammar benchmark measures anything.
WARM_UP_LARK = 'start: "a" item+\nitem: /[0-9]+/ | "b"\n%ignore " "\n'

# A small schema touching objects, arrays, strings, numbers and enums: compiled and masked once
# per vocabulary before MaskBench measures anything.
WARM_UP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "tags": {"type": "array", "items": {"type": "string"}},
        "size": {"type": "number"},
        "kind": {"enum": ["a", "b"]},
    },
    "required": ["name"],
}


class EngineAdapter(ABC):
    """The steps the benchmark harness runs on one engine (see the module docstring)."""

    name: ClassVar[str]
    distribution: ClassVar[str]  # the PyPI name, for versions and install hints
    module: ClassVar[str]  # what to import to tell whether it is installed
    cold_compile: ClassVar[str]  # what a "cold" compile means for this engine
    own_memory: ClassVar[str]  # what memory_bytes(), the engine's own size report, measures
    prepare_does: ClassVar[str]  # what prepare() builds (excluded from compile time)

    def __init__(self) -> None:
        self.tokenizer: LoadedTokenizer | None = None
        self.schema_warnings = []

    def missing(self) -> str | None:
        """``None`` when the engine can run, else why not (e.g. "not installed")."""
        try:
            importlib.import_module(self.module)
        except ImportError as error:
            return f"not installed ({error}); pip install {self.distribution}"
        return None

    def version(self) -> str | None:
        return package_version(self.distribution)

    def info(self) -> dict[str, Any]:
        """What every benchmark records about the engine: version, whether it runs, and what
        ``prepare()`` builds; each benchmark adds its own fields."""
        missing = self.missing()
        return {
            "version": self.version() if missing is None else None,
            "status": "ok" if missing is None else "not installed",
            "reason": missing,
            "prepare": self.prepare_does,
        }

    @abstractmethod
    def prepare(self, tokenizer: LoadedTokenizer) -> None: ...

    def warm_up(self) -> None:
        """Compile and walk a trivial regex once, so one-time library set-up is not timed."""
        self._first_mask(self.compile("a|b"))

    def _first_mask(self, compiled: Any) -> None:
        """Compute the first mask of ``compiled`` (the end of every warm-up)."""
        self.fill(self.matcher(compiled), new_bitmask(self.mask_words))

    @property
    def vocab_size(self) -> int:
        if self.tokenizer is None:
            raise EngineError("prepare() was not called")
        return self.tokenizer.vocab_size

    @property
    def mask_words(self) -> int:
        """Width of this engine's bitmask in int32 words (ceil(V/32) unless it insists)."""
        return (self.vocab_size + 31) // 32

    @abstractmethod
    def compile(self, regex: str) -> Any: ...

    def memory_bytes(self, compiled: Any) -> int | None:
        return None

    @abstractmethod
    def matcher(self, compiled: Any) -> Any: ...

    @abstractmethod
    def fill(self, matcher: Any, bitmask: np.ndarray) -> None: ...

    @abstractmethod
    def advance(self, matcher: Any, token_id: int) -> bool: ...

    def release(self) -> None:
        """Drop the vocabulary-level objects of the last ``prepare``."""
        self.tokenizer = None

    # -- grammars (the grammar benchmark) ---------------------------------------------------
    cold_compile_grammar: ClassVar[str] = ""  # what a cold grammar compile means here
    grammar_form: ClassVar[str] = ""  # which text of the grammar the engine reads
    only_grammars: ClassVar[tuple[str, ...] | None] = None  # rows this engine has (None: all)

    def compile_grammar(self, grammar: BenchGrammar) -> Any:
        """A cold compile of ``grammar``; :class:`GrammarNotSupported` when it cannot take it."""
        raise GrammarNotSupported(f"{self.name} has no grammar support")

    def grammar_warm_up(self) -> None:
        """Compile and mask a tiny grammar once, so one-time set-up (JIT, tables) is not timed."""
        name = "warm-up" if self.only_grammars is None else self.only_grammars[0]
        self._first_mask(self.compile_grammar(BenchGrammar(name, WARM_UP_LARK)))

    # -- JSON schemas (MaskBench) -----------------------------------------------------------
    cold_compile_schema: ClassVar[str] = ""  # what a cold schema compile means here
    schema_options: ClassVar[dict[str, Any]] = {}  # passed to the engine's schema compiler
    schema_warnings: list[str]  # what the last compile_schema ignored or approximated, if said

    def compile_schema(self, schema: Any) -> Any:
        """A cold compile of the JSON Schema ``schema`` (parsed JSON) under ``schema_options``."""
        raise EngineError(f"{self.name} has no JSON-schema support")

    def schema_options_used(self) -> dict[str, Any]:
        """Every option the schema compiler runs with, defaults included (for the results)."""
        return dict(self.schema_options)

    def is_accepting(self, matcher: Any) -> bool:
        """The engine's own answer to "may the output end here?" (EOS is checked apart)."""
        raise EngineError(f"{self.name} has no accepting-state query")

    def schema_warm_up(self) -> None:
        """Compile and mask a small schema once, so one-time set-up (JIT, tables) is not timed."""
        self._first_mask(self.compile_schema(WARM_UP_SCHEMA))

    # -- MaskBench's second compile and memory pass -------------------------------------------
    repeat_compile_schema: ClassVar[str] = (
        "`compile_schema` again in the same warmed-up process: a second cold compile (the "
        "engine has no disk cache, and any in-memory one is off or cleared as in the first)"
    )
    traces_memory: ClassVar[bool] = False  # Python/numpy allocations: tracemalloc sees them

    def before_compile_again(self) -> None:
        """What MaskBench does before timing the second compile of a schema (untimed)."""

    def compile_schema_again(self, schema: Any) -> Any:
        """MaskBench's second compile of a schema in the same process (``repeat_compile_schema``
        says what it is); timed, after :meth:`before_compile_again`."""
        return self.compile_schema(schema)

    def cold_scope(self) -> AbstractContextManager[Any]:
        """A region in which ``compile_schema`` is cold again (MaskBench's memory pass)."""
        return nullcontext()

    def schema_scope(self) -> AbstractContextManager[Any]:
        """The region of one schema's compiles (MaskBench wraps each schema in one)."""
        return nullcontext()

    def from_cache(self, compiled: Any) -> bool | None:
        """Whether ``compiled`` was read from the engine's cache; ``None``: it cannot say."""
        return None


class StructgenEngine(EngineAdapter):
    name = "structgen"
    distribution = "structgen"
    module = "structgen.runtime.compiler"
    cold_compile = (
        "`compile_regex(pattern, vocab, cache=False)`: the on-disk compiled-grammar cache is "
        "neither read nor written; the Vocabulary is read in prepare and its token trie "
        "(memoised per vocabulary in the process, like xgrammar's TokenizerInfo and "
        "llguidance's LLTokenizer) is built during the warm-up, with the numba JIT"
    )
    own_memory = "CompiledGrammar.stats()['memory_bytes'] (its arrays)"
    prepare_does = "Vocabulary.from_gguf(path)"

    def __init__(self) -> None:
        super().__init__()
        self.vocab: Any = None
        self.vocab_check: dict[str, Any] = {}
        self.schema_cache_dir: Path | None = None  # None: structgen's default cache directory

    def version(self) -> str | None:
        return __version__

    def _first_mask(self, compiled: Any) -> None:
        # A benchmark worker is a long-lived process: it loads the numba kernels at start-up
        # as a server would (structgen.warm_up), instead of buying them mid-run.
        warm_up()
        super()._first_mask(compiled)

    def prepare(self, tokenizer: LoadedTokenizer) -> None:
        self.tokenizer = tokenizer
        self.vocab = Vocabulary.from_gguf(tokenizer.path)
        # Cross-check structgen's decoder against the benchmark's own reading of the tokenizer.
        ours = self.vocab.token_bytes
        theirs = tokenizer.token_bytes
        differing = [
            i
            for i in range(min(len(ours), len(theirs)))
            if theirs[i] is not None and i not in self.vocab.special_ids and ours[i] != theirs[i]
        ]
        self.vocab_check = {
            "structgen_size": int(self.vocab.size),
            "hf_size": len(theirs),
            "differing_token_bytes": len(differing),
            "differing_examples": [
                {"id": i, "structgen": repr(ours[i]), "hf": repr(theirs[i])} for i in differing[:5]
            ],
        }

    def compile(self, regex: str) -> Any:
        return compile_regex(regex, self.vocab, cache=False)

    cold_compile_grammar = (
        "`compile_grammar(lark_text, vocab)`: the Lark text is loaded by lark into the IR, "
        "terminal DFAs and the product lexer are built, the root trie walk of every lexer state "
        "the first parser states reach is precomputed, and the first mask is computed; nothing "
        "is cached between compiles except the vocabulary's token trie (built in the warm-up)"
    )
    grammar_form = "the bundled .lark file as it is"

    def compile_grammar(self, grammar: BenchGrammar) -> Any:
        return compile_grammar(grammar.lark_text, self.vocab, syntax="lark")

    cold_compile_schema = (
        "`compile_json_schema(schema, vocab, cache_dir=..., **options)`: the schema is checked "
        "against its meta-schema, turned into the grammar IR and compiled like a grammar (what "
        "is built ahead of the first mask and what lazily is the engine's choice); compiled "
        "schemas are cached in a new empty directory per schema (`cache_dir`), so a first "
        "compile never reads one (`from_cache` is recorded); per-vocabulary files go to a new "
        "empty $STRUCTGEN_CACHE_DIR per run; the vocabulary's token trie is built in the warm-up"
    )
    schema_options = {"whitespace": "flexible"}
    repeat_compile_schema = (
        "`compile_json_schema` again in the same worker after structgen's in-memory memo caches "
        "are dropped (its modules' functools caches; the vocabulary's token trie is kept), the "
        "disk cache that the first compile wrote kept: a warm-cache compile wherever the "
        "compiled schema is cached on disk (`from_cache` says whether it was)"
    )
    traces_memory = True

    def before_compile_again(self) -> None:
        # (untimed: scanning every structgen module for its memo caches is the harness's work)
        drop_memo_caches()

    @contextmanager
    def _own_entries(self) -> Iterator[None]:
        previous = self.schema_cache_dir
        with tempfile.TemporaryDirectory(prefix="structgen-bench-schema-") as directory:
            self.schema_cache_dir = Path(directory)
            try:
                yield
            finally:
                self.schema_cache_dir = previous
                # The compile's entry is written by a background thread: removing the directory
                # under it failed the second compile of 3-4 schemas a run ("Directory not empty").
                wait_for_writes(timeout=60)

    def schema_scope(self) -> AbstractContextManager[Any]:
        """Compiled-schema cache entries in a new empty directory for the region: the first
        compile is cold even for a schema text seen before, the second reads the first's."""
        return self._own_entries()

    @contextmanager
    def _cold(self) -> Iterator[None]:
        with self._own_entries():
            drop_memo_caches()
            yield

    def cold_scope(self) -> AbstractContextManager[Any]:
        """No cache entry and no memo caches: the memory pass compiles cold."""
        return self._cold()

    def from_cache(self, compiled: Any) -> bool | None:
        return bool(compiled.from_cache)  # stats()["from_cache"], without computing the rest

    def compile_schema(self, schema: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SchemaWarning)
            compiled = compile_json_schema(schema, self.vocab, cache_dir=self.schema_cache_dir,
                                           **self.schema_options)  # fmt: skip
        self.schema_warnings = [str(w.message) for w in caught if w.category is SchemaWarning]
        return compiled

    def schema_options_used(self) -> dict[str, Any]:
        return asdict(SchemaOptions.build(**self.schema_options))

    def is_accepting(self, matcher: Any) -> bool:
        return bool(matcher.is_accepting())

    def memory_bytes(self, compiled: Any) -> int | None:
        value = compiled.stats().get("memory_bytes")
        return None if value is None else int(value)

    def matcher(self, compiled: Any) -> Any:
        return compiled.matcher()

    def fill(self, matcher: Any, bitmask: np.ndarray) -> None:
        matcher.fill_next_token_bitmask(bitmask, 0)

    def advance(self, matcher: Any, token_id: int) -> bool:
        return bool(matcher.advance(token_id))

    def release(self) -> None:
        super().release()
        self.vocab = None


class XGrammarEngine(EngineAdapter):
    name = "xgrammar"
    distribution = "xgrammar"
    module = "xgrammar"
    cold_compile = (
        "`GrammarCompiler(info, cache_enabled=False).compile_regex(pattern)` after "
        "`clear_cache()`; TokenizerInfo (sorted decoded vocabulary) built in prepare; default "
        "max_threads=8 (mask precomputation is multi-threaded)"
    )
    own_memory = "CompiledGrammar.memory_size_bytes"
    prepare_does = "TokenizerInfo.from_huggingface(tokenizer, vocab_size=V) + GrammarCompiler"

    def prepare(self, tokenizer: LoadedTokenizer) -> None:
        import xgrammar as xgr

        self.tokenizer = tokenizer
        self.info = xgr.TokenizerInfo.from_huggingface(
            tokenizer.hf, vocab_size=tokenizer.vocab_size, stop_token_ids=[tokenizer.eos_id]
        )
        self.compiler = xgr.GrammarCompiler(self.info, cache_enabled=False)

    def compile(self, regex: str) -> Any:
        self.compiler.clear_cache()
        return self.compiler.compile_regex(regex)

    cold_compile_grammar = (
        "`GrammarCompiler(info, cache_enabled=False).compile_grammar(ebnf)` after "
        "`clear_cache()` (EBNF parsing, grammar optimisation and the token-mask "
        "precomputation of every parser state, multi-threaded with max_threads=8)"
    )
    grammar_form = (
        "the bundled .gbnf file where there is one (json, arithmetic), else the grammar IR "
        "printed as EBNF by structgen_bench.grammar_forms.xgrammar_ebnf (not timed)"
    )

    def compile_grammar(self, grammar: BenchGrammar) -> Any:
        text = grammar.xgrammar_text()  # raises GrammarNotSupported when not expressible
        self.compiler.clear_cache()
        return self.compiler.compile_grammar(text)

    cold_compile_schema = (
        "`GrammarCompiler(info, cache_enabled=False).compile_json_schema(json.dumps(schema), "
        "**options)` after `clear_cache()` (schema to EBNF, then as a grammar compile: the "
        "token-mask precomputation, multi-threaded with max_threads=8)"
    )
    # MaskBench's "compliant" XGrammar: any whitespace, and properties or items the schema
    # does not list are allowed (strict_mode=True would forbid them, against JSON Schema).
    schema_options = {"any_whitespace": True, "strict_mode": False}

    def compile_schema(self, schema: Any) -> Any:
        self.compiler.clear_cache()
        return self.compiler.compile_json_schema(json.dumps(schema), **self.schema_options)

    def schema_options_used(self) -> dict[str, Any]:
        signature = inspect.signature(self.compiler.compile_json_schema)
        defaults = {
            name: parameter.default
            for name, parameter in signature.parameters.items()
            if parameter.default is not inspect.Parameter.empty
        }
        return {**defaults, **self.schema_options}

    def is_accepting(self, matcher: Any) -> bool:
        return bool(matcher.is_completed())

    def memory_bytes(self, compiled: Any) -> int | None:
        return int(compiled.memory_size_bytes)

    def matcher(self, compiled: Any) -> Any:
        import xgrammar as xgr

        return xgr.GrammarMatcher(compiled)

    def fill(self, matcher: Any, bitmask: np.ndarray) -> None:
        matcher.fill_next_token_bitmask(bitmask, 0)

    def advance(self, matcher: Any, token_id: int) -> bool:
        return bool(matcher.accept_token(token_id))

    def release(self) -> None:
        super().release()
        self.info = None
        self.compiler = None


class OutlinesCoreEngine(EngineAdapter):
    name = "outlines-core"
    distribution = "outlines-core"
    module = "outlines_core"
    cold_compile = (
        "`Index(pattern, vocabulary)`: outlines-core keeps no cache; the Vocabulary (token "
        "bytes to ids) is built in prepare"
    )
    own_memory = "none; len(pickle.dumps(index)), the serialized size, stands in"
    prepare_does = "Vocabulary(eos_id, {token bytes: [ids]}) from the tokenizer's decoded tokens"

    def prepare(self, tokenizer: LoadedTokenizer) -> None:
        import outlines_core

        self.tokenizer = tokenizer
        table: dict[bytes, list[int]] = {}
        for index, data in enumerate(tokenizer.token_bytes):
            if data is None or data == b"" or index == tokenizer.eos_id:
                continue
            table.setdefault(data, []).append(index)
        self.vocabulary = outlines_core.Vocabulary(tokenizer.eos_id, table)

    def compile(self, regex: str) -> Any:
        import outlines_core

        return outlines_core.Index(regex, self.vocabulary)

    cold_compile_schema = (
        "`Index(build_regex_from_schema(json.dumps(schema)), vocabulary)`: the schema becomes "
        "one regex (whitespace `[ ]?` between tokens, recursion unrolled to depth 3), then the "
        "token-level index; no cache"
    )
    schema_options = {"whitespace_pattern": None, "max_recursion_depth": 3}

    def compile_schema(self, schema: Any) -> Any:
        import outlines_core
        from outlines_core.json_schema import build_regex_from_schema

        regex = build_regex_from_schema(json.dumps(schema), **self.schema_options)
        return outlines_core.Index(regex, self.vocabulary)

    def schema_options_used(self) -> dict[str, Any]:
        from outlines_core.json_schema import WHITESPACE

        return {**self.schema_options, "whitespace_pattern (None means)": WHITESPACE}

    def is_accepting(self, matcher: Any) -> bool:
        return bool(matcher.is_finished())

    def memory_bytes(self, compiled: Any) -> int | None:
        try:
            return len(pickle.dumps(compiled))
        except Exception:
            return None

    def matcher(self, compiled: Any) -> Any:
        import outlines_core

        return outlines_core.Guide(compiled)

    def fill(self, matcher: Any, bitmask: np.ndarray) -> None:
        matcher.write_mask_into(bitmask.ctypes.data, bitmask.size, bitmask.itemsize)

    def advance(self, matcher: Any, token_id: int) -> bool:
        try:
            matcher.advance(token_id, return_tokens=False)
        except ValueError:
            return False
        return True

    def release(self) -> None:
        super().release()
        self.vocabulary = None


class LLGuidanceEngine(EngineAdapter):
    name = "llguidance"
    distribution = "llguidance"
    module = "llguidance"
    cold_compile = (
        "`LLMatcher(tokenizer, LLMatcher.grammar_from_regex(pattern))`: a new matcher, no "
        "cache; LLTokenizer (token trie) built in prepare. llguidance builds its lexer DFA "
        "lazily, so part of its compile work moves into the first masks (see first-mask time)"
    )
    own_memory = "none (no memory API)"
    prepare_does = "llguidance.hf.from_tokenizer(tokenizer, n_vocab=V)"  # see prepare()

    def prepare(self, tokenizer: LoadedTokenizer) -> None:
        import llguidance.hf

        self.tokenizer = tokenizer
        # llguidance refuses an n_vocab below the tokenizer's own count (transformers adds
        # a token to Llama-3's GGUF vocabulary), so its mask may be one word wider.
        n_vocab = max(tokenizer.vocab_size, len(tokenizer.hf))
        self.lltokenizer = llguidance.hf.from_tokenizer(
            tokenizer.hf, n_vocab=n_vocab, eos_token=tokenizer.eos_id
        )

    @property
    def mask_words(self) -> int:
        return (int(self.lltokenizer.vocab_size) + 31) // 32

    def compile(self, regex: str) -> Any:
        import llguidance

        return self._matcher_for(llguidance.LLMatcher.grammar_from_regex(regex))

    cold_compile_grammar = (
        "`LLMatcher(tokenizer, LLMatcher.grammar_from_lark(text))`: a new matcher, no cache "
        "(grammar parsing and the parser tables); llguidance builds its lexer DFA lazily, so "
        "part of its compile work moves into the first masks"
    )
    grammar_form = (
        "the bundled .lark file with its regex literals re-printed with explicit ASCII classes "
        "(structgen_bench.grammar_forms.llguidance_lark, not timed)"
    )

    def compile_grammar(self, grammar: BenchGrammar) -> Any:
        import llguidance

        return self._matcher_for(llguidance.LLMatcher.grammar_from_lark(grammar.llguidance_text()))

    def _matcher_for(self, grammar: str) -> Any:
        import llguidance

        matcher = llguidance.LLMatcher(self.lltokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise EngineError(f"llguidance: {matcher.get_error()}")
        return matcher

    cold_compile_schema = (
        "`LLMatcher(tokenizer, LLMatcher.grammar_from_json_schema(schema, defaults=options))`: "
        "a new matcher, no cache; the lexer DFA is built lazily, so part of the compile work "
        "moves into the first masks"
    )
    # llguidance's own defaults, written out: whitespace runs [ \t\n\r]+ around separators.
    schema_options = {"whitespace_flexible": True, "lenient": False, "coerce_one_of": False}

    def compile_schema(self, schema: Any) -> Any:
        import llguidance

        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            schema, defaults=dict(self.schema_options)  # type: ignore[arg-type]
        )
        return self._matcher_for(grammar)

    def is_accepting(self, matcher: Any) -> bool:
        return bool(matcher.is_accepting())

    def matcher(self, compiled: Any) -> Any:
        return compiled.deep_copy()

    def fill(self, matcher: Any, bitmask: np.ndarray) -> None:
        matcher.unsafe_compute_mask_ptr(bitmask.ctypes.data, bitmask.nbytes)

    def advance(self, matcher: Any, token_id: int) -> bool:
        return bool(matcher.consume_token(token_id)) and not matcher.is_error()

    def release(self) -> None:
        super().release()
        self.lltokenizer = None


class XGrammarBuiltinJSONEngine(XGrammarEngine):
    """xgrammar's own JSON grammar: an extra row of the grammar benchmark's JSON results."""

    name = "xgrammar-builtin"
    only_grammars = ("json",)
    cold_compile_grammar = (
        "`GrammarCompiler(info, cache_enabled=False).compile_builtin_json_grammar()` after "
        "`clear_cache()`"
    )
    grammar_form = (
        "xgrammar's builtin JSON grammar (objects and arrays only at the top level, so "
        "scalar documents fail)"
    )

    def compile_grammar(self, grammar: BenchGrammar) -> Any:
        if grammar.name not in self.only_grammars:
            raise GrammarNotSupported("builtin JSON grammar only")
        self.compiler.clear_cache()
        return self.compiler.compile_builtin_json_grammar()


class LLGuidanceBuiltinJSONEngine(LLGuidanceEngine):
    """llguidance's JSON (the schema ``{}``): an extra row of the JSON results."""

    name = "llguidance-builtin"
    only_grammars = ("json",)
    cold_compile_grammar = (
        "`LLMatcher(tokenizer, LLMatcher.grammar_from_json_schema({}))`: any JSON value, "
        "llguidance's default (flexible) whitespace"
    )
    grammar_form = "llguidance's JSON-schema compiler on the schema {}"

    def compile_grammar(self, grammar: BenchGrammar) -> Any:
        import llguidance

        if grammar.name not in self.only_grammars:
            raise GrammarNotSupported("builtin JSON grammar only")
        return self._matcher_for(llguidance.LLMatcher.grammar_from_json_schema({}))


ENGINES: dict[str, type[EngineAdapter]] = {
    cls.name: cls
    for cls in (StructgenEngine, XGrammarEngine, OutlinesCoreEngine, LLGuidanceEngine)
}

# The grammar benchmark's engines: outlines-core has no context-free grammars.
GRAMMAR_ENGINES: dict[str, type[EngineAdapter]] = {
    cls.name: cls
    for cls in (
        StructgenEngine,
        XGrammarEngine,
        LLGuidanceEngine,
        XGrammarBuiltinJSONEngine,
        LLGuidanceBuiltinJSONEngine,
    )
}


def _make(table: dict[str, type[EngineAdapter]], name: str) -> EngineAdapter:
    try:
        return table[name]()
    except KeyError:
        raise ConfigurationError(
            f"unknown engine {name!r}; expected some of: {', '.join(table)}"
        ) from None


def make_grammar_engine(name: str) -> EngineAdapter:
    """A fresh adapter for grammar-benchmark engine ``name`` (one of :data:`GRAMMAR_ENGINES`)."""
    return _make(GRAMMAR_ENGINES, name)


def make_engine(name: str) -> EngineAdapter:
    """A fresh adapter for engine ``name`` (one of :data:`ENGINES`)."""
    return _make(ENGINES, name)
