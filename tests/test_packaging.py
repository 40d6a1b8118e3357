"""The repository as Python sees it: no top-level folder shadows an installed distribution,
the layout folders map into ``structgen``, and the wheel holds the package and nothing else.

transformers imports the PyPI distribution ``kernels``; while this repository's top-level
``kernels/`` was a regular package, any Python started from the root imported it instead and
every model test failed. These tests run Python from the root, as a user does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Top-level folders of the layout that the package links in (structgen/kernels, structgen/grammars).
LAYOUT_FOLDERS = ("kernels", "grammars")
# Folders that are meant to be import packages of their own, and why.
REGULAR_PACKAGES = {
    "structgen": "the package itself",
    "tests": "the suite imports its helpers as tests.helpers",
}


def _top_level_entries() -> list[Path]:
    """The repository's own top-level files and folders: what git tracks, when git can tell
    (build output, caches and virtual environments are not the repository's)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return sorted(ROOT.iterdir())
    return sorted({ROOT / path.split("/", 1)[0] for path in listed})


def _top_level_names() -> list[str]:
    """Names under which Python could import something of the repository from its root."""
    names = []
    for entry in _top_level_entries():
        if entry.name.startswith(".") or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir() and entry.name.isidentifier():
            names.append(entry.name)
        elif entry.suffix == ".py" and entry.stem.isidentifier():
            names.append(entry.stem)
    return names


def _import_from_root(name: str) -> str:
    """What ``import name`` gives in a Python started at the root: its file, or a marker."""
    script = (
        "import importlib, sys\n"
        f"try:\n    module = importlib.import_module({name!r})\n"
        "except ImportError:\n    print('<not importable>'); sys.exit()\n"
        "print(getattr(module, '__file__', None) or '<namespace>')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _inside(found: str, folder: Path) -> bool:
    return found.startswith("/") and Path(found).resolve().is_relative_to(folder.resolve())


def test_only_the_intended_folders_are_regular_packages() -> None:
    packages = {name for name in _top_level_names() if (ROOT / name / "__init__.py").is_file()}
    assert packages == set(REGULAR_PACKAGES), (
        "a top-level folder with an __init__.py is importable by its bare name from the root "
        f"and shadows any installed distribution of that name: {sorted(packages)}"
    )


@pytest.mark.parametrize("name", [n for n in _top_level_names() if n not in REGULAR_PACKAGES])
def test_top_level_folder_never_stands_in_for_an_installed_distribution(name: str) -> None:
    """From the root, a layout folder is at most a namespace portion, which any installed
    package of the same name wins over; an installed distribution's name resolves to it."""
    found = _import_from_root(name)
    if name in packages_distributions():
        assert not _inside(found, ROOT / name), f"import {name} took {found}"
        assert found not in ("<namespace>", "<not importable>"), f"import {name}: {found}"
    else:
        assert found in ("<namespace>", "<not importable>"), f"import {name} took {found}"


def test_the_distribution_transformers_needs_is_the_installed_one() -> None:
    """The regression of 2026-12-06: ``kernels`` from the root is PyPI's, not ours."""
    assert "kernels" in packages_distributions(), "transformers' dependency is not installed"
    found = _import_from_root("kernels")
    assert "site-packages" in found and not _inside(found, ROOT / "kernels"), found


def test_layout_folders_import_as_structgen_subpackages() -> None:
    import structgen.kernels.numpy_ref as numpy_ref
    from structgen.grammar.bundled import available, grammars_dir

    assert Path(numpy_ref.__file__).resolve().parent == ROOT / "kernels"
    assert grammars_dir() == ROOT / "grammars"
    assert {"json", "arithmetic", "sql_select", "csv", "python_expr"} <= set(available())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A wheel built from a copy of the tracked sources, and what the build printed (a copy:
    setuptools reuses a stale ``build/`` folder of the working tree)."""
    source = tmp_path_factory.mktemp("source")
    needed = ("pyproject.toml", "README.md", "LICENSE", "structgen", *LAYOUT_FOLDERS)
    for entry in _top_level_entries():
        if entry.name not in needed:
            continue
        if entry.is_dir():
            shutil.copytree(entry, source / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, source / entry.name)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("structgen-*.whl")
    return built, done.stdout + done.stderr


def test_wheel_holds_the_package_with_its_kernels_and_grammars(wheel: tuple[Path, str]) -> None:
    path, _ = wheel
    names = zipfile.ZipFile(path).namelist()
    tops = {name.split("/", 1)[0] for name in names if not name.startswith("structgen-")}
    assert tops == {"structgen"}, tops
    harness = [name for name in names if name.startswith(("structgen/bench/", "structgen_bench/"))]
    assert not harness, f"the benchmark harness is in the wheel: {harness[:5]}"
    for expected in ("structgen/kernels/numba_cpu.py", "structgen/kernels/numpy_ref.py",
                     "structgen/grammars/json.lark", "structgen/grammars/json.gbnf",
                     "structgen/py.typed", "structgen/cli/main.py"):
        assert expected in names, expected
    from structgen.vocab.dfa_cache import SEED_DIR

    for seed in sorted(SEED_DIR.glob("*.sga.z")):  # the automata the package ships
        assert f"structgen/vocab/seeds/{seed.name}" in names, seed.name
    # Every subpackage of the source tree (a package left out of pyproject's list would be
    # missing from every non-editable install).
    for init in sorted((ROOT / "structgen").rglob("__init__.py")):
        relative = init.relative_to(ROOT).as_posix()
        assert relative in names, f"{relative} is not in the wheel (pyproject's packages)"


def test_wheel_builds_without_setuptools_warnings(wheel: tuple[Path, str]) -> None:
    _, output = wheel
    lines = [line for line in output.splitlines()
             if "warning" in line.lower() and "Location 'file:" not in line]
    assert not lines, "\n".join(lines)
