"""Running the `gonogo` command as a program: `python -m gonogo_cli`, the old `python -m
gonogo.cli`, the zipapp `make cli` builds; and the package needing only the standard library."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
PACKAGE = REPO / "gonogo_cli"

# Imports every module of gonogo_cli, with the repository root as the only folder outside
# the standard library on sys.path, then lists the modules that were loaded.
PROBE = """
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import gonogo_cli
for module in pkgutil.iter_modules(gonogo_cli.__path__):
    if module.name != "__main__":
        importlib.import_module("gonogo_cli." + module.name)
print("\\n".join(sorted(sys.modules)))
"""


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def build_script() -> ModuleType:
    """scripts/build_cli.py, loaded from its file (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_cli", REPO / "scripts" / "build_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "gonogo_cli", "--help"],
        # The old module name, kept for existing pipelines.
        [sys.executable, "-m", "gonogo.cli", "--help"],
    ],
)
def test_runs_as_a_program(command: list[str]) -> None:
    done = run(command, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "usage: gonogo" in done.stdout


def test_runs_from_the_zipapp(tmp_path: Path) -> None:
    pyz = build_script().build(tmp_path / "gonogo-cli.pyz")
    assert pyz == tmp_path / "gonogo-cli.pyz"
    # The one file a pipeline keeps: the standard library is enough (-S: no site-packages).
    done = run([sys.executable, "-S", str(pyz), "verdict", "--help"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "usage: gonogo" in done.stdout
    # The exit code is the command's (GONOGO_URL is unset here: 2).
    done = run(
        [sys.executable, "-S", str(pyz), "verdict", "--product", "ios-app", "--version", "2.4.0"], tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "gonogo: GONOGO_URL is not set" in done.stderr


def test_imports_only_the_standard_library(tmp_path: Path) -> None:
    # -I: no PYTHONPATH, no user site, not the current folder; -S: no site-packages.
    done = run([sys.executable, "-I", "-S", "-c", PROBE, str(REPO)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert "gonogo_cli.main" in loaded
    outside = (
        {name.split(".")[0] for name in loaded} - set(sys.stdlib_module_names) - {"gonogo_cli", "__main__"}
    )
    assert outside == set()


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_source_is_python_3_9(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    ast.parse(source, filename=str(path), feature_version=(3, 9))  # no match statements and the like
    if path.name != "__init__.py":
        # Annotations stay unevaluated, so `X | None` and friends are fine on 3.9.
        assert "from __future__ import annotations" in source
