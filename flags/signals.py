"""The default attachment: a release ships its product's active flags (docs/flags.md).

A release created, or saved as a candidate (promoted from a draft, reopened by a new
build), gets a `FlagShip` for each active flag of its product that has none yet for it.
A flag detached by hand keeps its `ships=False`; a flag added later is attached to the
releases created or promoted after it (or by hand, on the board).
"""

from __future__ import annotations

from typing import Any

from releases.models import Release, ReleaseState

from .services import flags_attach_default


def release_saved(sender: Any, instance: Release, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    if created or instance.state == ReleaseState.CANDIDATE:
        flags_attach_default(instance)
