"""The rollout's steps, told to Apple (connected in StoresConfig.ready).

Apple's phased release follows a fixed 7-day schedule (1, 2, 5, 10, 20, 50, 100 %): the
board cannot set a percentage, only pause, resume or complete it. So a halt (manual or
automatic) and a recorded rollback pause it, a resume resumes it, the board's last stage
completes it; starting and advancing the board's own stages change nothing at Apple and
only read Apple's state back (docs/app-store.md).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from releases.models import Product, Release

from . import appstore_tasks
from .appstore_services import appstore_change_want, source_of
from .models import AppStorePhaseState

WANTED = {
    "rollout.halted": AppStorePhaseState.PAUSED,
    "rollback.recorded": AppStorePhaseState.PAUSED,
    "rollout.resumed": AppStorePhaseState.ACTIVE,
    "rollout.completed": AppStorePhaseState.COMPLETE,
}
READ_ONLY = ("rollout.started", "rollout.advanced")


def appstore_event_receive(
    sender: str,
    *,
    release: Release | None = None,
    product: Product | None = None,
    data: dict[str, Any] | None = None,
    actor: Any = None,
    **kwargs: Any,
) -> None:
    event = sender
    if release is None or (event not in WANTED and event not in READ_ONLY):
        return
    if source_of(release) is None:
        return
    if event in READ_ONLY:
        pk = release.pk
        transaction.on_commit(lambda: appstore_tasks.read_soon(pk), robust=True)
        return
    data = data or {}
    halt = data.get("halt") or {}
    reason = str(halt.get("reason") or "") if isinstance(halt, dict) else ""
    appstore_change_want(release=release, wanted=WANTED[event], origin=event, actor=actor, reason=reason)
