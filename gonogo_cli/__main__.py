"""`python -m gonogo_cli`: the same command as `gonogo`."""

from __future__ import annotations

from gonogo_cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
