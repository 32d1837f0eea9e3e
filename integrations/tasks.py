"""Thin Celery tasks: take ids, call a service. Each is safe to run twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from core.redisconn import redis_client
from releases.models import Release

from . import inbox
from .models import Delivery, DeliveryState

# Every task here waits out a database that is away (retried with backoff).
DB_RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "max_retries": 10,
}


@shared_task(name="integrations.delivery_process", **DB_RETRY)
def delivery_process_task(delivery_id: int) -> str:
    return inbox.delivery_process(delivery_id=delivery_id).state


@shared_task(name="integrations.deliveries_drain", **DB_RETRY)
def deliveries_drain_task() -> int:
    """Apply received deliveries in batches until none is left. Before its last look it
    frees the "drain queued" key, so a delivery stored meanwhile either is seen by that
    look or queues a new drain."""
    from django.conf import settings

    total = 0
    while True:
        taken = inbox.deliveries_drain()
        total += taken
        if taken:
            continue
        if settings.REDIS_URL:
            redis_client().delete(inbox.DRAIN_KEY)
        taken = inbox.deliveries_drain()
        total += taken
        if not taken:
            return total


@shared_task(name="integrations.deliveries_replay", **DB_RETRY)
def deliveries_replay_task(release_id: int) -> int:
    release = Release.objects.select_related("product").filter(pk=release_id).first()
    return inbox.deliveries_replay(release=release) if release else 0


@shared_task(name="integrations.deliveries_sweep")
def deliveries_sweep_task() -> int:
    """Drain deliveries still unprocessed after a minute (a lost message, a worker that
    died), and forget deliveries past their retention."""
    stuck = Delivery.objects.filter(
        state=DeliveryState.RECEIVED, received_at__lt=timezone.now() - timedelta(minutes=1)
    ).exists()
    if stuck:
        deliveries_drain_task.delay()
    inbox.deliveries_prune()
    return int(stuck)


@worker_ready.connect
def _drain_on_start(**kwargs: object) -> None:
    """A worker that starts drains what arrived while none ran."""
    deliveries_drain_task.delay()


@shared_task(name="integrations.poll_due")
def poll_due_task() -> int:
    """Ask CI about releases still waiting for a CI gate (`polling.releases_poll`); the
    beat schedule `poll-ci` runs it every GONOGO_POLL_INTERVAL_SECONDS."""
    from .polling import releases_poll

    return releases_poll()


# The GitHub App (deployments.py, commit_status.py): each task takes an id and is safe to
# run twice.


@shared_task(name="integrations.app_delivery_process", **DB_RETRY)
def app_delivery_process_task(delivery_id: int) -> str:
    from .deployments import app_delivery_process

    return app_delivery_process(delivery_id=delivery_id).state


@shared_task(name="integrations.deployment_answer", **DB_RETRY)
def deployment_answer_task(request_id: int) -> str:
    from .deployments import deployment_answer_send

    return deployment_answer_send(request_id=request_id).state


@shared_task(name="integrations.deployments_reconsider", **DB_RETRY)
def deployments_reconsider_task(release_id: int) -> int:
    from .deployments import deployments_reconsider

    return deployments_reconsider(release_id=release_id)


@shared_task(name="integrations.commit_status", **DB_RETRY)
def commit_status_task(post_id: int) -> str:
    from .commit_status import commit_status_send

    return commit_status_send(post_id=post_id).posted_state


@shared_task(name="integrations.commit_status_refresh", **DB_RETRY)
def commit_status_refresh_task(release_id: int) -> str:
    from .commit_status import commit_status_refresh

    release = Release.objects.select_related("product").filter(pk=release_id).first()
    post = commit_status_refresh(release=release) if release else None
    return post.state if post else ""


@shared_task(name="integrations.github_app_sweep")
def github_app_sweep_task() -> int:
    """The beat's look (every 30 s): waiting deployments judged again, lost answers sent,
    commit statuses of active releases refreshed."""
    from .commit_status import commit_statuses_sweep
    from .deployments import deployments_sweep

    return deployments_sweep() + commit_statuses_sweep()
