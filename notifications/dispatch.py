"""From a release event to stored deliveries, and from a stored delivery to the queue.

`release_event_receive` listens to `releases.events.release_event` (connected in
NotificationsConfig.ready). In the emitter's own transaction it stores one `Delivery`
per channel that wants the event for the product, with the facts the message needs
(the release as it was, the product's language, the board link); after commit each is
queued for Celery (`notifications.send`). A delivery whose message was lost (the broker
was down, a worker died) is queued again by the beat's sweep: nothing is lost.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from releases.models import Product, Release

from . import tasks
from .models import Channel, Delivery, DeliveryStatus
from .senders import kind_sends

log = logging.getLogger(__name__)

# A pending delivery this long past its time is queued again by the sweep.
SWEEP_GRACE = timedelta(seconds=30)


def message_id_new() -> str:
    """The Standard Webhooks `webhook-id`: unique, the same on every attempt."""
    return f"msg_{uuid.uuid4().hex}"


def board_url(release: Release) -> str:
    path = reverse(
        "board:release_board", kwargs={"product": release.product.slug, "version": release.version}
    )
    return f"{settings.GONOGO_BASE_URL}{path}"


def delivery_facts(
    *,
    event: str,
    release: Release | None,
    product: Product | None,
    data: dict[str, Any],
    actor: Any = None,
    language: str | None = None,
) -> dict[str, Any]:
    """What a delivery keeps of the event: its data, the release as it was then, the
    language of its product, when and by whom."""
    product = product or (release.product if release is not None else None)
    who = actor.get_username() if getattr(actor, "is_authenticated", False) else ""
    return {
        "event": data,
        "release": (
            {
                "product": release.product.slug,
                "product_name": release.product.name,
                "version": release.version,
                "build": release.build_number,
                "state": release.state,
                "board_url": board_url(release),
            }
            if release is not None
            else None
        ),
        "product": {"slug": product.slug, "name": product.name} if product is not None else None,
        "language": language or (product.language if product is not None else settings.LANGUAGE_CODE),
        "at": timezone.now().isoformat(),
        "actor": who,
    }


def release_event_receive(
    sender: str,
    *,
    release: Release | None = None,
    product: Product | None = None,
    data: dict[str, Any] | None = None,
    actor: Any = None,
    **kwargs: Any,
) -> list[Delivery]:
    """Store a delivery for each active channel subscribed to `sender` (the event) for the
    product, in the caller's transaction; queue them after commit. `channel.test` is
    never broadcast: a test is for one channel (`services.channel_test_request`)."""
    event = sender
    if event == "channel.test":
        return []
    data = dict(data or {})
    product_id = product.pk if product is not None else None
    channels = [
        c
        for c in Channel.objects.filter(active=True).prefetch_related("products").order_by("pk")
        if c.wants(event, product_id) and kind_sends(c.kind, event, data)
    ]
    if not channels:
        return []
    facts = delivery_facts(event=event, release=release, product=product, data=data, actor=actor)
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                channel=c,
                event=event,
                message_id=message_id_new(),
                product=product,
                release=release,
                data=facts,
                created_at=now,
                next_attempt_at=now,
                requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            for c in channels
        ]
    )
    deliveries_enqueue_on_commit([d.pk for d in deliveries])
    return deliveries


def deliveries_enqueue_on_commit(ids: list[int]) -> None:
    """After the transaction commits, queue each delivery; a broker that is down only
    delays them until the sweep (the rows are stored)."""
    transaction.on_commit(lambda: deliveries_enqueue(ids), robust=True)


def deliveries_enqueue(ids: Iterable[int], *, countdown: float = 0) -> int:
    queued = 0
    for pk in ids:
        try:
            if countdown > 0:
                tasks.delivery_send_task.apply_async(args=(pk,), countdown=countdown)
            else:
                tasks.delivery_send_task.apply_async(args=(pk,))
            queued += 1
        except Exception:  # the broker: the sweep queues it again later
            log.warning("alert delivery %s not queued; the sweep will queue it", pk, exc_info=True)
    return queued


def deliveries_due_requeue(*, now: Any = None) -> int:
    """Beat: queue again every pending delivery well past its time (its message was lost,
    or the worker sending it died: its claim has lapsed). Sending is idempotent, so a
    delivery queued twice is sent once."""
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    return deliveries_enqueue(due)
