"""Thin adapters between structgen matchers and text-generation libraries.

One submodule per library, imported explicitly so that ``import structgen`` never pulls in a
framework:

- :mod:`structgen.integrations.transformers` — ``StructgenLogitsProcessor`` for
  ``model.generate(logits_processor=[...])``.
- :mod:`structgen.integrations.llama_cpp` — ``LlamaCppLogitsProcessor`` for llama-cpp-python's
  ``logits_processor=LogitsProcessorList([...])``, and ``generate_json(llama, schema, prompt)``.
- :mod:`structgen.integrations.vllm` — ``StructgenLogitsProcessor`` for vLLM's
  ``--logits-processors`` (the constraint per request in ``extra_args``), and vLLM's
  structured-output backend classes.
"""

from __future__ import annotations

__all__: list[str] = []
