"""Decoding: the loop that owns the forward passes, the samplers, jump-forward.

- :mod:`~structgen.decoding.model`: the model interface (extend by a block in one forward pass,
  crop back); :mod:`~structgen.decoding.transformers_lm` and :mod:`~structgen.decoding.toy`
  implement it.
- :mod:`~structgen.decoding.processing`: temperature, top-k, top-p; the seeded generator.
- :mod:`~structgen.decoding.samplers`: ``greedy`` / ``sample`` (full mask) and ``awrs``
  (adaptive weighted rejection sampling, with its unbiased weight).
- :mod:`~structgen.decoding.loop`: :class:`Decoding` (one run, stepped) and :func:`decode`, with
  jump-forward over forced tokens.
- :mod:`~structgen.decoding.drafters`: drafters for speculative decoding (prompt lookup, token
  recycling, a draft model), verified by the loop in one forward pass.
- :mod:`~structgen.decoding.smc`: sequential Monte Carlo (:func:`smc_decode`): particles batched
  through the model (:class:`SequenceBatch`), weighted and resampled
  (:mod:`~structgen.decoding.resampling`).

See ``docs/decoding.md``. torch and transformers are imported only by ``transformers_lm``,
when a sequence is first fed.
"""

from __future__ import annotations

from structgen.decoding.drafters import (
    Draft,
    Drafter,
    ModelDrafter,
    NgramDrafter,
    RecyclingDrafter,
    make_drafter,
)
from structgen.decoding.loop import Decoded, Decoding, decode
from structgen.decoding.model import LanguageModel, ModelSequence, SequenceBatch
from structgen.decoding.processing import Processing, make_rng
from structgen.decoding.samplers import (
    SAMPLERS,
    AWRSSampler,
    Choice,
    MaskSampler,
    Sampler,
    SamplerName,
    make_sampler,
)
from structgen.decoding.smc import Particle, SMCDecoded, SMCDecoding, smc_decode
from structgen.decoding.stats import DecodingStats
from structgen.decoding.toy import ToyLM
from structgen.decoding.transformers_lm import TransformersLM

__all__ = [
    "SAMPLERS",
    "AWRSSampler",
    "Choice",
    "Decoded",
    "Decoding",
    "DecodingStats",
    "Draft",
    "Drafter",
    "LanguageModel",
    "MaskSampler",
    "ModelDrafter",
    "ModelSequence",
    "Particle",
    "NgramDrafter",
    "Processing",
    "RecyclingDrafter",
    "SMCDecoded",
    "SMCDecoding",
    "Sampler",
    "SamplerName",
    "SequenceBatch",
    "ToyLM",
    "TransformersLM",
    "decode",
    "make_drafter",
    "make_rng",
    "make_sampler",
    "smc_decode",
]
