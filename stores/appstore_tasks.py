"""Celery tasks for App Store Connect: thin, taking ids, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="stores.appstore_change")
def appstore_change_task(change_id: int) -> str:
    """One attempt at one change; a failure schedules the next one itself."""
    from . import appstore_services

    return appstore_services.appstore_change_send(change_id=change_id)


@shared_task(name="stores.appstore_read")
def appstore_read_task(release_id: int) -> str:
    from . import appstore_sync

    return appstore_sync.appstore_read(release_id=release_id)


@shared_task(name="stores.appstore_sweep")
def appstore_sweep_task() -> int:
    """Beat: queue again the waiting changes whose message was lost."""
    from . import appstore_services

    return appstore_services.changes_due_requeue()


@shared_task(name="stores.appstore_read_due")
def appstore_read_due_task() -> int:
    """Beat: read back every release that is rolling out, halted or lately released."""
    from . import appstore_sync

    due = appstore_sync.reads_due()
    for pk in due:
        read_soon(pk)
    return len(due)


def read_soon(release_id: int) -> None:
    """Queue a read-back; a broker that is down only delays it to the next beat."""
    try:
        appstore_read_task.apply_async(args=(release_id,))
    except Exception:
        log.warning(
            "App Store read of release %s not queued; the beat reads it later", release_id, exc_info=True
        )
