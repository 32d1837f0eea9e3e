"""The production entry point refuses bodies over 1 MiB while they stream in, before
Django's handler spools them (CONTRACT §3)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gonogo.asgi import application

MiB = 1024 * 1024


def call(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, dict[str, Any], int]:
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
        "path": "/api/v1/webhooks/github/any",
        "raw_path": b"/api/v1/webhooks/github/any",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    # In a thread of its own: after the browser tests, this thread has a running loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(application(scope, receive, send), 10)).result()
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(body), read["n"]


def test_announced_length_over_the_limit_is_refused_unread() -> None:
    status, body, chunks_read = call([(b"content-length", str(2 * MiB).encode())], [b"x" * MiB, b"x" * MiB])
    assert (status, body["code"], chunks_read) == (413, "body_too_large", 0)


def test_chunked_body_is_cut_off_at_the_limit() -> None:
    chunks = [b"x" * (256 * 1024)] * 40  # 10 MiB, no length announced
    status, body, chunks_read = call([(b"transfer-encoding", b"chunked")], chunks)
    assert (status, body["status"]) == (413, 413)
    assert chunks_read <= 5  # stopped just past 1 MiB, not after 10 MiB
