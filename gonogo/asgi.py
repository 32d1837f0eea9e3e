"""ASGI entry point: the production and `make run` server (uvicorn / gunicorn).

Django's ASGI handler reads a whole request body before any middleware runs, so the 1 MiB
limit (CONTRACT §3) is enforced here, while the body streams in: an announced length over
the limit is refused before a byte is read, and a chunked body is cut off at the limit.
"""

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonogo.settings")

django_application = get_asgi_application()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


def body_limit(app: Any, limit: int) -> Any:
    """Wrap an ASGI app: request bodies over `limit` bytes get 413 problem+json."""

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
                await refuse(send)

    return wrapped


def _limit() -> int:
    from django.conf import settings

    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


application = body_limit(django_application, _limit())
