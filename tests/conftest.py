"""Suite-wide set-up: offline hubs, hypothesis profiles, the real vocabularies (fetched once).

Hypothesis profiles (``HYPOTHESIS_PROFILE``): ``ci``, the default, is derandomized — the same
examples on every run, so CI neither flakes nor wanders into inputs whose cost is unbounded
(e.g. random grammars whose lexing is exponentially ambiguous, see ``max_mask_sets``);
``explore`` draws fresh examples each run (``--hypothesis-seed`` pins one), for hunting bugs.
"""

import gc
import os

import pytest
from hypothesis import settings

# Nothing in the suite may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One intra-op thread per test process (read by torch when it is imported): the suite runs as
# two xdist workers on two cores, and a forward pass spinning two threads in each worker made
# SmolLM2 several times slower on this machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["tests.helpers.vocab_fixtures"]


@pytest.fixture(autouse=True)
def _heap_unfrozen_after_each_test():
    """``structgen generate`` run in-process freezes the heap once its model is loaded (a
    one-shot process keeps it): thaw it after the test, so no test inherits a frozen heap."""
    yield
    if gc.get_freeze_count():
        gc.unfreeze()


def pytest_report_header() -> list[str]:
    """The versions this run tests with, next to the pins of ``constraints.txt``."""
    from importlib.metadata import PackageNotFoundError, version

    shown = []
    for name in ("torch", "transformers", "kernels", "numba", "numpy", "lark", "jsonschema"):
        try:
            shown.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            shown.append(f"{name} (not installed)")
    return ["dependencies: " + ", ".join(shown)]
