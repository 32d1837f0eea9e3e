"""The live bus's one Redis subscription per web process (live/bus.py `_Hub`, issue 16):
many open streams cost one subscription; a burst on one release reaches each of its
streams a few times a second, ending on the last change; other releases hear nothing."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import async_to_sync

from live import bus


def _run(coro: Any) -> Any:
    # In a thread of its own: the browser tests may leave this thread a running loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(async_to_sync(coro)).result(timeout=60)


def test_a_burst_reaches_every_stream_coalesced_over_one_subscription(settings: Any, redis_url: str) -> None:
    settings.REDIS_URL = redis_url
    settings.GONOGO_LIVE_COALESCE_SECONDS = 0.25
    topic, other = f"release:hub-{time.time_ns()}", f"release:hub-other-{time.time_ns()}"

    async def scenario() -> tuple[list[list[Any]], list[Any], int, float]:
        received: list[list[Any]] = [[] for _ in range(20)]
        elsewhere: list[Any] = []

        async def read(into: list[Any], topics: list[str]) -> None:
            async for event in bus.subscribe(topics, heartbeat=60):
                into.append((time.monotonic(), event))

        tasks = [asyncio.create_task(read(r, [topic])) for r in received]
        tasks.append(asyncio.create_task(read(elsewhere, [other])))
        await asyncio.sleep(0.3)  # subscribed
        # Every stream of this loop hangs on its one hub (one Redis subscription).
        hub = bus._Hub._hubs[asyncio.get_running_loop()]
        listeners = len(hub.queues[topic]) + len(hub.queues[other])
        started = time.monotonic()
        for i in range(100):  # 100 changes in 1 s
            await asyncio.to_thread(bus.publish, topic, [f"p{i % 3}", "gates"])
            await asyncio.sleep(0.01)
        await asyncio.to_thread(bus.publish, topic, ["last"])
        await asyncio.sleep(0.6)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return received, elsewhere, listeners, started

    received, elsewhere, listeners, started = _run(scenario)
    assert listeners == 21, listeners
    assert elsewhere == []
    for events in received:
        assert 3 <= len(events) <= 8, len(events)  # ~1.1 s in windows of 0.25 s, not 101
        assert "last" in events[-1][1].panels  # the last change is always delivered
        seconds = [int(at - started) for at, _event in events]
        assert max(seconds.count(s) for s in set(seconds)) <= 5
        assert {p for _at, e in events for p in e.panels} == {"p0", "p1", "p2", "gates", "last"}


def test_streams_end_when_the_subscription_fails(settings: Any, redis_url: str, monkeypatch: Any) -> None:
    settings.REDIS_URL = redis_url

    async def scenario() -> BaseException | None:
        hub = await bus._Hub.for_this_loop()
        stream = bus.subscribe(["release:gone"], heartbeat=60)
        reading = asyncio.create_task(stream.__anext__())
        await asyncio.sleep(0.1)
        assert hub.task is not None
        hub.task.cancel()  # as if the loop closed under it; a Redis error ends it the same way
        try:
            await asyncio.wait_for(reading, 5)
        except BaseException as exc:
            return exc
        return None

    ended = _run(scenario)
    assert isinstance(ended, ConnectionError), ended


def test_a_stream_ends_at_once_when_redis_is_away(settings: Any) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"

    async def scenario() -> tuple[BaseException | None, float]:
        started = time.monotonic()
        try:
            async for _event in bus.subscribe(["release:away"], heartbeat=60):
                break
        except BaseException as exc:
            return exc, time.monotonic() - started
        return None, time.monotonic() - started

    ended, seconds = _run(scenario)
    assert isinstance(ended, Exception) and seconds < 6, (ended, seconds)
