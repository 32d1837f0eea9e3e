"""The webhook inbox: every delivery is stored raw before anything reads it
(`delivery_receive`), processed after commit by a Celery task (`delivery_process`, safe
to run twice), and kept waiting when its release does not exist yet, to be replayed when
it does (`deliveries_replay`, scheduled by whoever creates the release or its new build:
the API)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import DomainError
from core.redisconn import redis_client
from core.validation import json_without_nul
from gates.models import ResultSource
from releases.models import Product, Release

from . import tasks  # the tasks module imports this one: read at call time
from .apply import Applied, Planned, Resolver, plan, record
from .models import Delivery, DeliverySource, DeliveryState, Integration
from .providers import WEBHOOKS
from .providers.base import BadDelivery
from .results import api_result_replay

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    delivery_id: int
    duplicate: bool


_INSERT = """
    INSERT INTO integrations_delivery
        (source, integration_id, product_id, event, key, headers, body, received_at, state, outcome,
         attempts, head_sha, head_branch, version, release_id, processed_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', '', %s, NULL, NULL)
    ON CONFLICT (source, product_id, key) WHERE NOT (key = '') DO NOTHING
    RETURNING id
"""


def delivery_receive(
    *,
    source: str,
    product: Product,
    body: bytes,
    event: str = "",
    key: str = "",
    headers: Mapping[str, str] | None = None,
    integration: Integration | None = None,
    state: str = DeliveryState.RECEIVED,
    outcome: str = "",
    version: str = "",
) -> Received:
    """Store a delivery exactly as it came, in one statement. The same key again from the
    same source and product is a duplicate: the first one's id is returned and nothing is
    stored. New deliveries in state `received` are drained by a worker after commit."""
    key = key[:200]
    params = [
        source,
        integration.pk if integration else None,
        product.pk,
        event[:50],
        key,
        json.dumps(dict(headers or {})),
        body,
        timezone.now(),
        state,
        outcome,
        version[:64],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, params)
        row = cursor.fetchone()
    if row is None:
        existing = Delivery.objects.filter(source=source, product=product, key=key).values_list(
            "pk", flat=True
        )
        return Received(existing.get(), True)
    if state == DeliveryState.RECEIVED:
        transaction.on_commit(deliveries_drain_schedule, robust=True)
    return Received(int(row[0]), False)


def deliveries_drain_schedule() -> None:
    """Queue a drain of the inbox, at most one at a time: with Redis a short-lived key
    says a drain is already queued (the drain clears it before its last look, so nothing
    stored meanwhile is missed); without Redis every delivery queues one."""
    if settings.REDIS_URL and not redis_client().set(DRAIN_KEY, "1", nx=True, px=DRAIN_KEY_MS):
        return
    tasks.deliveries_drain_task.delay()


DRAIN_KEY = "gonogo:inbox:drain-queued"
DRAIN_KEY_MS = 30_000  # a drain that died frees the key after this


def _payload(body: bytes) -> dict[str, Any]:
    try:
        # PostgreSQL text cannot hold a NUL: removed from every string read out of it (the
        # stored body stays as it came, as bytes).
        payload = json_without_nul(body)
    except (ValueError, RecursionError) as exc:
        raise BadDelivery(f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadDelivery("the body is JSON but not an object")
    return payload


def _conclude(delivery: Delivery, applied: Applied) -> None:
    if applied.waiting:
        delivery.state = DeliveryState.WAITING
        delivery.head_sha = applied.waiting_sha.lower()[:64]
        delivery.head_branch = applied.waiting_branch[:255]
    elif applied.recorded:
        delivery.state = DeliveryState.APPLIED
    else:
        delivery.state = DeliveryState.IGNORED
    delivery.outcome = "\n".join(applied.notes) or "nothing in this event concerns a gate"


def _fail(delivery: Delivery, exc: Exception) -> None:
    delivery.state = DeliveryState.FAILED
    if isinstance(exc, BadDelivery | DomainError):
        delivery.outcome = str(exc)
    else:  # a payload no provider sends; kept, marked, never retried forever
        logger.warning("delivery %s could not be processed", delivery.pk, exc_info=exc)
        delivery.outcome = f"could not be processed: {exc.__class__.__name__}: {exc}"[:2000]


SAVED = ["state", "outcome", "attempts", "processed_at", "head_sha", "head_branch"]


def _process(deliveries: list[Delivery]) -> None:
    """Apply locked deliveries together (see `apply.record`). If the batch as a whole fails for
    a reason other than the database going away, each is applied alone, so one bad
    delivery is marked failed and the others still apply."""
    now = timezone.now()
    for delivery in deliveries:
        delivery.attempts += 1
        delivery.processed_at = now
    try:
        with transaction.atomic():
            resolver = Resolver()
            planned: list[Planned] = []
            outcomes: list[tuple[Delivery, Applied | Exception]] = []
            for delivery in deliveries:
                try:
                    applied = Applied()
                    payload = _payload(bytes(delivery.body))
                    if delivery.source == DeliverySource.API:
                        with transaction.atomic():
                            applied = api_result_replay(delivery, payload)
                    else:
                        assert delivery.integration is not None
                        observations = WEBHOOKS[delivery.source].observations(delivery.event, payload)
                        planned += plan(delivery.integration, observations, applied, resolver)
                    outcomes.append((delivery, applied))
                except (OperationalError, InterfaceError):
                    raise
                except Exception as exc:
                    outcomes.append((delivery, exc))
            record(planned, source=ResultSource.WEBHOOK)
            for delivery, outcome in outcomes:
                if isinstance(outcome, Exception):
                    _fail(delivery, outcome)
                else:
                    _conclude(delivery, outcome)
            Delivery.objects.bulk_update(deliveries, SAVED)
    except (OperationalError, InterfaceError):
        raise  # the database went away: the task retries with backoff
    except Exception as exc:
        if len(deliveries) == 1:
            delivery = deliveries[0]
            _fail(delivery, exc)
            Delivery.objects.filter(pk=delivery.pk).update(**{f: getattr(delivery, f) for f in SAVED})
            return
        logger.warning(
            "a batch of %s deliveries failed; applying them one by one", len(deliveries), exc_info=True
        )
        for delivery in deliveries:
            with transaction.atomic():
                locked = (
                    Delivery.objects.select_for_update()
                    .select_related("integration__product")
                    .get(pk=delivery.pk)
                )
                _process([locked])


def delivery_process(*, delivery_id: int) -> Delivery:
    """Apply one stored delivery. Safe to run twice: an applied or ignored delivery is left
    alone; a waiting one is tried again (its release may exist now)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("integration__product", "product")
            .get(pk=delivery_id)
        )
        if delivery.state not in (DeliveryState.APPLIED, DeliveryState.IGNORED):
            _process([delivery])
    delivery.refresh_from_db()
    return delivery


def deliveries_drain(*, limit: int = 200) -> int:
    """Apply up to `limit` received deliveries, oldest first, claimed so that concurrent
    drains never take the same ones. Returns how many were taken."""
    with transaction.atomic():
        batch = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=DeliveryState.RECEIVED)
            .select_related("integration__product", "product")
            .order_by("id")[:limit]
        )
        if batch:
            _process(batch)
    return len(batch)


def deliveries_waiting_for(release: Release) -> list[int]:
    """Ids of deliveries kept for `release` before it existed (or before its new commit)."""
    match = Q(version=release.version, source=DeliverySource.API)
    if release.commit_sha:
        match |= Q(head_sha__startswith=release.commit_sha)
    if release.branch:
        match |= Q(head_branch=release.branch)
    return list(
        Delivery.objects.filter(match, product_id=release.product_id, state=DeliveryState.WAITING)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)
    )


def deliveries_replay(*, release: Release) -> int:
    """Apply, oldest first and in one batch, what waited for this release (a bad delivery
    is marked failed by `_process`, the others still apply). Returns how many were tried."""
    with transaction.atomic():
        batch = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=deliveries_waiting_for(release), state=DeliveryState.WAITING)
            .select_related("integration__product", "product")
            .order_by("received_at", "id")
        )
        if batch:
            _process(batch)
    return len(batch)


def deliveries_replay_schedule(*, release: Release) -> None:
    """After commit, replay what waited for `release` (called when it is created or takes
    a new build)."""
    transaction.on_commit(lambda: tasks.deliveries_replay_task.delay(release.pk), robust=True)


def deliveries_prune() -> int:
    """Forget deliveries older than the retention (at least 7 days, so redelivery of a
    GitHub delivery id stays harmless for at least that long)."""
    keep = max(7, settings.GONOGO_DELIVERY_KEEP_DAYS)
    deleted, _rows = Delivery.objects.filter(received_at__lt=timezone.now() - timedelta(days=keep)).delete()
    return deleted
