"""What one decoding run cost: forward passes, constraint evaluations, tokens jumped."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from structgen.decoding.samplers import Choice

__all__ = ["DecodingStats"]


@dataclass(slots=True)
class DecodingStats:
    """Counters of one run (the prompt's forward pass included in ``forward_passes``).

    - ``tokens``: tokens decided (the end-of-sequence token included when one was chosen);
    - ``forward_passes``: model calls, each feeding one token or a whole block;
    - ``tokens_drafted`` / ``tokens_jumped``: forced tokens fed ahead by jump-forward, and those
      the sampler then chose (each one saved a forward pass);
    - speculative decoding: ``tokens_speculated`` / ``tokens_accepted``, drafter tokens fed and
      kept (each kept one saved a forward pass); ``draft_checks``, single-token checks made
      while drafting; ``draft_evaluations``, the constraint evaluations of drafting (those
      checks and a draft model's sampler work; not in ``constraint_evaluations``);
      ``draft_forward_passes``, a draft model's forward passes (not in ``forward_passes``);
    - ``checks`` / ``masks`` / ``constraint_evaluations``: single-token ``accepts`` calls, full
      masks, and both in one count (a full mask counts one per vocabulary token);
    - ``log_weight``: the sum of the sampler's log weights (the sequence's importance weight);
    - ``model_seconds`` / ``sampling_seconds`` / ``draft_seconds``: wall time in forward
      passes, in samplers, and in building drafts (forced tokens, a drafter's guesses);
    - sequential Monte Carlo only (:mod:`~structgen.decoding.smc`): ``particles``, the
      population size; ``particle_tokens``, tokens decided over all particles (the sampler
      work; ``tokens`` is the returned sequence's length, so the per-token ratios are costs per
      output token); ``resamples``, resampling events. There ``log_weight`` is the estimate of
      the log normaliser (the log mean of the final particle weights).
    """

    prompt_tokens: int = 0
    tokens: int = 0
    forward_passes: int = 0
    tokens_drafted: int = 0
    tokens_jumped: int = 0
    checks: int = 0
    masks: int = 0
    constraint_evaluations: int = 0
    log_weight: float = 0.0
    model_seconds: float = 0.0
    sampling_seconds: float = 0.0
    draft_seconds: float = 0.0
    tokens_speculated: int = 0
    tokens_accepted: int = 0
    draft_checks: int = 0
    draft_evaluations: int = 0
    draft_forward_passes: int = 0
    particles: int = 0
    particle_tokens: int = 0
    resamples: int = 0

    def add(self, choice: Choice) -> None:
        """Count one sampler decision."""
        self.tokens += 1
        self.checks += choice.checks
        self.masks += choice.masks
        self.constraint_evaluations += choice.evaluations
        self.log_weight += choice.log_weight

    @property
    def forward_passes_per_token(self) -> float:
        return self.forward_passes / self.tokens if self.tokens else 0.0

    @property
    def evaluations_per_token(self) -> float:
        return self.constraint_evaluations / self.tokens if self.tokens else 0.0

    @property
    def acceptance_rate(self) -> float:
        """The share of drafter tokens kept (0 without speculation)."""
        return self.tokens_accepted / self.tokens_speculated if self.tokens_speculated else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Every counter and the per-token ratios, for reports."""
        return {
            **asdict(self),
            "forward_passes_per_token": self.forward_passes_per_token,
            "evaluations_per_token": self.evaluations_per_token,
            "acceptance_rate": self.acceptance_rate,
        }
