"""``structgen.warm_up``: what a long-lived process (a server, a benchmark worker) does once at
start-up so that its first constraints and tokens pay none of it."""

from __future__ import annotations

import importlib

from structgen.kernels.trie_walk import warm_up as load_kernels
from structgen.runtime.collector import freeze_heap as freeze

__all__ = ["warm_up"]


# What a first schema or grammar compile would otherwise import in the middle of its work: the
# schema compiler, the JSON Schema validator (jsonschema and its format packages: ~0.1 s, first
# needed by a schema whose enum or const values are checked against subschemas), lark's loaders.
COMPILE_MODULES = (
    "structgen.schema.to_grammar",
    "structgen.validation.validator",
    "structgen.grammar.loading",
)


def warm_up(*, freeze_heap: bool = False) -> bool:
    """Load the numba mask kernels now and wait for them (about 0.6 s of CPU that would
    otherwise hold the interpreter lock inside a first mask), and import the compilers'
    modules (:data:`COMPILE_MODULES`, ~0.15 s); one-shot processes need not.

    ``freeze_heap``: then move every object alive to the collector's permanent generation
    (:func:`structgen.runtime.collector.freeze_heap`) — call it after loading the model, so the
    full collections that structgen's compiles and first-visit masks start no longer rescan it
    (next to SmolLM2 in transformers: ~400k objects, one 0.2 s pause per ~120 decoded tokens
    without it). Objects frozen are never collected as cyclic garbage.

    Returns False when the kernels cannot load here (walks then stay in numpy) or
    ``STRUCTGEN_TRIE_WALK=numpy``.
    """
    loaded = load_kernels()
    for name in COMPILE_MODULES:
        importlib.import_module(name)
    if freeze_heap:
        freeze()
    return loaded
