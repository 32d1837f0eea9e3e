"""What the board shows from the layers above it (a port: they register, the board asks).

`slack/` sits above `board/` and may not be imported here; it registers, in its
AppConfig.ready, a reader for what the sign-offs panel shows of it (stored state only:
the panel is cached). `signoffs_extra(release)` is `{name: value}` for the template.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from releases.models import Release

_SIGNOFFS_EXTRA: dict[str, Callable[[Release], Any]] = {}


def signoffs_extra_provide(name: str, reader: Callable[[Release], Any]) -> None:
    _SIGNOFFS_EXTRA[name] = reader


def signoffs_extra(release: Release) -> dict[str, Any]:
    return {name: reader(release) for name, reader in _SIGNOFFS_EXTRA.items()}
