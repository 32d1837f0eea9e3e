"""Celery tasks for alerts: thin, taking ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import dispatch, services


@shared_task(name="notifications.send")
def delivery_send_task(delivery_id: int) -> str:
    """One attempt at one delivery; a failure schedules the next one itself (never a
    sleep here, and one channel's retries never hold up another's deliveries)."""
    return services.delivery_send(delivery_id=delivery_id)


@shared_task(name="notifications.sweep")
def deliveries_sweep_task() -> int:
    """Beat: queue again the pending deliveries whose message was lost."""
    return dispatch.deliveries_due_requeue()
