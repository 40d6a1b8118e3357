"""``python -m structgen_bench …``: the same as ``structgen bench …``."""

from structgen_bench.cli import main

raise SystemExit(main(prog="python -m structgen_bench"))
