"""Server-Sent Events: one stream per open board or dashboard.

Async views: while a stream is open it waits on the bus (Redis pub/sub or the database
bus), holding no worker thread. Each message names the panels to re-fetch:

    event: panels
    data: gates,verdict,signoffs

A burst of changes (CI reporting a hundred results a second) reaches a stream as at most
one message per GONOGO_LIVE_COALESCE_SECONDS (0.25 s): the first change goes at once, the
ones that follow within the window are merged into one message sent at its end, so the
last state is always delivered and a board never gets more than it can repaint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.http import require_GET

from accounts.capabilities import Capability, can
from core.outage import DATABASE_ERRORS
from live import bus
from live.services import REVIEW_TOPIC
from releases.models import Release

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

logger = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


def _session_alive(session: SessionBase, user_pk: Any) -> bool:
    """Whether the stream's session still signs in its person: not ended (logged out,
    flushed) and not expired. One primary-key read; the connection is handed back."""
    try:
        data = session.__class__(session.session_key).load()
        return str(data.get(SESSION_KEY, "")) == str(user_pk)
    except DATABASE_ERRORS:
        # The database is down for a moment: that ends no one's session. The stream goes
        # on and asks again at the next check.
        logger.info("live stream: session not checked, the database is unavailable")
        return True
    finally:
        _release_connection()


_END = object()


async def coalesced(
    source: AsyncIterator[bus.Event | None], window: float
) -> AsyncIterator[tuple[str, ...] | None]:
    """The panels of `source`'s events, at most one tuple per `window` seconds: the first
    at once, the next ones merged (in order, without repeats) and sent when the window
    ends. `None` (the bus's heartbeat) passes through while nothing waits to be sent."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
        finally:
            await queue.put(_END)

    task = asyncio.create_task(pump())
    pending: dict[str, None] = {}
    last_sent = -window
    try:
        while True:
            if pending:
                wait = max(0.0, last_sent + window - loop.time())
                try:
                    item = await asyncio.wait_for(queue.get(), wait)
                except TimeoutError:
                    yield tuple(pending)
                    pending.clear()
                    last_sent = loop.time()
                    continue
            else:
                item = await queue.get()
            if item is _END:
                if pending:
                    await asyncio.sleep(max(0.0, last_sent + window - loop.time()))
                    yield tuple(pending)
                await task  # re-raises what ended the bus (a Redis error), once the last state went
                return
            if item is None:
                if not pending:
                    yield None
                continue
            pending.update(dict.fromkeys(item.panels))
            if loop.time() - last_sent >= window:
                yield tuple(pending)
                pending.clear()
                last_sent = loop.time()
    finally:
        task.cancel()


async def _stream(
    topics: list[str], session: SessionBase | None = None, user_pk: Any = None
) -> AsyncIterator[str]:
    """The event stream. It ends, with `event: signed-out`, once its session has ended or
    expired (checked every GONOGO_LIVE_SESSION_CHECK_SECONDS): the page then reloads
    and lands on the login form."""
    yield "retry: 2000\n\n"
    loop = asyncio.get_running_loop()
    checked = loop.time()
    alive = sync_to_async(_session_alive, thread_sensitive=False)
    events = bus.subscribe(topics, heartbeat=min(15.0, settings.GONOGO_LIVE_SESSION_CHECK_SECONDS))
    async for panels in coalesced(events, settings.GONOGO_LIVE_COALESCE_SECONDS):
        if session is not None and loop.time() - checked >= settings.GONOGO_LIVE_SESSION_CHECK_SECONDS:
            checked = loop.time()
            if not await alive(session, user_pk):
                yield "event: signed-out\ndata: login\n\n"
                return
        if panels is None:
            yield ": keep-alive\n\n"
        else:
            yield f"event: panels\ndata: {','.join(panels)}\n\n"


def _response(
    topics: list[str], session: SessionBase | None = None, user_pk: Any = None
) -> StreamingHttpResponse:
    return StreamingHttpResponse(
        _stream(topics, session, user_pk), content_type="text/event-stream", headers=HEADERS
    )


def _allowed(user: AbstractBaseUser | AnonymousUser, release_id: int | None) -> bool | None:
    """None: no such release. Runs in the request's sync thread and hands the database
    connection back afterwards: the stream that follows may stay open for hours."""
    try:
        if release_id is None:
            return can(user, Capability.VIEW)
        release = Release.objects.select_related("product").filter(pk=release_id).first()
        return None if release is None else can(user, Capability.VIEW, release.product)
    finally:
        _release_connection()


def _release_connection() -> None:
    # Outside a transaction only: a test (or a caller) holding one keeps its connection.
    if not connection.in_atomic_block:
        connection.close()


async def _open(request: HttpRequest, topic: str, release_id: int | None) -> HttpResponseBase:
    user = await request.auser()
    if not user.is_authenticated:
        await sync_to_async(_release_connection)()
        return redirect_to_login(request.get_full_path())
    allowed = await sync_to_async(_allowed)(user, release_id)
    if allowed is None:
        raise Http404
    if not allowed:
        raise PermissionDenied
    return _response([topic], request.session, user.pk)


@require_GET
async def release_events(request: HttpRequest, release_id: int) -> HttpResponseBase:
    return await _open(request, f"release:{release_id}", release_id)


@require_GET
async def dashboard_events(request: HttpRequest) -> HttpResponseBase:
    return await _open(request, "dashboard", None)


@require_GET
async def review_events(request: HttpRequest) -> HttpResponseBase:
    """The weekly review's page: action items added or changed (live.services.REVIEW_TOPIC)."""
    return await _open(request, REVIEW_TOPIC, None)
