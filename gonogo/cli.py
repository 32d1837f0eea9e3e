"""`python -m gonogo.cli`: kept for existing pipelines; the CLI is the `gonogo_cli` package."""

from __future__ import annotations

from gonogo_cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
