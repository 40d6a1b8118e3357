"""``structgen bench decode``: end-to-end constrained decoding on JSONSchemaBench schemas.

SmolLM2-135M-Instruct on the CPU writes an instance of each sampled schema (the schema shown in
the prompt, as JSONSchemaBench prompts) under each configuration of :data:`CONFIGURATIONS`: a
keyword set of :func:`structgen.generation.generate_result` (free generation, the full mask,
AWRS at temperature 0 and 1, with jump-forward, with speculation). Per configuration it counts
output tokens per second, forward passes and constraint evaluations per output token, how many
outputs parse and validate, and the per-schema time (p50, p99).

Fairness: before any timed run of a schema, one untimed greedy run compiles the schema and
builds the masks of its greedy path (compile speed is measured by ``maskbench``), and one
unconstrained one-token run measures the prompt's forward pass ("prefill"); the configurations
then run one after another on that schema, so a busy machine slows them alike. A configuration
whose keywords ``generate_result`` does not take (yet) is reported as unavailable.
"""

from __future__ import annotations

import inspect
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from structgen.errors import ConfigurationError, StructgenError
from structgen.generation import IncompleteGenerationError, generate_result
from structgen.validation import DocumentValidator
from structgen_bench.grammar_docs import default_data_dir
from structgen_bench.runs import progress_bar
from structgen_bench.timing import machine_info, package_version

__all__ = [
    "CONFIGURATIONS",
    "DEFAULT_CONFIGS",
    "SUBSETS",
    "Configuration",
    "DecodeBenchConfig",
    "SchemaCase",
    "prompt_for",
    "run_decode_benchmark",
    "sample_schemas",
    "summarise",
]

# JSONSchemaBench's own ten subsets (MaskBench adds five more; they are not used here).
SUBSETS = (
    "Github_trivial", "Github_easy", "Github_medium", "Github_hard", "Github_ultra",
    "Glaiveai2K", "JsonSchemaStore", "Kubernetes", "Snowplow", "WashingtonPost",
)  # fmt: skip

# JSONSchemaBench's zero-shot prompt is a system message with this line and a user message with
# json.dumps(schema); structgen.generate takes one user message, so both go into it.
INSTRUCTION = "You need to generate a JSON object that matches the schema below."


@dataclass(frozen=True)
class Configuration:
    """One way to decode: ``generate_result`` keywords, and whether the schema constrains it."""

    name: str
    label: str
    options: Mapping[str, Any]
    constrained: bool = True


def _config(name: str, label: str, constrained: bool = True, **options: Any) -> Configuration:
    return Configuration(name, label, options, constrained)


CONFIGURATIONS: tuple[Configuration, ...] = (
    _config("unconstrained", "unconstrained, greedy", False, sampler="greedy", jump_forward=False),
    _config("mask", "mask-then-sample (greedy, full mask)", sampler="greedy", jump_forward=False),
    _config("mask+jf", "full mask + jump-forward", sampler="greedy", jump_forward=True),
    _config("awrs-t0", "AWRS, temperature 0", sampler="awrs", temperature=0.0,
            jump_forward=False),
    _config("awrs-t1", "AWRS, temperature 1", sampler="awrs", temperature=1.0,
            jump_forward=False),
    _config("awrs-t0+jf", "AWRS t=0 + jump-forward", sampler="awrs", temperature=0.0),
    _config("awrs-t1+jf", "AWRS t=1 + jump-forward", sampler="awrs", temperature=1.0),
    _config("awrs-t0+jf+spec", "AWRS t=0 + jump-forward + speculation", sampler="awrs",
            temperature=0.0, speculative=True),
    _config("awrs-t1+jf+spec", "AWRS t=1 + jump-forward + speculation", sampler="awrs",
            temperature=1.0, speculative=True),
)  # fmt: skip
DEFAULT_CONFIGS = tuple(c.name for c in CONFIGURATIONS)
# Untimed, before a schema's timed runs: compile and greedy-path masks; the prompt's pass.
WARM_UP = _config("warm-up", "greedy + jump-forward, untimed", sampler="greedy")
PREFILL = _config("prefill", "one free token, untimed", False, max_new_tokens=1)


@dataclass(frozen=True)
class SchemaCase:
    """One sampled schema: where it comes from and its JSON."""

    subset: str
    file: str
    schema: Any

    @property
    def key(self) -> str:
        return f"{self.subset}/{self.file}"


@dataclass
class DecodeBenchConfig:
    """What ``structgen bench decode`` runs (see the module docstring).

    ``generate`` and ``load_model`` default to structgen's ``generate_result`` and SmolLM2 on
    the CPU; tests pass small stand-ins."""

    data_dir: Path | None = None
    subsets: Sequence[str] | None = None
    sample: int = 10
    seed: int = 0
    max_new_tokens: int = 128
    max_schema_bytes: int = 4000
    configs: Sequence[str] = DEFAULT_CONFIGS
    threads: int = 1
    progress: bool = True
    generate: Callable[..., Any] | None = None
    load_model: Callable[[], tuple[Any, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def prompt_for(schema: Any) -> str:
    """The prompt that shows ``schema`` and asks for an instance (JSONSchemaBench's wording)."""
    return f"{INSTRUCTION}\n{json.dumps(schema)}"


def sample_schemas(
    data_dir: Path, *, subsets: Sequence[str] | None, seed: int, max_schema_bytes: int
) -> list[SchemaCase]:
    """Every usable schema of the subsets, in a seeded order that takes the subsets in turn (so
    the first N cover N subsets before any repeats); larger schemas than ``max_schema_bytes``
    (compact JSON) are left out, as their prompts would not fit a small model's context."""
    root = data_dir / "jsonschemabench"
    if not root.is_dir():
        raise ConfigurationError(
            f"--data {str(data_dir)!r} has no jsonschemabench/ folder (the layout of shared/data)"
        )
    wanted = list(subsets) if subsets else [s for s in SUBSETS if (root / s).is_dir()]
    missing = [s for s in wanted if not (root / s).is_dir()]
    if missing:
        raise ConfigurationError(f"no subset(s) {', '.join(missing)} in {root}")
    queues: list[list[Path]] = []
    for subset in wanted:
        files = sorted((root / subset).glob("*.json"))
        random.Random(f"{seed}:{subset}").shuffle(files)
        queues.append(files)
    order: list[SchemaCase] = []
    while any(queues):
        for queue in queues:
            while queue:
                path = queue.pop(0)
                schema = json.loads(path.read_text(encoding="utf-8"))
                if len(json.dumps(schema, separators=(",", ":"))) <= max_schema_bytes:
                    order.append(SchemaCase(path.parent.name, path.name, schema))
                    break
    return order


def _chosen(names: Sequence[str]) -> list[Configuration]:
    by_name = {c.name: c for c in CONFIGURATIONS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigurationError(
            f"unknown configuration(s) {', '.join(unknown)}; choose from {', '.join(by_name)}"
        )
    return [by_name[n] for n in names]


def _missing_keywords(generate: Callable[..., Any], options: Mapping[str, Any]) -> list[str]:
    """Keywords of ``options`` that ``generate`` does not take."""
    parameters = inspect.signature(generate).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    return [key for key in options if key not in parameters]


def _is_valid(text: str, schema: Any) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return DocumentValidator(schema).is_valid(value)


def _one_run(generate: Callable[..., Any], prompt: str, case: SchemaCase, configuration:
             Configuration, options: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Generate once; the record of the run (never raises for a structgen error)."""
    schema = {"schema": case.schema} if configuration.constrained else {}
    record: dict[str, Any] = {"schema": case.key, "config": configuration.name}
    started = time.perf_counter()
    try:
        result = generate(prompt, **schema, **options)
    except IncompleteGenerationError as error:
        record["wall_s"] = time.perf_counter() - started
        stats = error.stats.as_dict() if error.stats else None
        record.update(status="incomplete", valid=False, text=error.partial, stats=stats)
    except StructgenError as error:
        record["wall_s"] = time.perf_counter() - started
        message = f"{type(error).__name__}: {error}"[:300]
        record.update(status="error", valid=False, error=message, stats=None)
    else:
        record["wall_s"] = time.perf_counter() - started  # (validation not timed)
        valid = _is_valid(result.text, case.schema)
        record.update(status="ok", valid=valid, text=result.text, stats=result.stats.as_dict())
    return record


def run_decode_benchmark(config: DecodeBenchConfig) -> dict[str, Any]:
    """Run every chosen configuration on the sampled schemas; the results document."""
    configurations = _chosen(config.configs)
    if config.sample < 1 or config.max_new_tokens < 1:
        raise ConfigurationError("--sample and --max-new-tokens must be at least 1")
    generate = config.generate or generate_result
    unavailable = {c.name: _missing_keywords(generate, c.options) for c in configurations}
    unavailable = {name: keys for name, keys in unavailable.items() if keys}
    runnable = [c for c in configurations if c.name not in unavailable]
    data_dir = config.data_dir or default_data_dir()
    candidates = sample_schemas(data_dir, subsets=config.subsets, seed=config.seed,
                                max_schema_bytes=config.max_schema_bytes)  # fmt: skip
    if config.load_model is None:
        model, tokenizer = _load_smollm2(config.threads)
    else:
        model, tokenizer = config.load_model()
    common = {"model": model, "tokenizer": tokenizer, "max_new_tokens": config.max_new_tokens}

    runs: list[dict[str, Any]] = []
    schemas: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    bar = progress_bar(config.sample * (len(runnable) + 2), config.progress, "run")
    try:
        for case in candidates:
            if len(schemas) == config.sample:
                break
            bar.set_description(f"{case.key}: warm-up")
            prompt = prompt_for(case.schema)
            warm = _one_run(generate, prompt, case, WARM_UP, {**common, **WARM_UP.options})
            if warm["status"] == "error":  # structgen refuses the schema: take the next one
                refused.append({"schema": case.key, "error": warm["error"]})
                continue
            prefill = _one_run(generate, prompt, case, PREFILL, {**common, **PREFILL.options})
            prefill_s = (prefill.get("stats") or {}).get("model_seconds", 0.0)
            schemas.append({"schema": case.key, "subset": case.subset,
                            "schema_bytes": len(json.dumps(case.schema)),
                            "prompt_tokens": (prefill.get("stats") or {}).get("prompt_tokens"),
                            "prefill_s": prefill_s})  # fmt: skip
            bar.update(2)
            for index, configuration in enumerate(runnable):
                bar.set_description(f"{case.key}: {configuration.name}")
                options = {**common, **configuration.options}
                if options.get("temperature"):
                    options["seed"] = config.seed * 1000 + len(schemas) * 10 + index
                record = _one_run(generate, prompt, case, configuration, options)
                record["prefill_s"] = prefill_s
                runs.append(record)
                bar.update(1)
    finally:
        bar.close()
    return {
        "benchmark": "decode",
        "machine": machine_info(),
        "engines": {"structgen": {"status": "ok", "version": package_version("structgen")}},
        "config": {
            "data_dir": str(data_dir),
            "subsets": list(config.subsets or SUBSETS),
            "sample": config.sample,
            "seed": config.seed,
            "max_new_tokens": config.max_new_tokens,
            "max_schema_bytes": config.max_schema_bytes,
            "torch_threads": config.threads,
            "configs": [c.name for c in configurations],
            "model": getattr(getattr(model, "config", None), "name_or_path", None)
            or type(model).__name__,
            "prompt": f"{INSTRUCTION}\\n<json.dumps(schema)> (one user message)",
            **config.extra,
        },
        "configurations": {
            c.name: {
                "label": c.label,
                "options": dict(c.options),
                "constrained": c.constrained,
                **({"unavailable": unavailable[c.name]} if c.name in unavailable else {}),
            }
            for c in configurations
        },  # fmt: skip
        "schemas": schemas,
        "refused": refused,
        "runs": runs,
        "summary": summarise(runs, [c.name for c in runnable]),
    }


def _load_smollm2(threads: int) -> tuple[Any, Any]:
    """SmolLM2 on the CPU, torch using ``threads`` threads (0: torch's default). One thread is
    the default: on a shared machine, torch's worker threads spinning against other processes
    made forward passes ten times slower than one thread in our measurements."""
    import torch

    from structgen.models import load_default

    if threads > 0:
        torch.set_num_threads(threads)
    return load_default(device="cpu")


def _percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile by linear interpolation (None for no values)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(runs: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """Per configuration: runs, valid / incomplete / error counts, output tokens per second
    (wall, and with the prompt's forward pass left out), forward passes and constraint
    evaluations per output token, forced tokens kept (jump-forward), speculated tokens drafted
    and kept, and the p50 / p99 per-schema time."""
    summary: dict[str, Any] = {}
    for name in names:
        mine = [r for r in runs if r["config"] == name]
        counted = [r for r in mine if r.get("stats")]
        tokens = sum(r["stats"]["tokens"] for r in counted)
        passes = sum(r["stats"]["forward_passes"] for r in counted)
        evaluations = sum(r["stats"]["constraint_evaluations"] for r in counted)
        wall = sum(r["wall_s"] for r in counted)
        decode = sum(max(r["wall_s"] - r.get("prefill_s", 0.0), 1e-9) for r in counted)
        times = [r["wall_s"] for r in mine]
        drafts = {
            key: sum(r["stats"].get(key, 0) for r in counted)
            for key in ("tokens_jumped", "tokens_speculated", "tokens_accepted")
        }
        summary[name] = {
            "runs": len(mine),
            "valid": sum(1 for r in mine if r.get("valid")),
            "incomplete": sum(1 for r in mine if r["status"] == "incomplete"),
            "errors": sum(1 for r in mine if r["status"] == "error"),
            "tokens": tokens,
            "tokens_per_s": tokens / wall if wall else None,
            "decode_tokens_per_s": tokens / decode if counted else None,
            "forward_passes_per_token": passes / tokens if tokens else None,
            "evaluations_per_token": evaluations / tokens if tokens else None,
            **drafts,
            "p50_s": _percentile(times, 50),
            "p99_s": _percentile(times, 99),
        }
    return summary
