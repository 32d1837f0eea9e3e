"""ASGI entry point: the production and `make run` server (uvicorn / gunicorn).

The live streams (`/live/…`, async views held open) run on Django's ASGI handler; every
other request runs on Django's WSGI handler in a pool of threads (a2wsgi), which costs one
hop to a thread where the ASGI handler costs one per sync middleware and signal.

`/healthz` and `/readyz` are answered here on the event loop (`probes`), ahead of
everything else: a database outage that keeps the request threads waiting never makes a
load balancer's probe wait behind them.

The 1 MiB body limit (CONTRACT §3) is enforced here, while the body streams in: an
announced length over the limit is refused before a byte is read, and a chunked body is
cut off at the limit.
"""

import json
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote_from_bytes

from a2wsgi import WSGIMiddleware
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonogo.settings")

# The request threads spend most of their time waiting on PostgreSQL and Redis; each
# answer hands the thread back only when the interpreter's lock comes round. At Python's
# default (5 ms) a request of 15 queries could wait longer for the lock than for the
# database while other threads render; at 1 ms the waits are short (issue 16, the results
# ingest's p99: bench/ingest.py). GONOGO_SWITCH_INTERVAL_MS sets it.
sys.setswitchinterval(float(os.environ.get("GONOGO_SWITCH_INTERVAL_MS", "1")) / 1000)

django_application = get_asgi_application()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


async def _discard(receive: Receive, bound: int, already: int = 0) -> None:
    """Read and drop the rest of a refused body, up to `bound` bytes in all: a sender that
    writes the whole body before reading (Python's http.client, most webhook senders)
    then reads our 413 instead of a connection reset. Nothing is kept."""
    read = already
    while read <= bound:
        message = await receive()
        if message["type"] != "http.request":
            return
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def body_limit(app: Any, limit: int, discard: int | None = None) -> Any:
    """Wrap an ASGI app: request bodies over `limit` bytes get 413 problem+json, after the
    body is read and dropped up to `discard` bytes (16 times the limit by default); a body
    announced larger than that is refused unread."""
    discard = 16 * limit if discard is None else discard

    async def refuse(send: Send) -> None:
        body = json.dumps(
            {
                "type": "/api/v1/problems/body_too_large",
                "title": "Content Too Large",
                "status": 413,
                "detail": f"The request body is over {limit} bytes (1 MiB); send less.",
                "code": "body_too_large",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/problem+json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                if int(value) <= discard:
                    await _discard(receive, discard)
                await refuse(send)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _discard(receive, discard, seen)
                await refuse(send)

    return wrapped


def _limit() -> int:
    from django.conf import settings

    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


QUERY_SAFE = "&=+%/;:@,?!$'()*~-._"  # what stays as it is in a query string


def by_path(asgi_app: Any, wsgi_app: Any, asgi_prefixes: tuple[str, ...]) -> Any:
    """HTTP requests under `asgi_prefixes` (the live streams: async views, held open) go to
    Django's ASGI handler; every other request to Django's WSGI handler in a thread pool.
    A plain request then costs one hop to a thread instead of one per sync middleware and
    signal, and the pages, the API and the webhooks answer faster under the same server.
    A chunked body (no length announced) also goes to the ASGI handler: under WSGI, Django
    reads a body only as far as its announced length."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and not scope["path"].startswith(asgi_prefixes)
            and not any(name == b"transfer-encoding" for name, _value in scope.get("headers", ()))
        ):
            query = scope.get("query_string", b"")
            if not query.isascii():  # a2wsgi decodes it as ASCII; Django reads it percent-encoded
                scope = {**scope, "query_string": quote_from_bytes(query, safe=QUERY_SAFE).encode()}
            await wsgi_app(scope, receive, send)
        else:
            await asgi_app(scope, receive, send)

    return app


PROBE_PATHS = ("/healthz", "/readyz")


def probes(app: Any) -> Any:
    """`/healthz` and `/readyz` answered here, on the event loop (see core.health): not
    behind the request threads, which a database outage can keep waiting, and never
    through the session or the database. Anything else goes on to `app`."""
    import asyncio

    from core.health import liveness, readiness

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] not in PROBE_PATHS
            or scope["method"] not in ("GET", "HEAD")
        ):
            await app(scope, receive, send)
            return
        if scope["path"] == "/healthz":
            status, body = 200, liveness()
        else:
            status, body = await asyncio.to_thread(readiness)
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else payload})

    return wrapped


# Django's WSGI handler returns an HttpResponse, an iterable of bytes (its stubs say otherwise).
wsgi_application: Any = get_wsgi_application()
routed = by_path(
    django_application,
    WSGIMiddleware(wsgi_application, workers=int(os.environ.get("WEB_THREADS", "8"))),
    ("/live/",),
)
application = probes(body_limit(routed, _limit()))
