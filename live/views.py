"""Server-Sent Events: one stream per open board or dashboard.

Async views: while a stream is open it waits on the bus (Redis pub/sub or the database
bus), holding no worker thread. Each message names the panels to re-fetch:

    event: panels
    data: gates,verdict,signoffs
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.http import require_GET

from accounts.permissions import can_view
from releases.models import Release

from . import bus

HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


async def _stream(topics: list[str]) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    async for event in bus.subscribe(topics):
        if event is None:
            yield ": keep-alive\n\n"
        else:
            yield f"event: panels\ndata: {','.join(event.panels)}\n\n"


def _response(topics: list[str]) -> StreamingHttpResponse:
    return StreamingHttpResponse(_stream(topics), content_type="text/event-stream", headers=HEADERS)


@require_GET
async def release_events(request: HttpRequest, release_id: int) -> HttpResponseBase:
    user = await request.auser()
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    release = await Release.objects.select_related("product").filter(pk=release_id).afirst()
    if release is None:
        raise Http404
    if not await sync_to_async(can_view)(user, release.product):
        raise PermissionDenied
    return _response([f"release:{release_id}"])


@require_GET
async def dashboard_events(request: HttpRequest) -> HttpResponseBase:
    user = await request.auser()
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not await sync_to_async(can_view)(user):
        raise PermissionDenied
    return _response(["dashboard"])
