"""Write var/gonogo-cli.pyz: the `gonogo` command as one file for a pipeline's repository.

The zipapp holds the `gonogo_cli` package and runs with the standard library of Python
3.9 or later: `python3 var/gonogo-cli.pyz report …`. Run `make cli`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import zipapp
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gonogo_cli"
TARGET = ROOT / "var" / "gonogo-cli.pyz"

# zipapp's own `main=` ignores the return value, so the exit code is passed on here.
MAIN = '''"""The `gonogo` command (gonogo_cli), as a zipapp."""

from gonogo_cli.main import main

raise SystemExit(main())
'''


def build(target: Path = TARGET) -> Path:
    """Write the zipapp to `target` (its folder is created) and return its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        staging = Path(folder)
        shutil.copytree(
            PACKAGE, staging / "gonogo_cli", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        (staging / "__main__.py").write_text(MAIN, encoding="utf-8")
        zipapp.create_archive(staging, target, interpreter="/usr/bin/env python3", compressed=True)
    return target


if __name__ == "__main__":
    written = build(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET)
    print(f"wrote {written}")
