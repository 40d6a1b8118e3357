"""The package's floor plan, read from the source: every import points down, no circles.

Each module of ``structgen`` belongs to a layer (docs/architecture.md draws them). A module may
import modules of lower layers and of its own folder, never of a higher layer or of a sibling
folder on the same layer; and no two files import each other, directly or around a loop.
Every import counts, at any depth (inside functions and ``TYPE_CHECKING`` blocks too): a lazy
import is still a dependency a reader must follow.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "structgen"

# Lowest first. A module belongs to the first entry that is a prefix of its dotted name.
LAYERS: list[tuple[str, ...]] = [
    ("structgen.errors", "structgen.version", "structgen.paths"),
    ("structgen.kernels",),
    ("structgen.bitmask",),
    ("structgen.matcher",),
    ("structgen.regex",),
    ("structgen.vocab",),
    ("structgen.automaton",),
    ("structgen.key_set_rules",),
    ("structgen.ir",),
    ("structgen.rule_arrays",),
    ("structgen.validation",),
    ("structgen.grammar",),
    ("structgen.schema",),
    ("structgen.engines.dfa", "structgen.engines.cfg", "structgen.engines"),
    ("structgen.runtime",),
    ("structgen.decoding",),
    ("structgen.models",),
    ("structgen.integrations",),
    ("structgen.generation",),
    ("structgen.cli",),
]
# The facade re-exports the public API (lazily); it sits above everything.
FACADE = "structgen"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    """Every module of the package (``structgen/kernels`` is a link: followed)."""
    found = {}
    for folder, _, files in os.walk(PACKAGE, followlinks=True):
        for file in sorted(files):
            if file.endswith(".py"):
                found[_module_name(Path(folder) / file)] = Path(folder) / file
    return dict(sorted(found.items()))


MODULES = _modules()
# Folders without an __init__.py (kernels, grammars): importing them imports no code.
NAMESPACES = {name.rpartition(".")[0] for name in MODULES} - set(MODULES)


def _imports(name: str, path: Path) -> set[str]:
    """The structgen modules that ``name`` imports (``from a import b`` counts ``a.b`` if a
    module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            # ``from package import module`` depends on the module; names need the package.
            every_one_a_module = all(sub in MODULES for sub in submodules)
            candidates = submodules if every_one_a_module else [*submodules, base]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in MODULES and candidate not in NAMESPACES:
                candidate = candidate.rpartition(".")[0]
            if candidate in MODULES and candidate.startswith("structgen") and candidate != name:
                targets.add(candidate)
    return targets


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> tuple[int, str]:
    """(rank, layer prefix) of a module: the longest prefix that names it."""
    matches = [
        (len(prefix), rank, prefix)
        for rank, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if name == prefix or name.startswith(prefix + ".")
    ]
    if matches:
        _, rank, prefix = max(matches)
        return rank, prefix
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in tests/test_layers.py")


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        if name != FACADE:
            _layer(name)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != FACADE))
def test_imports_point_down(name: str) -> None:
    rank, prefix = _layer(name)
    wrong = []
    for target in sorted(GRAPH[name]):
        if target == FACADE:
            wrong.append(f"{target} (the facade: import the module that defines the name)")
            continue
        target_rank, target_prefix = _layer(target)
        if target_rank > rank:
            wrong.append(f"{target} (layer {target_prefix} is above {prefix})")
        elif target_rank == rank and target_prefix != prefix:
            wrong.append(f"{target} (a sibling layer of {prefix})")
    assert not wrong, f"{name} imports upward or sideways: " + "; ".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circles_between_files() -> None:
    graph = {name: {t for t in targets if t != FACADE} for name, targets in GRAPH.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    """The oracle of the test above, on a graph with one known circle and one chain."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
