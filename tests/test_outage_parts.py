"""The outage handling's parts, one at a time: the circuit breaker, the 503 answers of the
API, pages and live streams while the database is down, and database failures raised in a
view, a middleware or a stream. The whole, under the production server: test_outage.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def breaker_open() -> Iterator[None]:
    from core.outage import BREAKER

    BREAKER.trip()
    yield
    BREAKER.close()


def test_the_breaker_refuses_then_lets_one_probe_through() -> None:
    from core.outage import Admission, Breaker

    breaker = Breaker(hold=0.2)
    assert breaker.admit() is Admission.CLOSED
    breaker.trip()
    assert breaker.admit() is Admission.OPEN
    time.sleep(0.25)
    assert breaker.admit() is Admission.PROBE
    assert breaker.admit() is Admission.OPEN  # one probe at a time
    breaker.trip()  # the probe failed: refuse again for a while
    assert breaker.admit() is Admission.OPEN
    time.sleep(0.25)
    assert breaker.admit() is Admission.PROBE
    breaker.close()
    assert breaker.admit() is Admission.CLOSED


def test_while_the_database_is_down_the_api_answers_503_at_once(
    client: Any, db: Any, breaker_open: None, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = client.post(
            "/api/v1/webhooks/github/any", b"{}", content_type="application/json", HTTP_X_GITHUB_EVENT="ping"
        )
        page = client.get("/", HTTP_ACCEPT_LANGUAGE="ko", HTTP_COOKIE="sessionid=abc")
        health = client.get("/healthz")
    assert (response.status_code, response["Retry-After"], response["Content-Type"]) == (
        503,
        "30",
        "application/problem+json",
    )
    assert response.json()["code"] == "database_unavailable"
    assert (page.status_code, page["Retry-After"]) == (503, "30")
    assert page["Content-Type"].startswith("text/html") and '<html lang="ko">' in page.content.decode()
    assert "Set-Cookie" not in page.headers
    assert health.status_code == 200


def test_a_live_stream_is_refused_without_a_thread_or_the_database(db: Any, breaker_open: None) -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    response = async_to_sync(AsyncClient().get)("/live/dashboard/events/")
    assert (response.status_code, response["Retry-After"]) == (503, "30")


def test_a_database_failure_in_a_view_is_a_503_not_a_500(rf: Any) -> None:
    from django.db import OperationalError

    from core.outage import BREAKER, DatabaseOutageMiddleware

    middleware = DatabaseOutageMiddleware(lambda request: None)
    try:
        cause = Exception("connection refused")
        error = OperationalError("connection failed")
        error.__cause__ = cause
        response = middleware.process_exception(rf.get("/api/v1/results"), error)
        assert response is not None and response.status_code == 503
        assert json.loads(response.content)["code"] == "database_unavailable"
        assert middleware.process_exception(rf.get("/"), ValueError("not ours")) is None
    finally:
        BREAKER.close()


def test_a_database_failure_in_a_middleware_is_a_503_too(rf: Any) -> None:
    """Raised outside the view (a session saved by its middleware), it reaches handler500."""
    from django.db import InterfaceError

    from core.handlers import server_error
    from core.outage import BREAKER

    try:
        try:
            raise InterfaceError("connection already closed")
        except InterfaceError:
            api, page = server_error(rf.get("/api/v1/results")), server_error(rf.get("/reviews/"))
        assert BREAKER.is_open
    finally:
        BREAKER.close()
    assert (api.status_code, api["Content-Type"]) == (503, "application/problem+json")
    assert (page.status_code, page["Retry-After"]) == (503, "30")
    try:
        raise ValueError("a plain bug")
    except ValueError:
        assert server_error(rf.get("/api/v1/results")).status_code == 500


def test_a_live_stream_on_the_database_bus_ends_quietly_when_the_database_goes(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Redis the streams poll a table: a database gone mid-stream ends the stream
    (the browser reconnects and is refused at once) instead of raising out of it."""
    import psycopg
    from asgiref.sync import async_to_sync
    from django.db import OperationalError

    from core.outage import BREAKER
    from live import bus

    settings.REDIS_URL = ""
    calls = {"n": 0}

    def poll(topics: list[str], cursor: int) -> tuple[list[Any], int]:
        calls["n"] += 1
        if calls["n"] == 1:
            return [], 0
        error = OperationalError("server closed the connection unexpectedly")
        error.__cause__ = psycopg.OperationalError("server closed the connection unexpectedly")
        raise error

    monkeypatch.setattr(bus, "_poll", poll)

    async def read_all() -> list[Any]:
        return [event async for event in bus.subscribe(["dashboard"], heartbeat=60)]

    try:
        # In a thread of its own: after the browser tests, this thread has a running loop.
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(async_to_sync(read_all)).result(timeout=30) == []
        assert calls["n"] == 2 and BREAKER.is_open
    finally:
        BREAKER.close()
