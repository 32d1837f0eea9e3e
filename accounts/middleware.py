"""Per request: the sliding idle expiry of sessions (GONOGO_SESSION_IDLE_MINUTES), and
each person's time zone (`time_zone_activate`).

A session's expiry moves forward when its person does something: opens a page (a plain
GET) or acts (any POST). Live updates (the SSE streams) and htmx panel refreshes are not
activity: a board left open on a wall screen must not keep a session alive for ever. The
session is written at most once a minute, not on every request.
"""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from .preferences import saved_time_zone

REFRESH_KEY = "_gonogo_seen"
REFRESH_EVERY_SECONDS = 60


def _is_activity(request: HttpRequest) -> bool:
    if request.path.startswith("/live/"):
        return False
    return not (request.method in ("GET", "HEAD") and request.headers.get("HX-Request"))


def session_idle_refresh(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is None or user is None or not _is_activity(request):
            return response
        if not session.accessed:
            return response  # a view that never asked who is signed in (/healthz): no query here either
        if not user.is_authenticated:
            return response
        now = int(time.time())
        if now - int(session.get(REFRESH_KEY, 0)) >= REFRESH_EVERY_SECONDS:
            session[REFRESH_KEY] = now  # modified: SessionMiddleware saves it with a fresh expiry
        return response

    return middleware


def time_zone_activate(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Times in the signed-in person's zone (accounts.preferences), the server's TIME_ZONE
    for everyone else: for pages, htmx panels (the live board's refreshes are those) and
    the messages views build. `request.time_zone_saved` is the saved zone, "" if none
    (the pages then offer the browser's)."""

    def middleware(request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        zone = saved_time_zone(user) if user is not None else ""
        request.time_zone_saved = zone  # type: ignore[attr-defined]
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone)) if zone else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()  # a zone the zone database has since dropped: the server's
        try:
            return get_response(request)
        finally:
            timezone.deactivate()

    return middleware
