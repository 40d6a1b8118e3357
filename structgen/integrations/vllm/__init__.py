"""structgen inside vLLM (written against vLLM 0.34.0; install: ``pip install 'structgen[vllm]'``).

- :class:`StructgenLogitsProcessor`: ``vllm serve MODEL --logits-processors
  structgen.integrations.vllm:StructgenLogitsProcessor``, the constraint given per request in
  ``SamplingParams.extra_args`` (``structgen_json_schema`` / ``structgen_regex`` /
  ``structgen_grammar``; over HTTP in ``vllm_xargs``).
- :class:`StructgenBackend` / :class:`StructgenGrammar`: vLLM's ``StructuredOutputBackend`` and
  ``StructuredOutputGrammar`` over structgen's matchers. vLLM 0.34 has no way to register an
  out-of-tree structured-output backend (see :mod:`structgen.integrations.vllm.backend`).

See docs/integrations.md, section "vLLM".
"""

from __future__ import annotations

from structgen.errors import MissingDependencyError

try:
    import vllm  # noqa: F401
except ImportError as _error:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError(
        "vllm", purpose="structgen.integrations.vllm", install="pip install 'structgen[vllm]'"
    ) from _error

from structgen.integrations.vllm.backend import StructgenBackend, StructgenGrammar
from structgen.integrations.vllm.constraints import ConstraintSpec, constraint_from_extra_args
from structgen.integrations.vllm.logits import StructgenLogitsProcessor

__all__ = [
    "ConstraintSpec",
    "StructgenBackend",
    "StructgenGrammar",
    "StructgenLogitsProcessor",
    "constraint_from_extra_args",
]
