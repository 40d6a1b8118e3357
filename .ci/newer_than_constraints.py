"""Print the installed distributions whose versions differ from the constraints file.

Run by ``make test-latest`` before the suite, so that a failure there can be read against the
list of releases that came since the constraints were written. Always exits 0: it informs.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def pinned_versions(constraints: Path) -> dict[str, str]:
    """``name -> version`` for every ``name==version`` line whose marker fits this interpreter."""
    pins: dict[str, str] = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate():
            continue
        for spec in requirement.specifier:
            if spec.operator == "==":
                pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def main(constraints: str) -> None:
    changed = []
    for name, pinned in sorted(pinned_versions(Path(constraints)).items()):
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue
        if installed.split("+")[0] != pinned.split("+")[0]:
            changed.append(f"  {name}: {pinned} (constraints) -> {installed}")
    if changed:
        print(f"newest releases differ from {constraints} in {len(changed)} distributions:")
        print("\n".join(changed))
    else:
        print(f"the newest releases are the versions of {constraints}")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "constraints.txt")
