"""Benchmarks of structgen side by side with its peers (xgrammar, outlines-core, llguidance).

- :mod:`structgen.bench.vocabs`: the real vocabularies (GGUF files) and their HF tokenizers;
- :mod:`structgen.bench.patterns`: the regexes and the valid strings walked through them;
- :mod:`structgen.bench.peers`: one adapter per engine, all driven by the same loop;
- :mod:`structgen.bench.timing`: percentiles, heap and RSS readings, machine facts;
- :mod:`structgen.bench.regex_bench`: ``structgen bench regex`` (correctness first, then time);
- :mod:`structgen.bench.report`: JSON, the ``BENCHMARKS.md`` section and the plot;
- :mod:`structgen.bench.grammar_bench`: ``structgen bench grammar``, with its documents
  (:mod:`~structgen.bench.grammar_docs`), each grammar in every engine's syntax
  (:mod:`~structgen.bench.grammar_forms`), the mask cross-check
  (:mod:`~structgen.bench.grammar_agreement`) and its independent prefix oracle
  (:mod:`~structgen.bench.grammar_oracle`), and its report (:mod:`~structgen.bench.grammar_report`).

The command lines are ``structgen bench regex`` and ``structgen bench grammar`` (see
:mod:`structgen.cli.bench_cmd`). Peers are optional: install them with the ``bench`` extra.
Nothing heavy is imported here.
"""

from __future__ import annotations

__all__ = ["RegexBenchConfig", "run_regex_benchmark"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from structgen.bench import regex_bench

        return getattr(regex_bench, name)
    raise AttributeError(f"module 'structgen.bench' has no attribute {name!r}")
