"""Liveness and readiness for load balancers and orchestrators (CONTRACT §3)."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from api.auth import api_view

logger = logging.getLogger(__name__)


@api_view(("GET", "HEAD"))
def healthz(request: HttpRequest) -> HttpResponse:
    """200 while the process runs."""
    return JsonResponse({"status": "ok"})


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; details go to the log, not the world
        logger.warning("readyz: database: %s", exc)
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _broker() -> str:
    if settings.REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
        except Exception as exc:
            logger.warning("readyz: broker: %s", exc)
            return f"error: {exc.__class__.__name__}"
        return "ok"
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])  # type: ignore[arg-type]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        logger.warning("readyz: broker folder %s: %s", folder, exc)
        return f"error: {exc.__class__.__name__}"
    return "ok"


@api_view(("GET", "HEAD"))
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database and the broker answer; 503 naming the one that failed."""
    checks = {"database": _database(), "broker": _broker()}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)
