"""Messages back to Slack through an interaction's `response_url`: stored with the
interaction's outcome, sent after commit by the Celery task `slack.reply_send`, retried
(outbox.py). Slack takes up to five of them within 30 minutes of the press."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import outbox
from .models import SlackInteraction, SlackReply
from .web import Outcome, response_post

log = logging.getLogger(__name__)


def reply_queue(*, interaction: SlackInteraction, url: str, body: dict[str, Any]) -> SlackReply:
    now = timezone.now()
    reply = SlackReply.objects.create(
        interaction=interaction, url=url, body=body, created_at=now, next_attempt_at=now
    )
    transaction.on_commit(lambda: reply_enqueue(reply.pk, 0), robust=True)
    return reply


def reply_enqueue(pk: int, countdown: float) -> None:
    from . import tasks  # the tasks module imports this one

    try:
        tasks.reply_send_task.apply_async(args=(pk,), countdown=countdown)
    except Exception:  # the broker: the sweep queues it again
        log.warning("slack reply %s not queued; the sweep will queue it", pk, exc_info=True)


def _send(reply: SlackReply) -> Outcome:
    return response_post(reply.url, reply.body)


def slack_reply_send(*, reply_id: int, now: Any = None) -> str:
    """One attempt at reply `reply_id`: `sent`, `retry`, `failed` or `skipped`."""
    return outbox.attempt(SlackReply, reply_id, _send, enqueue=reply_enqueue, now=now)
