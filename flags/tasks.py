"""Celery tasks for feature flags: thin, taking ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="flags.kill")
def kill_send_task(kill_id: int) -> str:
    """One attempt at one Kill; a failure schedules the next one itself."""
    from . import services  # services queues this task: imported here, not at the top

    return services.kill_attempt(kill_id=kill_id)


@shared_task(name="flags.sweep")
def kills_sweep_task() -> int:
    """Beat: queue again the pending Kills whose message was lost."""
    from . import services

    return services.kills_due_requeue()


@shared_task(name="flags.read_due")
def flags_read_task() -> int:
    """Beat: read back the state of the flags of releases rolling out, halted or just out."""
    from . import readback

    return readback.flags_read_due()
