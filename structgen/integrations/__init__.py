"""Thin adapters between structgen matchers and text-generation libraries.

One submodule per library, imported explicitly so that ``import structgen`` never pulls in a
framework:

- :mod:`structgen.integrations.transformers` — ``StructgenLogitsProcessor`` for
  ``model.generate(logits_processor=[...])``.
- :mod:`structgen.integrations.llama_cpp` — ``LlamaCppLogitsProcessor`` for llama-cpp-python's
  ``logits_processor=LogitsProcessorList([...])``, and ``generate_json(llama, schema, prompt)``.
"""

from __future__ import annotations

__all__: list[str] = []
