"""A transformers ``LogitsProcessor`` that keeps ``model.generate`` inside a compiled constraint.

Usage::

    processor = StructgenLogitsProcessor(compile_regex(r"\\d{3}-\\d{4}", vocab),
                                         pad_token_id=tokenizer.pad_token_id)
    model.generate(**inputs, logits_processor=[processor], max_new_tokens=16)

What it supports:

- **Batches.** One ``CompiledGrammar`` for every row, or a list with one per input row. With
  ``num_return_sequences=k`` or ``num_beams=k`` transformers expands each input row into ``k``
  consecutive rows; a list of ``n`` grammars is expanded the same way (row ``r`` uses grammar
  ``r // k``), so a list may have one entry per input row or one per expanded row.
- **Left padding** (what decoder-only generation needs): only tokens produced after the first
  call are fed to the matchers, whatever the prompt holds. Right-padded prompts are wrong for
  generation in any case and are not detected.
- **Beam search and any row reordering.** Each call finds, for every row, the row of the
  previous call whose tokens it extends, and forks that row's matcher (``fork`` is O(1)). Rows
  that keep their place (greedy, sampling) take a fast path.
- **Finished rows.** A row whose matcher has taken an end-of-sequence token allows only the
  EOS ids and ``pad_token_id`` from then on, so sampling never sees an all ``-inf`` row. A row
  that another stopping criterion ended (it receives ``pad_token_id`` while its constraint is
  incomplete) is treated as finished too.
- **Logits wider than the vocabulary** (``model.config.vocab_size`` > tokenizer length): the
  extra columns are masked.

Not supported: assisted / speculative generation in transformers (several tokens per call).
One processor serves one ``generate`` call at a time; it notices a new call (rows that extend no
row of the previous call) and starts over, and :meth:`reset` does so explicitly.

If a matcher rejects the token the model produced — the mask forbade it, so another processor
must have changed the scores after this one — :class:`~structgen.errors.MatcherError` is raised
once, naming the row, step, token id and token bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from structgen.bitmask import allocate_token_bitmask, apply_token_bitmask, bitmask_row
from structgen.errors import ConfigurationError, MatcherError, MissingDependencyError

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
    from structgen.runtime.compiled import CompiledGrammar

__all__ = ["StructgenLogitsProcessor"]


class StructgenLogitsProcessor(LogitsProcessor):
    """Masks every token the constraint forbids, one matcher per generated row."""

    def __init__(
        self,
        compiled: CompiledGrammar | Sequence[CompiledGrammar],
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
        self.grammars: list[CompiledGrammar] = grammars
        self.vocab_size: int = widths.pop()
        self.pad_token_id = pad_token_id
        self._finished_row = self._finished_row_mask(grammars[0], pad_token_id)
        self.reset()

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the current generation; the next call starts a new one."""
        self.prompt_length: int | None = None
        self.step = 0
        self._matchers: list[Matcher] = []
        self._finished: list[bool] = []
        self._previous_ids: torch.Tensor | None = None
        self._bitmask: torch.Tensor | None = None

    @property
    def matchers(self) -> list[Matcher]:
        """The matcher of each row, in the row order of the last call."""
        return list(self._matchers)

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
        self._matchers = [self.grammars[row // per_grammar].matcher() for row in range(rows)]
        self._finished = [False] * rows
        self._bitmask = allocate_token_bitmask(rows, self.vocab_size, backend="torch")

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
        parents = self._parents(ids)
        if parents is None:
            self._start(ids)
        else:
            self.step += 1
            self._advance(ids, parents)
        self._previous_ids = ids
        if self._fill():
            apply_token_bitmask(scores, self._bitmask)
        return scores

    def _parents(self, ids: torch.Tensor) -> list[int] | None:
        """For each row, the row of the previous call that it extends by one token.

        None when some row extends none of them: a new generation has started.
        """
        previous = self._previous_ids
        if (
            previous is None
            or ids.shape[0] != previous.shape[0]
            or ids.shape[1] != previous.shape[1] + 1
        ):
            return None
        prefix = ids[:, :-1]
        if torch.equal(prefix, previous):
            return list(range(ids.shape[0]))
        same = (prefix[:, None, :] == previous[None, :, :]).all(dim=2)  # [row, previous row]
        found = same.any(dim=1)
        if not bool(found.all()):
            return None
        return same.to(torch.int8).argmax(dim=1).tolist()

    def _advance(self, ids: torch.Tensor, parents: list[int]) -> None:
        uses: dict[int, int] = {}
        for parent in parents:
            uses[parent] = uses.get(parent, 0) + 1
        matchers: list[Matcher] = []
        finished: list[bool] = []
        for row, parent in enumerate(parents):
            matcher = self._matchers[parent]
            if uses[parent] > 1 or parent != row:
                matcher = matcher.fork()
            matchers.append(matcher)
            finished.append(self._finished[parent])
        tokens = ids[:, -1].tolist()
        for row, token in enumerate(tokens):
            if finished[row]:
                continue
            matcher = matchers[row]
            if matcher.advance(token):
                finished[row] = matcher.is_terminated()
            elif token == self.pad_token_id:
                finished[row] = True  # another stopping criterion ended this row
            else:
                message = self._rejection_message(row, token, matcher)
                self.reset()  # the generation cannot go on; a later call starts afresh
                raise MatcherError(message)
        self._matchers = matchers
        self._finished = finished

    def _rejection_message(self, row: int, token: int, matcher: Matcher) -> str:
        grammar = self.grammars[0]
        token_bytes = grammar.vocab.token_bytes
        shown = (
            repr(token_bytes[token])
            if 0 <= token < len(token_bytes)
            else "(outside the vocabulary)"
        )
        return (
            f"row {row}, generated token {self.step}: the model produced token id {token} "
            f"{shown}, which the constraint does not allow here (the mask forbade it; "
            f"accepting={matcher.is_accepting()}). Another logits processor probably changed the "
            "scores after structgen's, or generation used several tokens per step (assisted "
            "generation), which StructgenLogitsProcessor does not support"
        )

    def _fill(self) -> bool:
        """Fill the bitmask for every row; True when some token is disallowed somewhere."""
        bitmask = self._bitmask
        if bitmask is None:  # pragma: no cover - _start always allocates it
            raise MatcherError("StructgenLogitsProcessor called before its first step")
        needed = False
        for row, matcher in enumerate(self._matchers):
            if self._finished[row]:
                bitmask[row].copy_(self._finished_row)
                needed = True
            elif matcher.fill_next_token_bitmask(bitmask, row):
                needed = True
        return needed

    @staticmethod
    def _finished_row_mask(grammar: CompiledGrammar, pad_token_id: int | None) -> torch.Tensor:
        """One bitmask row allowing only the EOS ids and the pad id."""
        allowed = [*grammar.vocab.eos_ids, *([] if pad_token_id is None else [pad_token_id])]
        return torch.from_numpy(bitmask_row(allowed, grammar.vocab_size))

    def __repr__(self) -> str:
        return (
            f"StructgenLogitsProcessor(grammars={len(self.grammars)}, "
            f"vocab_size={self.vocab_size}, step={self.step})"
        )
