"""A custom logits processor for vLLM's V1 engine (its model runner V2, vLLM 0.34)::

    vllm serve MODEL --logits-processors structgen.integrations.vllm:StructgenLogitsProcessor

and per request ``SamplingParams(extra_args={"structgen_json_schema": schema})`` (see
:mod:`structgen.integrations.vllm.constraints` for the keys; over HTTP ``"vllm_xargs"``).

vLLM 0.34 calls, for each request entering the batch, ``add_request(slot, sampling_params)``
(slots are recycled: the slot's previous state is replaced), and once per step ``apply(logits,
ctx)`` with one logits row per sampled position: ``ctx.expanded_idx_mapping[row]`` is the
row's request slot and ``ctx.expanded_local_pos[row]`` its offset among its request's rows (one
row per draft token under speculative decoding). A request's committed tokens are
``req_states.all_token_ids[slot, :total_len[slot]]`` (the output starts at ``prompt_len``,
partial output restored after preemption included); a row at local position ``p`` also sees
the draft tokens ``ctx.input_ids`` of the ``p`` rows after its request's first row (as vLLM's
bad-words kernel reads them).

Each constrained slot keeps a matcher and the tokens it has fed it; each step the processor
reads only the committed tokens it has not seen (one gather), rolls the matcher back to the
common prefix of a different history (rejected drafts), fills the rows' bitmasks with
:func:`structgen.runtime.batch.fill_next_token_bitmasks` and applies them in place with
:func:`structgen.apply_token_bitmask` (torch ops; the triton kernel on CUDA). A terminated row
(its end-of-sequence token taken, yet the request goes on, e.g. ``ignore_eos``) allows only the
vocabulary's end ids; a row after a draft token the constraint rejects is left unmasked (vLLM
discards it: the row before it cannot sample that draft).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from vllm.v1.worker.gpu.sample.logits_processor import LogitsProcessor

from structgen.bitmask import allocate_token_bitmask, apply_token_bitmask, bitmask_row
from structgen.errors import ConfigurationError
from structgen.integrations.vllm.constraints import (
    compiled_constraint,
    constraint_from_extra_args,
    vocabulary_for_model,
)
from structgen.runtime.batch import fill_next_token_bitmasks

if TYPE_CHECKING:
    import torch
    from vllm.config import VllmConfig
    from vllm.sampling_params import SamplingParams
    from vllm.v1.worker.gpu.sample.logits_processor import LogitsContext, LogitsProcRequestState

    from structgen.matcher import Matcher
    from structgen.runtime.compiled import CompiledGrammar
    from structgen.vocab import Vocabulary

__all__ = ["StructgenLogitsProcessor"]


class _SlotState:
    """One request's matcher and the tokens fed to it (committed first, then drafts)."""

    def __init__(self, compiled: CompiledGrammar) -> None:
        self.compiled = compiled
        self.matcher: Matcher = compiled.matcher()
        self.committed: list[int] = []
        self.fed: list[int] = []

    def follow(self, tokens: list[int]) -> bool:
        """Bring the matcher to ``tokens`` (roll back to the common prefix, then advance);
        False when a token is not allowed (the matcher stays at the last allowed one)."""
        fed = self.fed
        common = 0
        while common < min(len(fed), len(tokens)) and fed[common] == tokens[common]:
            common += 1
        if common < len(fed):
            self.matcher.rollback(len(fed) - common)
            del fed[common:]
        for token in tokens[common:]:
            if self.matcher.is_terminated() or not self.matcher.advance(token):
                return False
            fed.append(token)
        return True


class StructgenLogitsProcessor(LogitsProcessor):
    """vLLM logits processor: keeps each request that names a structgen constraint inside it."""

    def __init__(self, vllm_config: VllmConfig, req_states: LogitsProcRequestState) -> None:
        self.vocab: Vocabulary = vocabulary_for_model(vllm_config.model_config)
        self.req_states = req_states
        self._slots: dict[int, _SlotState] = {}
        self._end_row = bitmask_row(self.vocab.eos_ids, self.vocab.size)

    @classmethod
    def validate_params(cls, sampling_params: SamplingParams) -> None:
        """Reject a malformed constraint at admission (ValueError), before any step."""
        spec = constraint_from_extra_args(sampling_params.extra_args)
        if spec is not None:
            try:
                spec.check()
            except Exception as error:  # any structgen error fails this request only
                raise ValueError(f"structgen {spec.kind}: {error}") from error

    def add_request(self, req_idx: int, sampling_params: SamplingParams) -> bool:
        spec = constraint_from_extra_args(sampling_params.extra_args)
        if spec is None:
            self._slots.pop(req_idx, None)
            return False
        self._slots[req_idx] = _SlotState(compiled_constraint(spec, self.vocab))
        return True

    def apply(self, logits: torch.Tensor, ctx: LogitsContext) -> torch.Tensor:
        if not any(int(slot) in self._slots for slot in ctx.idx_mapping_np):
            return logits
        if logits.shape[1] < self.vocab.size:
            raise ConfigurationError(
                f"expected logits at least {self.vocab.size} wide (the vocabulary), got "
                f"{logits.shape[1]}"
            )
        slots = ctx.expanded_idx_mapping.cpu().numpy()
        local = ctx.expanded_local_pos.cpu().numpy()
        rows = [row for row in range(len(slots)) if int(slots[row]) in self._slots]
        self._read_committed(sorted({int(slots[row]) for row in rows}))
        drafts = ctx.input_ids.cpu().numpy() if local[rows].any() else None
        bitmask = allocate_token_bitmask(len(rows), self.vocab.size)
        if drafts is None:  # one row per request: fill the rows together (threads may share)
            matchers = [self._follow(int(slots[row]), []) for row in rows]
            fill_next_token_bitmasks(matchers, bitmask)
        else:  # a request's draft rows share its matcher: fill each row as it is reached
            matchers = []
            for i, row in enumerate(rows):
                first = row - int(local[row])
                draft = [int(t) for t in drafts[first + 1 : row + 1]]
                matcher = self._follow(int(slots[row]), draft)
                if matcher is not None:
                    matcher.fill_next_token_bitmask(bitmask, i)
                matchers.append(matcher)
        for i, matcher in enumerate(matchers):
            if matcher is not None and matcher.is_terminated():
                bitmask[i] = self._end_row
        apply_token_bitmask(logits, bitmask, indices=np.asarray(rows, dtype=np.int64))
        return logits

    def _follow(self, slot: int, draft: list[int]) -> Matcher | None:
        """The slot's matcher after its committed tokens and ``draft``; None when the
        constraint rejects one of them (the row is left unmasked)."""
        state = self._slots[slot]
        return state.matcher if state.follow(state.committed + draft) else None

    def _read_committed(self, slots: list[int]) -> None:
        """Append to each slot's ``committed`` the tokens committed since the last step."""
        prompt_len = _host(self.req_states.prompt_len)[slots]
        total_len = _device(self.req_states.total_len)[slots].cpu().numpy()
        starts = prompt_len + np.array([len(self._slots[s].committed) for s in slots])
        counts = total_len - starts
        if (counts < 0).any():  # a shorter history: the slot was refilled; read it again
            for i in np.flatnonzero(counts < 0):
                self._slots[slots[i]].committed = []
            starts = np.where(counts < 0, prompt_len, starts)
            counts = total_len - starts
        if not counts.any():
            return
        rows = np.repeat(np.asarray(slots), counts)
        columns = np.concatenate([np.arange(s, s + c) for s, c in zip(starts, counts)])
        table = _device(self.req_states.all_token_ids)
        import torch

        flat = torch.as_tensor(rows * table.shape[1] + columns, device=table.device)
        tokens = table.reshape(-1)[flat].cpu().tolist()
        offset = 0
        for slot, count in zip(slots, counts.tolist()):
            self._slots[slot].committed.extend(tokens[offset : offset + count])
            offset += count


def _device(buffer: Any) -> Any:
    """The tensor behind one of vLLM's request-state buffers (``.gpu`` of a staged-write or
    UVA-backed buffer, or the tensor itself)."""
    return getattr(buffer, "gpu", buffer)


def _host(buffer: Any) -> np.ndarray:
    """A host (numpy) copy or view of one of vLLM's request-state buffers."""
    host = getattr(buffer, "np", None)
    if host is not None:
        return np.asarray(host)
    return _device(buffer).cpu().numpy()
