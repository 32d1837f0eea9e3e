"""Middleware of our own."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.problems import problem


def body_limit(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Refuse a request body over the limit (1 MiB) with 413 before any view reads it."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def middleware(request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            if length <= 16 * limit:
                # Read and drop it first, so that a sender writing the whole body before
                # reading gets this answer rather than a reset (gonogo.asgi does the same).
                while request.read(64 * 1024):
                    pass
            return problem(
                413,
                "body_too_large",
                f"The request body is {length} bytes; at most {limit} bytes (1 MiB) are accepted.",
            )
        return get_response(request)

    return middleware
