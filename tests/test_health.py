"""/healthz and /readyz (CONTRACT §3)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from django.test import Client


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_healthz(client: Client) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


def test_readyz_when_everything_answers(client: Client, db: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_readyz_names_the_broker_when_it_is_down(client: Client, db: Any, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("error:")


def test_healthz_touches_neither_the_database_nor_the_session(
    client: Client, db: Any, django_assert_num_queries: Any
) -> None:
    client.cookies["sessionid"] = "a-session-the-database-would-have-to-look-up"
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_readyz_names_the_database_within_a_second_when_it_refuses(
    client: Client, postgres: Any, monkeypatch: Any
) -> None:
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "PORT", closed_port())
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503
    assert response.json()["database"].startswith("error:") and response.json()["broker"] == "ok"


def test_readyz_gives_up_on_a_database_that_never_answers(
    client: Client, postgres: Any, monkeypatch: Any
) -> None:
    """A server that takes the connection and then says nothing (a hung host): libpq
    would wait 2 s at least; readiness answers within its own deadline."""
    from django.db import connection

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setitem(connection.settings_dict, "PORT", silent.getsockname()[1])
        started = time.monotonic()
        response = client.get("/readyz")
        assert time.monotonic() - started < 1.0
    assert (response.status_code, response.json()["database"]) == (503, "error: timeout")


def test_probes_are_answered_before_the_app_under_the_production_server() -> None:
    """gonogo.asgi answers /healthz on the event loop: an app whose threads are all stuck
    (here: one that never answers) does not delay it."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from gonogo.asgi import probes

    async def stuck(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(3600)

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        scope = {"type": "http", "path": "/healthz", "method": "GET", "headers": []}
        await asyncio.wait_for(probes(stuck)(scope, None, send), 1)

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: this one may have a running loop
        pool.submit(asyncio.run, run()).result()
    assert sent[0]["status"] == 200 and json.loads(sent[1]["body"]) == {"status": "ok"}
