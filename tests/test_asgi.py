"""The production entry point refuses bodies over 1 MiB while they stream in, before
Django's handler spools them (CONTRACT §3)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gonogo.asgi import application

MiB = 1024 * 1024


def call(
    headers: list[tuple[bytes, bytes]], chunks: list[bytes], path: str = "/api/v1/webhooks/github/any"
) -> tuple[int, dict[str, Any], int]:
    """Run one request through the ASGI app; returns status, JSON body and chunks read."""
    sent: list[dict[str, Any]] = []
    read = {"n": 0}

    async def receive() -> dict[str, Any]:
        i = read["n"]
        read["n"] += 1
        if i < len(chunks):
            return {"type": "http.request", "body": chunks[i], "more_body": i < len(chunks) - 1}
        await asyncio.sleep(3600)  # the client never sends more
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    # In a thread of its own: after the browser tests, this thread has a running loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(application(scope, receive, send), 10)).result()
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(body), read["n"]


def test_announced_length_over_the_limit_is_read_and_dropped_then_refused() -> None:
    """The 413 comes after the body is read (and dropped), so a sender that writes it all
    first reads the answer instead of a reset; Django never sees the body."""
    status, body, chunks_read = call([(b"content-length", str(2 * MiB).encode())], [b"x" * MiB, b"x" * MiB])
    assert (status, body["code"], chunks_read) == (413, "body_too_large", 2)


def test_announced_length_far_over_the_limit_is_refused_unread() -> None:
    status, body, chunks_read = call([(b"content-length", str(100 * MiB).encode())], [b"x" * MiB] * 100)
    assert (status, body["code"], chunks_read) == (413, "body_too_large", 0)


@pytest.mark.django_db(transaction=True)  # a chunked body goes to Django's ASGI handler
def test_chunked_body_is_cut_off_at_the_limit_and_the_rest_dropped() -> None:
    chunks = [b"x" * (256 * 1024)] * 40  # 10 MiB, no length announced
    status, body, chunks_read = call([(b"transfer-encoding", b"chunked")], chunks)
    assert (status, body["status"]) == (413, 413)
    assert chunks_read == 40  # read to the end (under the discard bound), then answered


def test_a_sender_writing_the_whole_body_first_reads_the_413() -> None:
    """Over a real socket, as webhook senders do it: Python's http.client writes the whole
    2 MiB body before reading. Every try gets the 413, none a reset."""
    import http.client
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        statuses = []
        for _ in range(20):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request(
                    "POST",
                    "/api/v1/webhooks/github/any",
                    body=b"{" + b" " * (2 * MiB) + b"}",
                    headers={"Content-Type": "application/json"},
                )
                statuses.append(connection.getresponse().status)
            except OSError as exc:
                statuses.append(type(exc).__name__)
            finally:
                connection.close()
        assert statuses == [413] * 20
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.django_db(transaction=True)
def test_a_small_body_is_answered_by_django() -> None:
    """Under the limit the request reaches the view (here: no such integration)."""
    status, body, _read = call([(b"content-length", b"2"), (b"x-github-event", b"ping")], [b"{}"])
    assert (status, body["status"]) == (404, 404)


def test_live_streams_go_to_the_asgi_handler_and_the_rest_to_wsgi() -> None:
    from gonogo.asgi import by_path

    seen: list[tuple[str, str]] = []

    def recorder(name: str) -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            seen.append((name, scope["path"]))

        return app

    routed = by_path(recorder("asgi"), recorder("wsgi"), ("/live/",))
    sized, chunked = [(b"content-length", b"0")], [(b"transfer-encoding", b"chunked")]
    scopes = [
        *(
            {"type": "http", "path": path, "headers": sized}
            for path in (
                "/live/dashboard/events/",
                "/releases/ios-app/2.4.0/",
                "/api/v1/results",
                "/livewell",
            )
        ),
        {"type": "http", "path": "/api/v1/results", "headers": chunked},
        {"type": "lifespan", "path": ""},
    ]

    async def run_all() -> None:
        for scope in scopes:
            await routed(scope, None, None)

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: this one may have a running loop
        pool.submit(asyncio.run, run_all()).result()
    assert seen == [
        ("asgi", "/live/dashboard/events/"),
        ("wsgi", "/releases/ios-app/2.4.0/"),
        ("wsgi", "/api/v1/results"),
        ("wsgi", "/livewell"),
        ("asgi", "/api/v1/results"),  # chunked: Django reads it whole only under ASGI
        ("asgi", ""),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_under_the_limit_is_read_whole(ci_world: Any) -> None:
    """A signed delivery is read whole and accepted through the production entry point,
    sent chunked (no length announced) or not; a tampered one is refused."""
    import hashlib
    import hmac

    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    signature = "sha256=" + hmac.new(b"It's a Secret to Everybody", body, hashlib.sha256).hexdigest()
    headers = [
        (b"transfer-encoding", b"chunked"),
        (b"x-github-event", b"ping"),
        (b"x-github-delivery", b"chunked-1"),
        (b"x-hub-signature-256", signature.encode()),
    ]
    status, answer, _read = call(headers, [body[:10], body[10:]], path="/api/v1/webhooks/github/gh")
    assert status == 200, answer
    # The same with its length announced (the usual case) goes through the WSGI handler.
    headers[0] = (b"content-length", str(len(body)).encode())
    status, answer, _read = call(headers, [body[:10], body[10:]], path="/api/v1/webhooks/github/gh")
    assert status == 200, answer
    tampered = [*headers[:3], (b"x-hub-signature-256", b"sha256=" + b"0" * 64)]
    status, answer, _read = call(tampered, [body], path="/api/v1/webhooks/github/gh")
    assert (status, answer["code"]) == (401, "signature_invalid")


def test_a_query_string_with_raw_utf8_reaches_django_percent_encoded() -> None:
    from gonogo.asgi import by_path

    seen: list[bytes] = []

    async def wsgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["query_string"])

    routed = by_path(wsgi, wsgi, ("/live/",))
    scope = {"type": "http", "path": "/reviews/", "headers": [], "query_string": "q=점검&a=1".encode()}
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, routed(scope, None, None)).result()
    assert seen == [b"q=%EC%A0%90%EA%B2%80&a=1"]
