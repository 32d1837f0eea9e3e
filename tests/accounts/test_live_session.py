"""A live stream ends with its session: logged out elsewhere or expired, the stream says
`signed-out` and closes, and the page (static/js/live.js) reloads onto the login form."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from gonogo.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def stream(cookie: str, seconds: float) -> tuple[int, str, float]:
    """GET /live/dashboard/events/ through the ASGI app; returns the status, the body and how
    long the stream stayed open (it is cut off after `seconds`)."""
    sent: list[dict[str, Any]] = []
    calls = {"n": 0}

    async def receive() -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path = "/live/dashboard/events/"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def run() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(application(scope, receive, send), seconds)

    began = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:]).decode()
    return status, body, time.monotonic() - began


@pytest.fixture
def signed_in(make_user: Any, settings: Any) -> tuple[Client, str]:
    settings.GONOGO_LIVE_SESSION_CHECK_SECONDS = 0.2
    client = Client()
    client.force_login(make_user("qa"))
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


def test_a_stream_whose_session_is_logged_out_ends(signed_in: tuple[Client, str]) -> None:
    client, cookie = signed_in
    threading.Timer(1.0, client.logout).start()  # e.g. "Log out" in another tab
    status, body, lasted = stream(cookie, seconds=10)
    assert status == 200
    assert body.rstrip().endswith("event: signed-out\ndata: login")
    assert lasted < 5


def test_a_stream_whose_session_expires_ends(signed_in: tuple[Client, str]) -> None:
    _client, cookie = signed_in
    with time_machine.travel(timezone.now() + timedelta(hours=8, minutes=1), tick=True):
        status, body, lasted = stream(cookie, seconds=10)
    # Expired before it opened: the stream is refused at once (to the login form).
    assert status == 302

    threading.Timer(1.0, lambda: Session.objects.filter(pk=cookie).update(expire_date=timezone.now())).start()
    status, body, lasted = stream(cookie, seconds=10)
    assert status == 200 and "event: signed-out" in body and lasted < 5


def test_a_stream_with_a_live_session_stays_open(signed_in: tuple[Client, str]) -> None:
    _client, cookie = signed_in
    status, body, lasted = stream(cookie, seconds=1.5)
    assert status == 200 and "signed-out" not in body and lasted >= 1.5
    assert ": keep-alive" in body  # checked, and still signed in


def test_a_database_outage_ends_no_live_stream() -> None:
    """The stream's periodic session check meets a database that is down: the stream goes
    on (the session did not end) instead of failing mid-response."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import OperationalError

    from board.streams import _session_alive

    class Unreachable(SessionStore):
        def load(self) -> dict:
            raise OperationalError("connection refused")

    assert _session_alive(Unreachable("some-key"), 1) is True
