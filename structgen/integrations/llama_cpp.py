"""A llama-cpp-python logits processor that keeps ``Llama`` generation inside a compiled constraint.

Usage::

    from llama_cpp import Llama, LogitsProcessorList
    from structgen.integrations.llama_cpp import make_logits_processor

    llama = Llama(model_path="model.gguf", verbose=False)
    processor = make_logits_processor(llama, schema={"type": "object", ...})
    out = llama.create_completion(prompt, logits_processor=LogitsProcessorList([processor]),
                                  temperature=0.0, max_tokens=128)

or, in one call, :func:`generate_json` (the chat template, greedy decoding, parsed and validated).

How it follows llama-cpp-python (0.3.x). ``Llama.generate`` puts the processors first in its
sampler chain and calls each one with ``(input_ids, logits)``: every id evaluated so far (the
prompt, then each generated token) and a float32 view of the logits of the next token, indexed
by token id. The processor keeps the ids of its last call:

- a call whose ids are the last call's plus **one** token is the next step: that token is fed
  to the matcher;
- any other call starts a **new generation** whose prompt is the ids given (a fresh matcher).
  That covers a second ``create_completion`` with the same processor, a prompt served from
  llama.cpp's prefix cache, and a stop string or ``max_tokens`` that ended the last one. A
  token that llama.cpp treats as end-of-generation ends its generation before the next call,
  so ids that end in one also start anew. :meth:`~LlamaCppLogitsProcessor.reset` forgets the
  last call explicitly (needed only when a new prompt is the last one plus exactly one token).

End of sequence: once the constraint is complete the mask allows the end-of-sequence ids (with
continuations, while the constraint allows both); once the matcher has taken an end id, or can
take nothing else, only the ids that llama.cpp stops at (``llama_vocab_is_eog``) stay allowed.

Not supported: ``Llama(draft_model=...)`` (prompt-lookup decoding evaluates draft tokens before
they are sampled, so the ids a processor sees are not the generated ones): refused by
:func:`make_logits_processor`. One processor follows one generation at a time (not thread-safe).

The vocabulary comes from the GGUF file the ``Llama`` loaded (:func:`llama_vocabulary`), read
by structgen's own GGUF reader and checked against the loaded model.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from structgen.bitmask import (
    allocate_token_bitmask,
    apply_token_bitmask,
    bitmask_row,
    bitmask_words,
)
from structgen.errors import (
    ConfigurationError,
    LimitExceededError,
    MatcherError,
    MissingDependencyError,
)
from structgen.grammar.loading import load_grammar
from structgen.runtime.compiler import compile_grammar, compile_json_schema, compile_regex
from structgen.runtime.healed import HealedConstraint, heal
from structgen.schema.generated import read_generated_json
from structgen.schema.loading import load_schema
from structgen.vocab import Vocabulary

try:
    import llama_cpp
except ImportError as _error:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError(
        "llama-cpp-python",
        purpose="structgen.integrations.llama_cpp",
        install="pip install 'structgen[llama-cpp]'",
    ) from _error

if TYPE_CHECKING:
    from structgen.matcher import Matcher
    from structgen.runtime.compiled import CompiledGrammar

__all__ = [
    "JSON_OPTIONS",
    "LlamaCppLogitsProcessor",
    "generate_json",
    "heal_prompt_ids",
    "llama_end_ids",
    "llama_vocabulary",
    "make_logits_processor",
]

# The schema options of structgen.generate (one canonical text per value), so that both paths
# constrain a model to the same texts.
JSON_OPTIONS: dict[str, Any] = {
    "whitespace": "compact",
    "property_order": "schema",
    "escapes": "canonical",
}


class LlamaCppLogitsProcessor:
    """A llama-cpp-python ``LogitsProcessor``: masks every token the constraint forbids.

    ``end_ids``: the ids llama.cpp stops at (:func:`llama_end_ids`); default: the vocabulary's
    end-of-sequence ids. ``compiled`` may be a :class:`~structgen.runtime.healed.HealedConstraint`
    (from :func:`heal_prompt_ids`: the removed bytes first, then the constraint).
    """

    def __init__(
        self,
        compiled: CompiledGrammar | HealedConstraint,
        *,
        end_ids: Iterable[int] | None = None,
    ) -> None:
        if not callable(getattr(compiled, "matcher", None)) or not hasattr(compiled, "vocab_size"):
            raise ConfigurationError(
                f"expected a CompiledGrammar (from structgen.compile_json_schema, compile_grammar "
                f"or compile_regex), got {type(compiled).__name__}"
            )
        self.compiled = compiled
        self.vocab_size: int = compiled.vocab_size
        ends = tuple(compiled.vocab.eos_ids if end_ids is None else end_ids)
        if not ends:
            raise ConfigurationError(
                "no end-of-sequence id: llama.cpp could never stop after the constraint ends"
            )
        self.end_ids: frozenset[int] = frozenset(ends)
        self._finished_row = bitmask_row(ends, self.vocab_size)
        self._bitmask = allocate_token_bitmask(1, self.vocab_size)
        self.reset()

    def reset(self) -> None:
        """Forget the current generation; the next call starts a new one."""
        self.prompt_length: int | None = None
        self.generated: list[int] = []
        self._matcher: Matcher | None = None
        self._finished = False
        self._previous: np.ndarray | None = None

    @property
    def matcher(self) -> Matcher | None:
        """The matcher of the current generation (None before the first call)."""
        return self._matcher

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        ids = np.asarray(input_ids)
        if not isinstance(scores, np.ndarray) or scores.ndim != 1:
            raise ConfigurationError(
                "expected the logits of one sequence as a 1-D numpy array (what llama-cpp-python "
                f"passes), got {type(scores).__name__} of shape {getattr(scores, 'shape', None)}"
            )
        if self._continues(ids):
            self._advance(int(ids[-1]))
        else:
            self._start(ids)
        self._previous = ids.copy()
        self._apply(scores)
        return scores

    # -- following the ids ---------------------------------------------------------------------

    def _continues(self, ids: np.ndarray) -> bool:
        """True when ``ids`` are the last call's plus one token that is not an end id."""
        previous = self._previous
        return (
            previous is not None
            and ids.shape[0] == previous.shape[0] + 1
            and int(ids[-1]) not in self.end_ids
            and np.array_equal(ids[:-1], previous)
        )

    def _start(self, ids: np.ndarray) -> None:
        self.reset()
        self.prompt_length = int(ids.shape[0])
        self._matcher = self.compiled.matcher()

    def _advance(self, token: int) -> None:
        matcher = self._matcher
        if matcher is None:  # pragma: no cover - _start always makes one
            raise MatcherError("LlamaCppLogitsProcessor advanced before its first call")
        self.generated.append(token)
        if self._finished:
            return
        if not matcher.advance(token):
            message = self._rejection_message(token, matcher)
            self.reset()  # the generation cannot go on; the next call starts afresh
            raise MatcherError(message)
        self._finished = matcher.is_terminated()

    def _rejection_message(self, token: int, matcher: Matcher) -> str:
        token_bytes = self.compiled.vocab.token_bytes
        shown = repr(token_bytes[token]) if 0 <= token < len(token_bytes) else "(outside)"
        return (
            f"generated token {len(self.generated) - 1}: llama.cpp produced token id {token} "
            f"{shown}, which the constraint does not allow here (the mask forbade it; "
            f"accepting={matcher.is_accepting()}). Another logits processor after structgen's "
            "probably raised a masked logit; or this call began a new prompt that is the last "
            "one plus one token: call processor.reset() before such a generation"
        )

    # -- masking -------------------------------------------------------------------------------

    def _apply(self, scores: np.ndarray) -> None:
        width = scores.shape[0]
        if width < len(self.compiled.vocab.token_bytes):
            raise ConfigurationError(
                f"expected logits over the {len(self.compiled.vocab.token_bytes)} tokens the "
                f"constraint was compiled for, got {width}; compile against the llama model's "
                "vocabulary (structgen.integrations.llama_cpp.llama_vocabulary(llama))"
            )
        bitmask = self._bitmask
        if self._finished:
            bitmask[0] = self._finished_row
        elif not self._matcher.fill_next_token_bitmask(bitmask, 0):  # type: ignore[union-attr]
            return
        # columns beyond the model's logits are padding ids, never allowed: drop their words
        apply_token_bitmask(scores, bitmask[:, : min(bitmask.shape[1], bitmask_words(width))])

    def __repr__(self) -> str:
        return (
            f"LlamaCppLogitsProcessor(vocab_size={self.vocab_size}, "
            f"prompt_length={self.prompt_length}, generated={len(self.generated)})"
        )


# -- the llama model's side ---------------------------------------------------------------------


def llama_vocabulary(llama: Any) -> Vocabulary:
    """The vocabulary of the GGUF file a ``Llama`` loaded, checked against the loaded model.

    Read with :meth:`Vocabulary.from_gguf` (token types say which ids are control tokens; the
    result is cached on disk and shared with every other structgen path over the same file)
    rather than one ``token_to_piece`` call per id through ctypes.
    """
    path = getattr(llama, "model_path", None)
    if not path or not os.path.isfile(path):
        raise ConfigurationError(
            f"the Llama object's model_path {path!r} is not a readable GGUF file; build the "
            "vocabulary yourself (Vocabulary.from_gguf(path)) and pass it to "
            "make_logits_processor(..., vocab=...)"
        )
    vocab = Vocabulary.from_gguf(path)
    _check_vocabulary(llama, vocab)
    return vocab


def _check_vocabulary(llama: Any, vocab: Vocabulary) -> None:
    tokens = int(llama.n_vocab())
    if len(vocab.token_bytes) != tokens:
        raise ConfigurationError(
            f"the vocabulary has {len(vocab.token_bytes)} tokens but the Llama model has "
            f"{tokens}; use the vocabulary of the GGUF file the Llama loaded"
        )


def llama_end_ids(llama: Any, vocab: Vocabulary) -> tuple[int, ...]:
    """The ids llama.cpp ends a generation at (``llama_vocab_is_eog``), over the special ids of
    ``vocab``: the ids a finished constraint leaves allowed."""
    model_vocab = llama._model.vocab
    candidates = sorted(vocab.special_ids | set(vocab.eos_ids))
    ends = tuple(i for i in candidates if llama_cpp.llama_vocab_is_eog(model_vocab, i))
    if not ends:
        raise ConfigurationError("the Llama model declares no end-of-generation token")
    return ends


def make_logits_processor(
    llama: Any,
    *,
    schema: Any = None,
    grammar: Any = None,
    regex: str | None = None,
    compiled: CompiledGrammar | None = None,
    vocab: Vocabulary | None = None,
) -> LlamaCppLogitsProcessor:
    """A processor for ``llama`` from exactly one constraint: a JSON Schema (compiled with
    :data:`JSON_OPTIONS`), a grammar (Lark or GBNF text, a bundled name, a path or IR), a
    regex, or a constraint already compiled against ``llama_vocabulary(llama)``."""
    compiled, vocab = _constraint(
        llama, schema=schema, grammar=grammar, regex=regex, compiled=compiled, vocab=vocab
    )
    return LlamaCppLogitsProcessor(compiled, end_ids=llama_end_ids(llama, vocab))


def heal_prompt_ids(
    llama: Any,
    prompt: str,
    *,
    schema: Any = None,
    grammar: Any = None,
    regex: str | None = None,
    compiled: CompiledGrammar | None = None,
    vocab: Vocabulary | None = None,
) -> tuple[list[int], LlamaCppLogitsProcessor]:
    """Token healing for ``llama.create_completion``: the prompt's ids backed up to their last
    whole token, and a processor whose output must first write the removed bytes again, then
    match the constraint (as :func:`make_logits_processor`; none: free text)::

        ids, processor = heal_prompt_ids(llama, '{"name": "Ad', regex=r'[a-z]+"}')
        out = llama.create_completion(ids, logits_processor=LogitsProcessorList([processor]))

    The ids are what ``create_completion(prompt)`` would feed (the BOS token when the model
    adds one, special tokens parsed); the completion's text starts with the removed bytes, so
    ``llama.detokenize(ids)`` + text is the prompt continued. ``processor.compiled.strip(data)``
    drops them from the completion's bytes.
    """
    if schema is None and grammar is None and regex is None and compiled is None:
        vocab = _checked_vocabulary(llama, vocab)
        constraint: CompiledGrammar | Vocabulary = vocab
    else:
        constraint, vocab = _constraint(
            llama, schema=schema, grammar=grammar, regex=regex, compiled=compiled, vocab=vocab
        )
    if getattr(llama, "draft_model", None) is not None:
        raise ConfigurationError(_DRAFT_MODEL)
    prompt_ids = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    ids, healed = heal(prompt_ids, constraint)
    return ids, LlamaCppLogitsProcessor(healed, end_ids=llama_end_ids(llama, vocab))


_DRAFT_MODEL = (
    "Llama(draft_model=...) evaluates draft tokens before they are sampled, so a logits "
    "processor cannot tell which ids were generated; load the Llama without draft_model"
)


def _checked_vocabulary(llama: Any, vocab: Vocabulary | None) -> Vocabulary:
    if vocab is None:
        return llama_vocabulary(llama)
    _check_vocabulary(llama, vocab)
    return vocab


def _constraint(
    llama: Any,
    *,
    schema: Any,
    grammar: Any,
    regex: str | None,
    compiled: CompiledGrammar | None,
    vocab: Vocabulary | None,
) -> tuple[CompiledGrammar, Vocabulary]:
    """Exactly one constraint, compiled against ``llama``'s vocabulary, and that vocabulary."""
    if getattr(llama, "draft_model", None) is not None:
        raise ConfigurationError(_DRAFT_MODEL)
    given = [
        name
        for name, value in (
            ("schema", schema),
            ("grammar", grammar),
            ("regex", regex),
            ("compiled", compiled),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise ConfigurationError(
            "make_logits_processor needs exactly one constraint: schema=, grammar=, regex= or "
            f"compiled= (got {', '.join(given) or 'none'})"
        )
    if vocab is None:
        vocab = compiled.vocab if compiled is not None else llama_vocabulary(llama)
    else:
        _check_vocabulary(llama, vocab)
    if compiled is None:
        if schema is not None:
            compiled = compile_json_schema(schema, vocab, **_schema_options(schema))
        elif regex is not None:
            compiled = compile_regex(regex, vocab)
        else:
            compiled = compile_grammar(load_grammar(grammar), vocab)
    elif compiled.vocab != vocab:
        raise ConfigurationError(
            "the compiled constraint was built for another vocabulary than the one given"
        )
    return compiled, vocab


def _schema_options(schema: Any) -> dict[str, Any]:
    options = dict(JSON_OPTIONS)
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        # pydantic ignores unknown fields yet its schema allows them: do not spend tokens on them
        options["additional_properties_default"] = False
    return options


def generate_json(
    llama: Any,
    schema: Any,
    prompt: str,
    *,
    max_tokens: int = 256,
    temperature: float = 0.0,
    chat: bool = True,
    heal: bool = True,
    **options: Any,
) -> Any:
    """JSON valid against ``schema`` generated by ``llama``, parsed (a pydantic instance when
    ``schema`` is a pydantic model class).

    ``chat``: wrap ``prompt`` in the model's chat template (``create_chat_completion``), else
    complete it as it is (``create_completion``), token-healed unless ``heal`` is False (see
    :func:`heal_prompt_ids`; the JSON is read after the healed bytes). ``options`` go to
    llama-cpp-python. A
    generation that reaches ``max_tokens`` before the JSON is complete raises
    :class:`~structgen.errors.LimitExceededError`.
    """
    value_schema = load_schema(schema) if isinstance(schema, os.PathLike) else schema
    healing = not chat and heal
    if healing:
        prompt_ids, processor = heal_prompt_ids(llama, prompt, schema=value_schema)
    else:
        processor = make_logits_processor(llama, schema=value_schema)
    processors = llama_cpp.LogitsProcessorList([processor])
    if chat:
        response = llama.create_chat_completion(
            messages=[{"role": "user", "content": prompt}],
            logits_processor=processors,
            max_tokens=max_tokens,
            temperature=temperature,
            **options,
        )
        choice = response["choices"][0]
        text = choice["message"]["content"] or ""
    else:
        response = llama.create_completion(
            prompt_ids if healing else prompt,
            logits_processor=processors,
            max_tokens=max_tokens,
            temperature=temperature,
            **options,
        )
        choice = response["choices"][0]
        text = choice["text"]
        if isinstance(processor.compiled, HealedConstraint):
            text = processor.compiled.strip(text.encode("utf-8")).decode("utf-8")
    matcher = processor.matcher
    if choice.get("finish_reason") == "length" and not (matcher and matcher.is_accepting()):
        raise LimitExceededError(
            "the generated text (max_tokens)",
            max_tokens,
            hint=f"the JSON is incomplete: {text!r}; raise max_tokens",
        )
    return read_generated_json(text, schema, checked=value_schema)
