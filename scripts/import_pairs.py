"""Print which project packages import which, and every pair that imports both ways.

`python scripts/import_pairs.py` (no Django needed): reads every module's imports,
top-level and inside functions alike, outside migrations and tests. Exits 1 when a pair
imports both ways. `make lint` checks the layers themselves (import-linter).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {"tests", "bench", "scripts", "locale", "static", "templates", "docs"}


def packages() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name not in SKIPPED)


def imports_of(package: str, known: set[str]) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found |= {n.split(".")[0] for n in names if n.split(".")[0] in known - {package}}
    return found


def main() -> int:
    known = set(packages())
    edges = {package: imports_of(package, known) for package in sorted(known)}
    both: defaultdict[str, list[str]] = defaultdict(list)
    for package, targets in edges.items():
        print(f"{package} -> {', '.join(sorted(targets)) or '(nothing)'}")
        for target in targets:
            if package < target and package in edges[target]:
                both[package].append(target)
    pairs = [f"{a} <-> {b}" for a, targets in sorted(both.items()) for b in sorted(targets)]
    print("two-way pairs:", ", ".join(pairs) if pairs else "none")
    return 1 if pairs else 0


if __name__ == "__main__":
    sys.exit(main())
