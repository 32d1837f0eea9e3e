"""Celery tasks for Slack: thin, taking ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import asks, outbox, replies
from .models import SlackAsk, SlackReply


@shared_task(name="slack.ask_post")
def ask_post_task(ask_id: int) -> str:
    return asks.slack_ask_send(ask_id=ask_id)


@shared_task(name="slack.reply_send")
def reply_send_task(reply_id: int) -> str:
    return replies.slack_reply_send(reply_id=reply_id)


@shared_task(name="slack.sweep")
def sweep_task() -> int:
    """Beat: queue again the asks and replies whose message was lost."""
    count = 0
    for pk in outbox.due(SlackAsk):
        asks.ask_enqueue(pk, 0)
        count += 1
    for pk in outbox.due(SlackReply):
        replies.reply_enqueue(pk, 0)
        count += 1
    return count
