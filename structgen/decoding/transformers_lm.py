"""A transformers causal LM behind the :class:`~structgen.decoding.model.LanguageModel`
interface: a ``DynamicCache`` per sequence, blocks of tokens in one forward pass, crop to roll
back; a batch of equal-length rows shares one ``DynamicCache`` whose batch dimension is the
row (no padding, no attention mask needed), reordered by index. The same code runs on CPU and
CUDA (inputs go to the model's device; the few logits rows asked for come back to the host as
float32). torch is imported when a sequence is first fed.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy as np

from structgen.decoding.model import LanguageModel, ModelSequence, SequenceBatch
from structgen.errors import ConfigurationError

__all__ = ["TransformersBatch", "TransformersLM", "TransformersSequence"]


def _logits_width(model: Any) -> int:
    config = model.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    size = getattr(text_config, "vocab_size", None) or getattr(config, "vocab_size", None)
    if not size:
        raise ConfigurationError(
            f"cannot tell the vocabulary size of {type(model).__name__}: its config has no "
            "vocab_size"
        )
    return int(size)


class TransformersLM(LanguageModel):
    """Wraps a loaded transformers causal LM (``AutoModelForCausalLM``)."""

    def __init__(self, model: Any) -> None:
        if not callable(model) or not hasattr(model, "config"):
            raise ConfigurationError(
                f"expected a transformers causal language model, got {type(model).__name__}"
            )
        self.model = model
        self._vocab_size = _logits_width(model)
        self._forward_passes = 0
        # transformers 5 names the cache argument ``cache`` (``past_key_values`` before);
        # ``logits_to_keep`` spares the vocabulary projection of the positions not asked for.
        parameters = inspect.signature(model.forward).parameters
        self._cache_keyword = "cache" if "cache" in parameters else "past_key_values"
        self._takes_logits_to_keep = "logits_to_keep" in parameters

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    @property
    def forward_passes(self) -> int:
        return self._forward_passes

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    def new_sequence(self) -> TransformersSequence:
        return TransformersSequence(self)

    def _new_batch(self, prefix: ModelSequence, rows: int) -> TransformersBatch:
        if not isinstance(prefix, TransformersSequence) or prefix._lm is not self:
            raise ConfigurationError("new_batch needs a sequence of this model")
        return TransformersBatch(self, prefix, rows)

    def _forward(self, ids: Any, cache: Any, num_logits: int) -> Any:
        """One forward pass over ``ids`` that appends to ``cache`` (changed in place)."""
        self._forward_passes += 1
        options = {"input_ids": ids, self._cache_keyword: cache, "use_cache": True}
        if self._takes_logits_to_keep:
            options["logits_to_keep"] = num_logits
        return self.model(**options)


class TransformersSequence(ModelSequence):
    """One sequence of a :class:`TransformersLM`, with its own ``DynamicCache``."""

    def __init__(self, lm: TransformersLM) -> None:
        super().__init__()
        self._lm = lm
        self._cache: Any = None

    def _feed(self, ids: list[int], num_logits: int) -> np.ndarray:
        import torch
        from transformers import DynamicCache

        if self._cache is None:
            self._cache = DynamicCache()
        inputs = torch.tensor([ids], dtype=torch.long, device=self._lm.device)
        with torch.no_grad():
            output = self._lm._forward(inputs, self._cache, num_logits)
        rows = output.logits[0, -num_logits:, :]
        return rows.to(dtype=torch.float32).cpu().numpy()

    def _drop(self, count: int) -> None:
        # A negative count removes that many positions (the form every recent transformers
        # version accepts).
        self._cache.crop(-count)

    def _fork(self) -> TransformersSequence:
        twin = TransformersSequence(self._lm)
        twin._cache = copy.deepcopy(self._cache)
        return twin


class TransformersBatch(SequenceBatch):
    """Rows of a :class:`TransformersLM` in one ``DynamicCache`` of batch size ``rows``."""

    def __init__(self, lm: TransformersLM, prefix: TransformersSequence, rows: int) -> None:
        super().__init__(prefix.tokens, rows)
        self._lm = lm
        self._cache = copy.deepcopy(prefix._cache)
        if rows > 1:
            self._cache.batch_repeat_interleave(rows)

    def _feed_column(self, ids: list[int]) -> np.ndarray:
        import torch

        inputs = torch.tensor([[t] for t in ids], dtype=torch.long, device=self._lm.device)
        with torch.no_grad():
            output = self._lm._forward(inputs, self._cache, 1)
        return output.logits[:, -1, :].to(dtype=torch.float32).cpu().numpy()

    def _select(self, rows: list[int]) -> None:
        import torch

        if rows != list(range(len(self))):
            indices = torch.tensor(rows, dtype=torch.long, device=self._lm.device)
            self._cache.batch_select_indices(indices)
