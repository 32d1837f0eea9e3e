"""Fan-out of "something changed" to every open board and dashboard.

`publish` is called (after commit) by `live.services.live_notify`; `subscribe` is awaited
by the SSE views, so an open stream holds no worker thread. Two transports:

- Redis pub/sub when REDIS_URL is set (production, CI);
- a small database table polled asynchronously otherwise (`make run` with nothing set),
  so several web processes and the Celery worker still reach every browser.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.outage import BREAKER, DATABASE_ERRORS, is_outage
from core.redisconn import redis_client

from .models import LiveEvent

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "gonogo:live:"
DB_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Event:
    topic: str
    panels: tuple[str, ...]


def publish(topic: str, panels: list[str]) -> None:
    """Send one event. Never raises: a lost live update only delays a board until its next
    refresh, it must not fail the change that caused it."""
    try:
        if settings.REDIS_URL:
            redis_client().publish(CHANNEL_PREFIX + topic, json.dumps(panels))
        else:
            LiveEvent.objects.create(topic=topic, panels=panels)
    except Exception:
        import logging

        logging.getLogger(__name__).warning("live update for %s not sent", topic, exc_info=True)


async def subscribe(topics: list[str], *, heartbeat: float = 15.0) -> AsyncIterator[Event | None]:
    """Yield events for `topics` as they come; `None` every `heartbeat` seconds of quiet."""
    if settings.REDIS_URL:
        async for event in _subscribe_redis(topics, heartbeat):
            yield event
    else:
        async for event in _subscribe_db(topics, heartbeat):
            yield event


async def _subscribe_redis(topics: list[str], heartbeat: float) -> AsyncIterator[Event | None]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(*[CHANNEL_PREFIX + t for t in topics])
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                channel = message["channel"].decode()
                panels = tuple(json.loads(message["data"]))
                last = loop.time()
                yield Event(channel.removeprefix(CHANNEL_PREFIX), panels)
            elif loop.time() - last >= heartbeat:
                last = loop.time()
                yield None
    finally:
        await pubsub.aclose()  # type: ignore[attr-defined]
        await client.aclose()  # type: ignore[attr-defined]


def _poll(topics: list[str], cursor: int) -> tuple[list[tuple[int, str, list[str]]], int]:
    """New events after `cursor` (and the newest id), then hand the connection back: a
    stream may stay open for hours and must not hold a database connection meanwhile."""
    try:
        rows = list(
            LiveEvent.objects.filter(id__gt=cursor, topic__in=topics)
            .order_by("id")
            .values_list("id", "topic", "panels")
        )
        newest = LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        return rows, newest
    finally:
        connection.close()


async def _subscribe_db(topics: list[str], heartbeat: float) -> AsyncIterator[Event | None]:
    poll = sync_to_async(_poll, thread_sensitive=False)
    _rows, cursor = await poll(topics, 2**62)  # start after the newest event
    loop = asyncio.get_running_loop()
    last = loop.time()
    while True:
        try:
            rows, _newest = await poll(topics, cursor)
        except DATABASE_ERRORS as exc:
            # The database went away under an open stream: end it quietly. The browser
            # reconnects and is refused at once (503) until the database is back.
            if is_outage(exc):
                BREAKER.trip()
            logger.warning("live stream ended: database unavailable: %s", exc)
            return
        for pk, topic, panels in rows:
            cursor = max(cursor, pk)  # only past what was read: nothing committed meanwhile is skipped
            last = loop.time()
            yield Event(topic, tuple(panels))
        if loop.time() - last >= heartbeat:
            last = loop.time()
            yield None
        await asyncio.sleep(DB_POLL_SECONDS)


def prune(*, older_than: timedelta = timedelta(hours=1)) -> int:
    deleted, _ = LiveEvent.objects.filter(at__lt=timezone.now() - older_than).delete()
    return deleted
