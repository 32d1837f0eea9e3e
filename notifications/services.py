"""Sending a delivery (one attempt at a time, retried with backoff), and the Send test.

`delivery_send` is what the Celery task `notifications.send` runs. It claims the
delivery under a row lock (`skip_locked`: two workers never send it at once), sends it
outside any transaction, then records the attempt and either marks it sent, schedules
the next attempt (exponential backoff with full jitter, `apply_async(countdown=…)`:
nothing sleeps) or marks it failed once out of attempts. Run twice, it sends once: a
delivery that is sent, failed, claimed or not yet due is left alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.backoff import full_jitter
from core.errors import Conflict, NotAllowed

from . import dispatch
from .models import Channel, ChannelKind, Delivery, DeliveryAttempt, DeliveryStatus
from .senders import Outcome, delivery_deliver
from .signals import channel_test_delivered

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# While one worker sends, the delivery is claimed for this long (longer than any
# request's timeout); a worker that dies meanwhile leaves it to the sweep after that.
CLAIM = timedelta(seconds=120)
# The longest wait between two attempts, whatever the base and the attempt number.
MAX_DELAY_SECONDS = 3600.0


def retry_delay(attempt: int, *, base: float | None = None, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, …): a random time up
    to base * 2^(attempt-1) ("full jitter"), at least what the channel asked for
    (Retry-After), never more than an hour."""
    base = settings.GONOGO_ALERT_RETRY_BASE_SECONDS if base is None else base
    return full_jitter(attempt, base=base, cap=MAX_DELAY_SECONDS, retry_after=retry_after)


def _claim(delivery_id: int, now: datetime) -> tuple[Delivery | None, str]:
    """Lock the delivery and, when it is due, count the attempt and hold it for `CLAIM`."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("channel", "requested_by")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return None, "busy"
        if delivery.status != DeliveryStatus.PENDING:
            return None, delivery.status
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return None, "not_due"
        if not delivery.channel.active:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            delivery.last_error = "the channel was switched off before it was sent"
            delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
            return None, "failed"
        if delivery.channel.kind == ChannelKind.PAGERDUTY:
            waiting = _earlier_pending(delivery)
            if waiting is not None:
                # A resolve never overtakes its trigger: wait for the earlier one's next try.
                after = max(waiting.next_attempt_at or now, now) + timedelta(seconds=1)
                delivery.next_attempt_at = after
                delivery.save(update_fields=["next_attempt_at"])
                countdown = (after - now).total_seconds()
                transaction.on_commit(
                    lambda: dispatch.deliveries_enqueue([delivery_id], countdown=countdown), robust=True
                )
                return None, "waiting"
        delivery.attempts += 1
        delivery.next_attempt_at = now + CLAIM
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        return delivery, "claimed"


def _earlier_pending(delivery: Delivery) -> Delivery | None:
    """An earlier delivery to the same channel about the same release, still pending."""
    if delivery.release_id is None:
        return None
    return (
        Delivery.objects.filter(
            channel_id=delivery.channel_id, release_id=delivery.release_id, status=DeliveryStatus.PENDING
        )
        .filter(Q(created_at__lt=delivery.created_at) | Q(created_at=delivery.created_at, pk__lt=delivery.pk))
        .order_by("created_at", "pk")
        .first()
    )


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """One attempt at `delivery_id`, if it is pending and due. Returns `sent`, `retry`,
    `failed`, or why nothing was done (`busy`, `not_due`, `waiting`, `sent`/`failed`
    already). A delivered test sends `channel_test_delivered` after the commit."""
    now = now or timezone.now()
    delivery, state = _claim(delivery_id, now)
    if delivery is None:
        return state
    outcome = delivery_deliver(delivery)  # outside any transaction: no lock is held
    return _record(delivery, outcome)


def _record(delivery: Delivery, outcome: Outcome) -> str:
    done_at = timezone.now()
    with transaction.atomic():
        row = Delivery.objects.select_for_update(of=("self",)).get(pk=delivery.pk)
        DeliveryAttempt.objects.create(
            delivery=row,
            number=row.attempts,
            at=done_at,
            ok=outcome.ok,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
        if outcome.ok:
            row.status, row.sent_at, row.next_attempt_at = DeliveryStatus.SENT, done_at, None
            row.last_error = outcome.error  # a note only (a test alert left open)
            result = "sent"
        elif outcome.retry and row.attempts < settings.GONOGO_ALERT_MAX_ATTEMPTS:
            delay = retry_delay(row.attempts, retry_after=outcome.retry_after)
            row.next_attempt_at = done_at + timedelta(seconds=delay)
            row.last_error = outcome.error
            transaction.on_commit(
                lambda: dispatch.deliveries_enqueue([row.pk], countdown=max(delay, 0.01)), robust=True
            )
            result = "retry"
        else:
            row.status, row.next_attempt_at, row.last_error = DeliveryStatus.FAILED, None, outcome.error
            result = "failed"
        row.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error"])
    if result == "sent" and row.event == "channel.test":
        channel_test_delivered.send(
            sender=Channel, channel=delivery.channel, delivery=row, by=delivery.requested_by, at=row.sent_at
        )
    return result


def channel_may_manage(user: Any, channel: Channel) -> bool:
    """DevOps or a PM/PO of one of the channel's products (of any, for a channel that
    serves all products) sees it and sends it a test."""
    products = list(channel.products.all())
    if not products:
        return can(user, Capability.MANAGE_ALERTS)
    return any(can(user, Capability.MANAGE_ALERTS, p) for p in products)


def channel_test_language(channel: Channel) -> str:
    """The language of the products the channel serves, when they agree; else the default."""
    languages = {p.language for p in channel.products.all()}
    return languages.pop() if len(languages) == 1 else settings.LANGUAGE_CODE


@transaction.atomic
def channel_test_request(*, channel: Channel, actor: User | None) -> Delivery:
    """DevOps or a PM/PO queues a `channel.test` delivery for this channel only; it is
    sent like any alert (retried, logged) and, once delivered, `channel_test_delivered`
    is sent. The request is on the audit trail."""
    if not channel_may_manage(actor, channel) or actor is None:
        raise NotAllowed(
            "role_not_held", _("Only DevOps or a PM/PO of the channel's products can send a test.")
        )
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    if not channel.active:
        raise Conflict("channel_inactive", _("This channel is switched off: switch it on to send a test."))
    facts = dispatch.delivery_facts(
        event="channel.test",
        release=None,
        product=None,
        data={"by": actor.get_username(), "channel": channel.slug},
        actor=actor,
        language=channel_test_language(channel),
    )
    now = timezone.now()
    delivery = Delivery.objects.create(
        channel=channel,
        event="channel.test",
        message_id=dispatch.message_id_new(),
        data=facts,
        created_at=now,
        next_attempt_at=now,
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action="channel.test",
        obj=channel,
        after={"delivery": delivery.pk, "message_id": delivery.message_id, "kind": channel.kind},
    )
    dispatch.deliveries_enqueue_on_commit([delivery.pk])
    return delivery
