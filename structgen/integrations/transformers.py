"""A transformers ``LogitsProcessor`` that keeps ``model.generate`` inside a compiled constraint.

Usage::

    processor = StructgenLogitsProcessor(compile_regex(r"\\d{3}-\\d{4}", vocab),
                                         pad_token_id=tokenizer.pad_token_id)
    model.generate(**inputs, logits_processor=[processor], max_new_tokens=16)

Every row's state is derived from the ``input_ids`` it is given, not from a count of calls:
each row is a :class:`~structgen.integrations.plain.ConstrainedLogits`, which advances over the
tokens it has not seen and rolls its matcher back to the common prefix when the ids are shorter
or different. That one rule covers every decoding mode of ``generate``:

- **Greedy and sampling**: each call brings one more token per row (a fast path: the rows keep
  their place).
- **Beam search and any row reordering**: the rows of a call are matched to the rows of the
  previous call by their ids (the longest common prefix, a one-to-one assignment within the
  rows of the same input prompt), and each one rolls back to where its beam diverged.
- **Assisted generation** (``assistant_model=``, ``prompt_lookup_num_tokens=``): the candidate
  check, the draft model (which gets the same processor) and the verification call the
  processor on prefixes that grow by several tokens, shrink after a rejected draft, or start
  again from an earlier length; each call is just another list of ids to follow.
- **Batches**: one ``CompiledGrammar`` for every row, or a list with one per input row. With
  ``num_return_sequences=k`` or ``num_beams=k`` transformers expands each input row into ``k``
  consecutive rows; a list of ``n`` grammars is expanded the same way (row ``r`` uses grammar
  ``r // k``), so a list may have one entry per input row or one per expanded row.
- **Left padding**: the prompt is whatever the first call of a generation holds; only the
  tokens after it are fed to the matchers.
- **Finished rows**: after a row's first end-of-sequence token (or a ``pad_token_id`` its
  constraint does not allow: another stopping criterion ended it) only the EOS ids and
  ``pad_token_id`` are allowed, so sampling never sees an all ``-inf`` row.
- **Logits wider than the vocabulary** (``model.config.vocab_size`` > tokenizer length): the
  extra columns are masked.

A call starts a new generation (and a new prompt) when the batch size changes, when the ids
are more than one token longer than any call of the current generation, or when a row shares
less than the prompt with every row of the previous call; :meth:`reset` does so explicitly.
A processor serves one ``generate`` call at a time.

**Token healing** (a prompt that ends inside a token: a trailing space, half a word, half an
indentation): :func:`heal_prompt_ids` gives the prompt's ids backed up to their last whole token
and a processor whose rows first write the removed bytes again::

    ids, processor = heal_prompt_ids(tokenizer, "def area(r):\n  ", compiled)
    out = model.generate(torch.tensor([ids]), logits_processor=[processor], max_new_tokens=32)
    tokenizer.decode(out[0])  # the prompt continued (the healed bytes are written once)

For a batch, heal each prompt with :func:`structgen.runtime.healed.heal` and pass the list of
healed constraints (one per input row) to :class:`StructgenLogitsProcessor`.

If a matcher rejects a token the model produced — the mask forbade it, so another processor
must have changed the scores after this one — :class:`~structgen.errors.MatcherError` is raised
once, naming the row, the position, the token id and its bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from structgen.bitmask import apply_token_bitmask, bitmask_row
from structgen.errors import ConfigurationError, MatcherError, MissingDependencyError
from structgen.integrations.plain import ConstrainedLogits
from structgen.runtime.compiled import CompiledGrammar
from structgen.runtime.healed import HealedConstraint, heal
from structgen.vocab import Vocabulary

try:
    import torch
    from transformers import LogitsProcessor
except ImportError as _error:  # pragma: no cover - exercised only without the extras
    raise MissingDependencyError(
        "transformers",
        purpose="structgen.integrations.transformers",
        install="pip install 'structgen[model]'",
    ) from _error

if TYPE_CHECKING:
    from structgen.matcher import Matcher

__all__ = ["StructgenLogitsProcessor", "heal_prompt_ids"]


Constraint: TypeAlias = CompiledGrammar | HealedConstraint
"""What a row follows: a compiled constraint, or one after healed prompt bytes."""


class StructgenLogitsProcessor(LogitsProcessor):
    """Masks every token the constraint forbids; each row follows the ids it is given."""

    def __init__(
        self,
        compiled: Constraint | Sequence[Constraint],
        *,
        pad_token_id: int | None = None,
    ) -> None:
        grammars = [compiled] if not isinstance(compiled, Sequence) else list(compiled)
        if not grammars:
            raise ConfigurationError("StructgenLogitsProcessor needs at least one compiled grammar")
        for grammar in grammars:
            if not callable(getattr(grammar, "matcher", None)) or not hasattr(
                grammar, "vocab_size"
            ):
                raise ConfigurationError(
                    f"expected a CompiledGrammar (from structgen.compile_regex), got "
                    f"{type(grammar).__name__}"
                )
        widths = {grammar.vocab_size for grammar in grammars}
        if len(widths) != 1:
            raise ConfigurationError(
                "the compiled grammars were built for different vocabulary sizes "
                f"{sorted(widths)}; "
                "compile them all against the model's vocabulary"
            )
        self.grammars: list[Constraint] = grammars
        self.vocab_size: int = widths.pop()
        self.pad_token_id = pad_token_id
        self._eos_ids = frozenset(grammars[0].vocab.eos_ids)
        self._stops = self._eos_ids | ({pad_token_id} if pad_token_id is not None else set())
        self._finished_row = torch.from_numpy(
            bitmask_row(sorted(self._stops), self.vocab_size)
        ).unsqueeze(0)
        self._scratch = torch.zeros(self.vocab_size)  # masked by rows that do not need a mask
        self.reset()

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the current generation; the next call starts a new one."""
        self.prompt_length: int | None = None
        self._rows: list[ConstrainedLogits] = []
        self._groups: list[int] = []  # the grammar index of each row
        self._finished: list[bool] = []
        self._previous_ids: torch.Tensor | None = None
        self._longest = 0

    @property
    def matchers(self) -> list[Matcher]:
        """The matcher of each row, in the row order of the last call."""
        return [row.matcher for row in self._rows]

    @property
    def finished(self) -> list[bool]:
        """Whether each row of the last call had ended (EOS or padding)."""
        return list(self._finished)

    def _start(self, input_ids: torch.Tensor) -> None:
        rows = input_ids.shape[0]
        count = len(self.grammars)
        if count != 1 and rows % count != 0:
            raise ConfigurationError(
                f"got {count} compiled grammars for a batch of {rows} rows; give one grammar, "
                "one per input row, or one per generated row (input rows × num_return_sequences)"
            )
        per_grammar = rows // count
        self.reset()
        self.prompt_length = int(input_ids.shape[1])
        self._groups = [row // per_grammar for row in range(rows)]
        self._rows = [ConstrainedLogits(self.grammars[group]) for group in self._groups]
        self._finished = [False] * rows

    # -- the processor -----------------------------------------------------------------------

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if (
            scores.dim() != 2
            or scores.shape[0] != input_ids.shape[0]
            or scores.shape[1] < self.vocab_size
        ):
            raise ConfigurationError(
                f"expected scores of shape [{input_ids.shape[0]}, >= {self.vocab_size}] "
                "(one row per input row, a column per token of the vocabulary the grammar was "
                "compiled for), "
                f"got {tuple(scores.shape)}; compile against the model's vocabulary "
                "(Vocabulary.from_tokenizer(tokenizer, vocab_size=model.config.vocab_size))"
            )
        ids = input_ids.detach().to("cpu")
        assignment = self._assign(ids)
        if assignment is None:
            self._start(ids)
        elif assignment != list(range(len(assignment))):
            self._rows = [self._rows[old] for old in assignment]
        self._previous_ids = ids
        self._longest = max(self._longest, int(ids.shape[1]))
        prompt_length = self.prompt_length or 0
        for row, tokens in enumerate(ids[:, prompt_length:].tolist()):
            self._finished[row] = self._follow(row, tokens, scores)
            if self._finished[row]:
                apply_token_bitmask(scores[row : row + 1], self._finished_row)
        return scores

    def _assign(self, ids: torch.Tensor) -> list[int] | None:
        """For each row, the row of the previous call whose follower it takes over.

        A one-to-one assignment within each grammar's rows, longest common prefix first. None
        when a new generation starts (see the module docstring).
        """
        previous = self._previous_ids
        prompt_length = self.prompt_length or 0
        rows, length = ids.shape
        if (
            previous is None
            or rows != previous.shape[0]
            or length < prompt_length
            or length > self._longest + 1
        ):
            return None
        shared = min(length, previous.shape[1])
        if torch.equal(ids[:, :shared], previous[:, :shared]):
            return list(range(rows))
        same = ids[:, None, :shared] == previous[None, :, :shared]  # [row, previous row, position]
        common = same.to(torch.int32).cumprod(dim=2).sum(dim=2)
        groups = torch.tensor(self._groups)
        common[groups[:, None] != groups[None, :]] = -1
        if bool((common.max(dim=1).values < prompt_length).any()):
            return None
        pairs = sorted(
            ((int(common[row, old]), row, old) for row in range(rows) for old in range(rows)),
            key=lambda pair: -pair[0],
        )
        assignment: list[int | None] = [None] * rows
        taken = [False] * rows
        for value, row, old in pairs:
            if value >= 0 and assignment[row] is None and not taken[old]:
                assignment[row], taken[old] = old, True
        return [old for old in assignment if old is not None]

    def _follow(self, row: int, tokens: list[int], scores: torch.Tensor) -> bool:
        """Bring ``row``'s follower to ``tokens`` and mask its scores; True when it has ended.

        Tokens end at the first EOS the constraint accepts (which is fed to the matcher) or the
        first ``pad_token_id`` it does not (which is not); what follows is padding. A pad id the
        constraint accepts as an ordinary token is an ordinary token.
        """
        follower = self._rows[row]
        for index, token in enumerate(tokens):
            if token not in self._stops:
                continue
            self._checked(row, follower, tokens[:index], self._scratch)
            if not follower.matcher.accepts(token):
                if token == self.pad_token_id:
                    return True
                self._checked(row, follower, tokens[: index + 1], self._scratch)  # raises
            if token in self._eos_ids:
                self._checked(row, follower, tokens[: index + 1], self._scratch)
                return True
        self._checked(row, follower, tokens, scores[row])
        return False

    def _checked(
        self, row: int, follower: ConstrainedLogits, tokens: list[int], logits: torch.Tensor
    ) -> None:
        """``follower(tokens, logits)``, its MatcherError restated with the row and token bytes."""
        try:
            follower(tokens, logits)
        except MatcherError as error:
            position = follower.matcher.num_steps
            token = tokens[position]
            token_bytes = follower.compiled.vocab.token_bytes
            shown = (
                repr(token_bytes[token])
                if 0 <= token < len(token_bytes)
                else "(outside the vocabulary)"
            )
            self.reset()  # the generation cannot go on; a later call starts afresh
            raise MatcherError(
                f"row {row}, generated token {position + 1}: the model produced token id {token} "
                f"{shown}, which the constraint does not allow here (the mask forbade it; "
                f"accepting={follower.matcher.is_accepting()}). Another logits processor "
                "probably changed the scores after structgen's"
            ) from error

    def __repr__(self) -> str:
        return (
            f"StructgenLogitsProcessor(grammars={len(self.grammars)}, "
            f"vocab_size={self.vocab_size}, rows={len(self._rows)})"
        )


def heal_prompt_ids(
    tokenizer: Any,
    prompt: str,
    constraint: CompiledGrammar | Vocabulary,
    *,
    pad_token_id: int | None = None,
    max_tokens: int = 4,
) -> tuple[list[int], StructgenLogitsProcessor]:
    """Token healing for ``model.generate``: ``tokenizer(prompt)``'s ids backed up to their last
    whole token (at most ``max_tokens`` removed), and a processor whose output writes the
    removed bytes again, then matches ``constraint`` (a compiled constraint; or the model's
    :class:`~structgen.vocab.Vocabulary` for free text after them). The generated ids spell
    the removed bytes first: decode the whole output for the prompt continued, or drop them
    from the generated bytes with ``processor.grammars[0].strip``."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    ids, healed = heal(prompt_ids, constraint, max_tokens=max_tokens)
    return ids, StructgenLogitsProcessor(healed, pad_token_id=pad_token_id)
