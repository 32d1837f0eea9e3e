"""Latency from a recorded gate result to each of 50 open SSE streams.

Opens 50 streams on the board's event URL, records 20 results through the real service
(in this process, against the same database), and times each event's arrival at each
stream from just before the service call. Prints p50 and p95 in milliseconds.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from urllib.parse import urlparse

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonogo.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from asgiref.sync import sync_to_async  # noqa: E402

from gates.models import Gate  # noqa: E402
from gates.services import gate_result_record  # noqa: E402
from releases.models import Release  # noqa: E402

SUBSCRIBERS = 50
CHANGES = 20


async def subscriber(
    host: str, port: int, path: str, cookie: str, ready: asyncio.Event, arrivals: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: sessionid={cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            return
        if line.startswith(b"retry:"):
            ready.set()
        if line.startswith(b"event: panels"):
            arrivals.append(time.perf_counter())


async def main(base: str, cookie: str) -> None:
    url = urlparse(base)
    release = await Release.objects.aget(product__slug="ios-app", version="2.4.0")
    gate = await Gate.objects.aget(key="e2e-regression")
    path = f"/live/releases/{release.pk}/events/"
    arrivals: list[list[float]] = [[] for _ in range(SUBSCRIBERS)]
    readies = [asyncio.Event() for _ in range(SUBSCRIBERS)]
    tasks = [
        asyncio.create_task(
            subscriber(url.hostname or "127.0.0.1", url.port or 80, path, cookie, readies[i], arrivals[i])
        )
        for i in range(SUBSCRIBERS)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    await asyncio.sleep(1.0)  # every stream subscribed on the bus
    record = sync_to_async(gate_result_record, thread_sensitive=False)
    latencies: list[float] = []
    for n in range(CHANGES):
        for a in arrivals:
            a.clear()
        start = time.perf_counter()
        await record(
            release=release, gate=gate, status="passed" if n % 2 else "failed", run_id=f"bench-{time.time()}"
        )
        deadline = time.perf_counter() + 5
        while any(not a for a in arrivals) and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)
        missing = sum(1 for a in arrivals if not a)
        if missing:
            print(f"change {n}: {missing} stream(s) got nothing within 5 s")
        latencies += [(a[0] - start) * 1000 for a in arrivals if a]
        await asyncio.sleep(0.2)
    for t in tasks:
        t.cancel()
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"subscribers: {SUBSCRIBERS}, changes: {CHANGES}, events timed: {len(latencies)}")
    print(f"p50: {p50:.1f} ms   p95: {p95:.1f} ms   max: {latencies[-1]:.1f} ms   (target p95 ≤ 250 ms)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
