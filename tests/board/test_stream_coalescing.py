"""A burst of changes reaches an open board as at most one message per window, and the
last state is always delivered (board/streams.py `coalesced`; issue 16 item 2)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from board.streams import coalesced
from live.bus import Event


async def burst(n: int, every: float, panels: list[tuple[str, ...]]) -> AsyncIterator[Event | None]:
    for i in range(n):
        yield Event("release:1", panels[i % len(panels)])
        await asyncio.sleep(every)


def collect(source: AsyncIterator[Event | None], window: float) -> list[tuple[float, tuple[str, ...] | None]]:
    async def run() -> list[tuple[float, tuple[str, ...] | None]]:
        start = time.monotonic()
        return [(time.monotonic() - start, item) async for item in coalesced(source, window)]

    # In a thread of its own: the browser tests' Playwright keeps an event loop running in
    # the main thread for the whole session.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_a_single_change_goes_at_once() -> None:
    ((at, panels),) = collect(burst(1, 0, [("gates", "verdict")]), 0.25)
    assert panels == ("gates", "verdict") and at < 0.05


def test_a_burst_of_a_hundred_is_a_few_messages_with_every_panel() -> None:
    panels = [("gates", "verdict"), ("checklist", "verdict"), ("operations",)]
    got = collect(burst(100, 0.01, panels), 0.25)  # 100 changes/s for a second
    messages = [p for _at, p in got if p is not None]
    assert 3 <= len(messages) <= 6, messages  # ≤ 4 a second, plus the one at the end
    assert set().union(*messages) == {"gates", "verdict", "checklist", "operations"}
    times = [at for at, p in got if p is not None]
    assert all(b - a >= 0.24 for a, b in itertools.pairwise(times))
    # The last change (the 100th: panels[99 % 3] = ("gates", "verdict")) is in the last message.
    assert {"gates", "verdict"} <= set(messages[-1])


def test_heartbeats_pass_while_nothing_waits() -> None:
    async def quiet() -> AsyncIterator[Event | None]:
        yield None
        yield Event("dashboard", ("releases",))
        yield None

    assert [p for _at, p in collect(quiet(), 0.25)] == [None, ("releases",), None]


def test_a_failing_bus_is_not_swallowed() -> None:
    async def broken() -> AsyncIterator[Event | None]:
        yield Event("release:1", ("gates",))
        raise ConnectionError("redis went away")

    async def run() -> list[tuple[str, ...] | None]:
        return [item async for item in coalesced(broken(), 0.05)]

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(asyncio.run, run())
        try:
            future.result()
        except ConnectionError as exc:
            assert "redis went away" in str(exc)
        else:
            raise AssertionError("the bus's error was swallowed")
