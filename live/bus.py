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
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.outage import BREAKER, DATABASE_ERRORS, is_outage
from core.redisconn import redis_client

from .models import LiveEvent

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "gonogo:live:"
PING_SECONDS = 15.0  # the hub pings Redis after this long without a message
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
        logger.warning("live update for %s not sent", topic, exc_info=True)


async def subscribe(topics: list[str], *, heartbeat: float = 15.0) -> AsyncIterator[Event | None]:
    """Yield events for `topics` as they come; `None` every `heartbeat` seconds of quiet."""
    if settings.REDIS_URL:
        async for event in _subscribe_redis(topics, heartbeat):
            yield event
    else:
        async for event in _subscribe_db(topics, heartbeat):
            yield event


async def _subscribe_redis(topics: list[str], heartbeat: float) -> AsyncIterator[Event | None]:
    """Events of `topics` from this process's one Redis subscription (`_Hub`): a hundred
    open boards cost one subscription and one decoding of each message, not a hundred."""
    hub = await _Hub.for_this_loop()
    queue: asyncio.Queue[Event | BaseException] = asyncio.Queue()
    hub.add(topics, queue)
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), heartbeat)
            except TimeoutError:
                yield None
                continue
            if isinstance(item, BaseException):
                raise item  # the subscription ended (Redis went away): the stream ends
            yield item
    finally:
        hub.remove(topics, queue)


class _Hub:
    """One Redis pub/sub subscription per event loop (per web process), fanning each
    message out to the local streams of its topic. Each topic's messages are merged as a
    stream merges them (board/streams.py `coalesced`): the first at once, the rest within
    GONOGO_LIVE_COALESCE_SECONDS together at the window's end, so a burst of changes
    wakes each open stream a few times a second, not once per change."""

    _hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Hub] = weakref.WeakKeyDictionary()

    def __init__(self, url: str) -> None:
        self.url = url
        self.queues: dict[str, set[asyncio.Queue[Any]]] = {}
        self.pending: dict[str, dict[str, None]] = {}  # topic → panels waiting for its window
        self.windows: set[str] = set()  # topics whose window is open
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None

    @classmethod
    async def for_this_loop(cls) -> _Hub:
        loop = asyncio.get_running_loop()
        hub = cls._hubs.get(loop)
        if hub is None or hub.failed is not None or hub.url != settings.REDIS_URL:
            if hub is not None and hub.task is not None:
                hub.task.cancel()  # its streams end and reconnect to the new one
            hub = cls._hubs[loop] = cls(settings.REDIS_URL)
            hub.task = loop.create_task(hub.run())
        try:
            await asyncio.wait_for(hub.ready.wait(), 5)
        except TimeoutError:
            hub.failed = ConnectionError("live bus: Redis did not answer")
        if hub.failed is not None:
            raise hub.failed
        return hub

    def add(self, topics: list[str], queue: asyncio.Queue[Any]) -> None:
        for topic in topics:
            self.queues.setdefault(topic, set()).add(queue)

    def remove(self, topics: list[str], queue: asyncio.Queue[Any]) -> None:
        for topic in topics:
            queues = self.queues.get(topic)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self.queues[topic]

    async def run(self) -> None:
        import redis.asyncio as aioredis

        # Timeouts: a Redis that is away ends the streams (browsers fall back to polling
        # and reconnect) instead of holding them; a connection gone silent fails its ping.
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=3, socket_keepalive=True)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(CHANNEL_PREFIX + "*")
            self.ready.set()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=PING_SECONDS)
                if message is None:  # quiet: is the connection still there?
                    await asyncio.wait_for(pubsub.ping(), 5)
                    continue
                if message["type"] == "pmessage":
                    topic = message["channel"].decode().removeprefix(CHANNEL_PREFIX)
                    if self.queues.get(topic):
                        try:
                            panels = [str(p) for p in json.loads(message["data"])]
                        except (ValueError, TypeError):
                            logger.warning("live bus: a message on %s is not a list of panels", topic)
                            continue
                        self.arrived(topic, panels)
        except BaseException as exc:  # Redis went away (or the loop closes): end every stream
            self.failed = exc if isinstance(exc, Exception) else ConnectionError("live bus closed")
            self.ready.set()
            for queues in self.queues.values():
                for queue in queues:
                    queue.put_nowait(self.failed)
            if not isinstance(exc, Exception):
                raise
        finally:
            await pubsub.aclose()  # type: ignore[attr-defined]
            await client.aclose()  # type: ignore[attr-defined]

    def arrived(self, topic: str, panels: list[str]) -> None:
        if topic in self.windows:
            self.pending.setdefault(topic, {}).update(dict.fromkeys(panels))
            return
        self.send(topic, tuple(panels))

    def send(self, topic: str, panels: tuple[str, ...]) -> None:
        event = Event(topic, panels)
        for queue in self.queues.get(topic, ()):
            queue.put_nowait(event)
        window = settings.GONOGO_LIVE_COALESCE_SECONDS
        if window > 0:
            self.windows.add(topic)
            asyncio.get_running_loop().call_later(window, self.window_end, topic)

    def window_end(self, topic: str) -> None:
        self.windows.discard(topic)
        waiting = self.pending.pop(topic, None)
        if waiting:
            self.send(topic, tuple(waiting))


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
