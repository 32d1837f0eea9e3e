"""Liveness and readiness for load balancers and orchestrators (CONTRACT §3).

`/healthz` says the process runs: it never touches the database, the session or the
broker. `/readyz` asks the database and the broker, each on a connection of its own with
short timeouts, independent of the request pool: it answers within a second, 503 naming
the one that did not answer. Under the production server (gonogo.asgi) both are answered
on the event loop, before Django's middleware and the pool of request threads, so a
database outage that keeps those threads waiting never makes a probe wait behind them.
The views below serve the same answers elsewhere (the test client, `runserver`).
"""

from __future__ import annotations

import logging
import sqlite3  # drivers imported now, not in the first probe's thread: an import can outlast the deadline
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import closing
from pathlib import Path
from time import monotonic
from typing import Any

import psycopg
import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from .problems import problem_view

logger = logging.getLogger(__name__)

# The whole readiness answer is given within this long; a check still running then is
# reported as a timeout (libpq waits at least 2 s to connect, so the deadline is ours).
READY_DEADLINE_SECONDS = 0.8
# Checks run here, never in the request threads; a check stuck past the deadline ends on
# its own timeout (a few seconds) and meanwhile only this small pool waits for it.
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


def liveness() -> dict[str, str]:
    return {"status": "ok"}


@problem_view(("GET", "HEAD"))
def healthz(request: HttpRequest) -> HttpResponse:
    """200 while the process runs."""
    return JsonResponse(liveness())


def _database() -> str:
    try:
        if connection.vendor == "postgresql":
            params = connection.get_connection_params()
            params["connect_timeout"] = 2  # libpq's minimum; the deadline above is shorter
            with psycopg.connect(**params, autocommit=True) as conn:
                conn.execute("SELECT 1").fetchone()
        elif connection.vendor == "sqlite":
            name = str(connection.settings_dict["NAME"])
            with closing(sqlite3.connect(name, timeout=0.5, uri=name.startswith("file:"))) as conn:
                conn.execute("SELECT 1").fetchone()
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; details go to the log, not the world
        logger.warning("readyz: database: %s", exc)
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _broker() -> str:
    if settings.REDIS_URL:
        try:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
            try:
                client.ping()
            finally:
                client.close()
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


def readiness() -> tuple[int, dict[str, Any]]:
    """(200 or 503, the body): both checks at once, each given what is left of the
    deadline."""
    deadline = monotonic() + READY_DEADLINE_SECONDS
    running = {"database": _checks.submit(_database), "broker": _checks.submit(_broker)}
    checks: dict[str, str] = {}
    for name, future in running.items():
        try:
            checks[name] = future.result(timeout=max(0.0, deadline - monotonic()))
        except FutureTimeout:
            logger.warning("readyz: %s did not answer within %.1f s", name, READY_DEADLINE_SECONDS)
            checks[name] = "error: timeout"
    ready = all(value == "ok" for value in checks.values())
    return (200 if ready else 503), {"status": "ok" if ready else "unavailable", **checks}


@problem_view(("GET", "HEAD"))
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database and the broker answer; 503 naming the one that failed."""
    status, body = readiness()
    return JsonResponse(body, status=status)
