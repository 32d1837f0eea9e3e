from __future__ import annotations

from celery import shared_task

from . import bus


@shared_task(name="live.prune")
def live_prune_task() -> int:
    """Beat task: drop database-bus events older than an hour."""
    return bus.prune()
