"""vLLM's structured-output backend interface (``vllm/v1/structured_output/backend_types.py``)
over structgen's compiled constraints and matchers.

Registration: vLLM 0.34.0 has **no** way to plug in an out-of-tree structured-output backend.
``StructuredOutputsConfig.backend`` is a ``Literal["auto", "xgrammar", "guidance", "outlines",
"lm-format-enforcer"]`` (pydantic rejects any other name), ``SamplingParams`` resolves and
validates a request's backend by those names, and ``StructuredOutputManager.grammar_init``
builds the backend by an ``if``/``elif`` over them; no entry-point group or registry is read.
Using these classes inside a running vLLM would mean patching vLLM, which structgen does not
do. The supported way to constrain vLLM with structgen is
:class:`~structgen.integrations.vllm.StructgenLogitsProcessor`. These classes are tested
through vLLM's own ``StructuredOutputManager.grammar_bitmask`` (the scheduler-side bitmask
fill, speculative rows included) and are ready for the day vLLM accepts a backend class.

The bitmask layouts agree: vLLM allocates ``xgr.allocate_token_bitmask(n, vocab_size)``, int32
``[n, ceil(vocab_size / 32)]`` with bit ``t % 32`` of word ``t // 32`` meaning "token ``t``
allowed" — structgen's layout (:mod:`structgen.bitmask`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vllm.v1.structured_output.backend_types import (
    StructuredOutputBackend,
    StructuredOutputGrammar,
    StructuredOutputOptions,
)

from structgen.bitmask import allocate_token_bitmask
from structgen.integrations.vllm.constraints import ConstraintSpec, compiled_constraint
from structgen.vocab import Vocabulary

if TYPE_CHECKING:
    import torch

    from structgen.matcher import Matcher

__all__ = ["StructgenBackend", "StructgenGrammar"]


@dataclass
class StructgenGrammar(StructuredOutputGrammar):
    """One request's matcher, with vLLM's accept / validate / rollback contract."""

    matcher: Matcher
    num_processed_tokens: int = field(default=0, init=False)

    def accept_tokens(self, request_id: str, tokens: list[int]) -> bool:
        """Advance over ``tokens``; all or nothing (False leaves the state unchanged). Tokens
        after the end-of-sequence token are ignored, as vLLM's backends do."""
        accepted = 0
        for token in tokens:
            if self.matcher.is_terminated():
                break
            if not self.matcher.advance(int(token)):
                if accepted:
                    self.matcher.rollback(accepted)
                return False
            accepted += 1
        self.num_processed_tokens += accepted
        return True

    def validate_tokens(self, tokens: list[int]) -> list[int]:
        """The longest prefix of ``tokens`` the constraint allows (up to its end), without
        advancing."""
        accepted: list[int] = []
        for token in tokens:
            if self.matcher.is_terminated() or not self.matcher.advance(int(token)):
                break
            accepted.append(int(token))
        if accepted:
            self.matcher.rollback(len(accepted))
        return accepted

    def rollback(self, num_tokens: int) -> None:
        self.matcher.rollback(num_tokens)
        self.num_processed_tokens -= num_tokens

    def fill_bitmask(self, bitmask: torch.Tensor, batch_index: int) -> None:
        self.matcher.fill_next_token_bitmask(bitmask, batch_index)

    def is_terminated(self) -> bool:
        return self.matcher.is_terminated()

    def reset(self) -> None:
        self.matcher.reset()
        self.num_processed_tokens = 0


@dataclass
class StructgenBackend(StructuredOutputBackend):
    """Compiles vLLM's structured-output requests (JSON Schema, JSON object, regex, Lark/GBNF
    grammar, choice) with structgen against the tokenizer's vocabulary. Structural tags are
    refused (ValueError)."""

    vocab: Vocabulary | None = None

    def __post_init__(self) -> None:
        if self.vocab is None:
            self._read_vocabulary()

    def compile_grammar(
        self,
        request_type: StructuredOutputOptions,
        grammar_spec: str,
        stop_token_ids: set[int] | None = None,
    ) -> StructuredOutputGrammar:
        """A grammar for one request. The end of the text is the vocabulary's end-of-sequence
        ids (masked until the constraint is complete); ``stop_token_ids`` that are not among
        them are masked inside the constraint like every special token."""
        vocab = self.vocab if self.vocab is not None else self._read_vocabulary()
        spec = _spec(request_type, grammar_spec)
        return StructgenGrammar(matcher=compiled_constraint(spec, vocab).matcher())

    def _read_vocabulary(self) -> Vocabulary:
        self.vocab = Vocabulary.from_tokenizer(self.tokenizer, vocab_size=self.vocab_size)
        return self.vocab

    def allocate_token_bitmask(self, max_num_seqs: int) -> torch.Tensor:
        return allocate_token_bitmask(max_num_seqs, self.vocab_size, backend="torch")

    def destroy(self) -> None:
        """Nothing to release: compiled constraints live in the process-wide cache."""


def _spec(request_type: StructuredOutputOptions, grammar_spec: str) -> ConstraintSpec:
    options = StructuredOutputOptions
    if request_type == options.JSON:
        return ConstraintSpec("json_schema", grammar_spec)
    if request_type == options.JSON_OBJECT:
        return ConstraintSpec("json_schema", '{"type":"object"}')
    if request_type == options.REGEX:
        return ConstraintSpec("regex", grammar_spec)
    if request_type == options.GRAMMAR:
        return ConstraintSpec("grammar", grammar_spec)
    if request_type == options.CHOICE:
        choices: Any = json.loads(grammar_spec)
        return ConstraintSpec("regex", "|".join(_literal(str(choice)) for choice in choices))
    raise ValueError(f"structgen does not compile vLLM's {request_type.name} requests")


def _literal(text: str) -> str:
    """``text`` as a regex that matches exactly it."""
    return "".join("\\" + char if char in _REGEX_SPECIAL else char for char in text)


_REGEX_SPECIAL = frozenset(".^$*+?{}[]\\|()")
