"""structgen's benchmark harness: structgen side by side with its peers (xgrammar,
outlines-core, llguidance), a distribution of its own beside the library (never in its wheel).

- :mod:`structgen_bench.cli`: ``structgen bench …`` (also ``structgen-bench``,
  ``python -m structgen_bench``), one sub-command per benchmark;
- :mod:`structgen_bench.vocabs`: the real vocabularies (GGUF files) and their HF tokenizers;
- :mod:`structgen_bench.peers`: one adapter per engine, all driven by the same loop
  (:mod:`structgen_bench.runs` holds the steps every benchmark runs alike,
  :mod:`structgen_bench.masks` the bitmask reading, :mod:`structgen_bench.timing` the clocks);
- :mod:`structgen_bench.regex_bench`: ``bench regex``, its patterns
  (:mod:`~structgen_bench.patterns`) and report (:mod:`~structgen_bench.regex_report`);
- :mod:`structgen_bench.grammar_bench`: ``bench grammar``, with its documents
  (:mod:`~structgen_bench.grammar_docs`), each grammar in every engine's syntax
  (:mod:`~structgen_bench.grammar_forms` over :mod:`~structgen_bench.regex_tree`), the mask
  cross-check (:mod:`~structgen_bench.grammar_agreement`) and its independent prefix oracle
  (:mod:`~structgen_bench.grammar_oracle`), and its report (:mod:`~structgen_bench.grammar_report`);
- :mod:`structgen_bench.maskbench`: ``bench maskbench``, its data
  (:mod:`~structgen_bench.maskbench_data`), worker processes
  (:mod:`~structgen_bench.maskbench_worker`), peak memory (:mod:`~structgen_bench.memory`),
  structgen's caches during a run (:mod:`~structgen_bench.structgen_caches`), the first compile
  in a fresh process (:mod:`~structgen_bench.fresh_start` and its child
  :mod:`~structgen_bench.fresh_start_child`), and report (:mod:`~structgen_bench.maskbench_report`
  with :mod:`~structgen_bench.maskbench_sections` and :mod:`~structgen_bench.maskbench_plots`);
- :mod:`structgen_bench.report`: what the reports share (JSON, the ``BENCHMARKS.md`` section).
"""
