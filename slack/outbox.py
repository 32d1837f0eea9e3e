"""Sending what is stored: an ask (chat.postMessage) or a reply (response_url), one
attempt at a time, like alerts (notifications/services.py): the row is claimed under a
lock (`skip_locked`), sent outside any transaction, the answer recorded; a failure that
may pass is tried again after a backoff with full jitter (at least Slack's Retry-After),
queued with a countdown (nothing sleeps); a row whose message was lost is queued again by
the beat's sweep. Run twice, a row is sent once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from core.backoff import full_jitter

from .models import SendStatus, SlackAsk, SlackReply
from .web import Outcome

log = logging.getLogger(__name__)

CLAIM = timedelta(seconds=60)
MAX_ATTEMPTS = 6
BASE_SECONDS = 5.0
MAX_DELAY_SECONDS = 900.0
SWEEP_GRACE = timedelta(seconds=30)


def retry_delay(attempt: int, retry_after: float | None) -> float:
    return full_jitter(attempt, base=BASE_SECONDS, cap=MAX_DELAY_SECONDS, retry_after=retry_after)


def _claim(model: type[SlackAsk] | type[SlackReply], pk: int, now: datetime) -> Any:
    with transaction.atomic():
        row = model.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if row is None or row.status != SendStatus.PENDING:
            return None
        if row.next_attempt_at and row.next_attempt_at > now:
            return None
        row.attempts += 1
        row.next_attempt_at = now + CLAIM
        row.save(update_fields=["attempts", "next_attempt_at"])
        return row


def attempt(
    model: type[SlackAsk] | type[SlackReply],
    pk: int,
    send: Callable[[Any], Outcome],
    *,
    enqueue: Callable[[int, float], None],
    done: Callable[[Any, Outcome], None] | None = None,
    now: datetime | None = None,
) -> str:
    """One attempt at row `pk`: `sent`, `retry`, `failed`, or `skipped` (not pending, not
    due, or another worker has it). `done(row, outcome)` runs in the recording
    transaction (the board's live refresh, for an ask)."""
    row = _claim(model, pk, now or timezone.now())
    if row is None:
        return "skipped"
    outcome = send(row)  # no lock held, no transaction open
    at = timezone.now()
    with transaction.atomic():
        row = model.objects.select_for_update().get(pk=pk)
        row.answers = [*row.answers, {"at": at.isoformat(), "number": row.attempts, **outcome.record()}][-20:]
        if outcome.ok:
            row.status, row.sent_at, row.next_attempt_at, result = SendStatus.SENT, at, None, "sent"
        elif outcome.retry and row.attempts < MAX_ATTEMPTS:
            delay = max(retry_delay(row.attempts, outcome.retry_after), 0.01)
            row.next_attempt_at, result = at + timedelta(seconds=delay), "retry"
            transaction.on_commit(lambda: enqueue(pk, delay), robust=True)
        else:
            row.status, row.next_attempt_at, result = SendStatus.FAILED, None, "failed"
        row.save()
        if done is not None:
            done(row, outcome)
    return result


def due(model: type[Model], *, now: datetime | None = None) -> list[int]:
    """Pending rows well past their time (their message was lost, or their worker died)."""
    now = now or timezone.now()
    return list(
        model.objects.filter(status=SendStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)  # type: ignore[attr-defined]
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
