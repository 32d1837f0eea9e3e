"""When the database is unavailable: answer at once and plainly, never with a 500.

A request that meets a database outage (PostgreSQL stopped, unreachable, or the pool of
connections empty for `GONOGO_DB_POOL_TIMEOUT` seconds) gets 503 with `Retry-After`:
problem+json on the API and the webhooks (the sender should send it again), a plain
"temporarily unavailable" page everywhere else, rendered without the database (no
session, no user, no context processors).

The first requests of an outage wait for the pool's timeout (2 s by default). Then a
per-process breaker opens: for `HOLD_SECONDS` every request is refused at once, without
waiting on the pool and without holding a web thread; after that, one request at a time
probes the pool (`connection.ensure_connection()`), and its success closes the breaker.
So a burst of deliveries during an outage is refused in milliseconds instead of queueing
behind threads that each wait for a connection.

`/healthz` and `/readyz` are answered here, before the session and authentication
middleware (core.health, with its own short timeouts, independent of the pool; under
the production server gonogo.asgi answers them even earlier); static files pass by.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

from . import health
from .problems import problem

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30  # what senders are told; the breaker itself retries much sooner
HOLD_SECONDS = 2.0  # how long the breaker refuses at once before the next probe
PROBES = ("/healthz", "/readyz")
EXEMPT_PREFIXES = ("/healthz", "/readyz", "/static/")
API_PREFIXES = ("/api/",)

# PostgreSQL's SQLSTATE classes that mean "no usable connection": 08 connection exception,
# 57P01-57P03 shutdown / cannot connect now, 53300 too many connections.
_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def _driver_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:
        import psycopg
        from psycopg_pool import PoolTimeout
    except ImportError:  # SQLite-only installs
        return tuple(errors)
    return (*errors, psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


DATABASE_ERRORS = _driver_errors()


def is_database_error(exc: BaseException | None) -> bool:
    """A failure of the database itself (not of a query): answered with 503."""
    return isinstance(exc, DATABASE_ERRORS)


def is_outage(exc: BaseException) -> bool:
    """A failure that says the database cannot be reached (it trips the breaker), as
    opposed to one query's bad luck (a deadlock, a cancelled statement), which does not."""
    cause = exc.__cause__ or exc
    try:
        from psycopg_pool import PoolTimeout

        if isinstance(cause, PoolTimeout):
            return True
    except ImportError:
        pass
    if isinstance(exc, InterfaceError) or type(cause).__name__ == "InterfaceError":
        return True
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return str(sqlstate).startswith(_OUTAGE_SQLSTATES)
    # psycopg raises the plain OperationalError (no SQLSTATE) when it cannot connect or the
    # server went away; SQLite's "database is locked" is not an outage.
    return type(cause).__module__.startswith("psycopg") and type(cause).__name__ == "OperationalError"


class Admission(Enum):
    CLOSED = "closed"  # the database answers: go ahead
    PROBE = "probe"  # this request checks whether it answers again
    OPEN = "open"  # refused at once


class Breaker:
    """Per process and thread-safe: after an outage is seen, refuse for `hold` seconds,
    then admit one probe at a time until one succeeds."""

    def __init__(self, hold: float = HOLD_SECONDS) -> None:
        self.hold = hold
        self._lock = threading.Lock()
        self._open_until = 0.0  # 0: closed
        self._probing = False

    def admit(self) -> Admission:
        with self._lock:
            if not self._open_until:
                return Admission.CLOSED
            if time.monotonic() < self._open_until or self._probing:
                return Admission.OPEN
            self._probing = True
            return Admission.PROBE

    def trip(self) -> None:
        with self._lock:
            if not self._open_until:
                logger.warning("database unavailable: refusing requests for %.1f s at a time", self.hold)
            self._open_until = time.monotonic() + self.hold
            self._probing = False

    def close(self) -> None:
        with self._lock:
            if self._open_until:
                logger.warning("database available again")
            self._open_until = 0.0
            self._probing = False

    @property
    def is_open(self) -> bool:
        return bool(self._open_until)


BREAKER = Breaker()


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After, built without the database: problem+json under /api/, else
    the plain page (templates/503.html) in the visitor's language."""
    language = translation.get_language_from_request(request)
    with translation.override(language):
        if request.path.startswith(API_PREFIXES):
            response: HttpResponse = problem(
                503,
                "database_unavailable",
                _(
                    "The database is unavailable right now, so this request was not recorded. "
                    "Send it again in %(seconds)s seconds: a repeat of the same delivery or "
                    "result is recognised and recorded once."
                )
                % {"seconds": RETRY_AFTER_SECONDS},
            )
        else:
            # No request passed: no context processor runs (they read the session and user).
            html = loader.render_to_string(
                "503.html",
                {
                    "LANGUAGE_CODE": language,
                    "retry_after": RETRY_AFTER_SECONDS,
                    "sending": request.method not in ("GET", "HEAD"),
                    "path": request.get_full_path() if request.method in ("GET", "HEAD") else request.path,
                },
            )
            response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Not one "Service Unavailable" error line per refused request: the breaker logs when
    # the outage begins and ends, database_failure each failure it met.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _discard_body(request: HttpRequest) -> None:
    """Read a small refused body before answering, so that a sender writing the whole body
    first reads our 503 and not a reset connection."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if 0 < length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        try:
            request.body  # noqa: B018
        except Exception:  # a client gone away: nothing to answer anyway
            logger.debug("refused body not read", exc_info=True)


def _probe() -> bool:
    """Take a connection from the pool (or open one): True when the database answers."""
    try:
        connection.ensure_connection()
    except DATABASE_ERRORS as exc:
        logger.warning("database still unavailable: %s", exc)
        BREAKER.trip()
        return False
    except BaseException:
        BREAKER.trip()  # never leave a probe marked as running: the next one may try
        raise
    BREAKER.close()
    return True


class DatabaseOutageMiddleware:
    """Refuses at once while the breaker is open and turns a database failure in a view
    into the 503 of `unavailable`. Before the session and authentication middleware: a
    refused request never reaches them. Sync and async: the live streams pass through
    without a thread hop."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if request.path in PROBES:
            # Answered here, before the session and authentication middleware: a probe
            # never reads a session (nor the database through it).
            return health.healthz(request) if request.path == "/healthz" else health.readyz(request)
        if request.path.startswith(EXEMPT_PREFIXES):
            return self.get_response(request)
        admission = BREAKER.admit()
        if admission is Admission.OPEN or (admission is Admission.PROBE and not _probe()):
            _discard_body(request)
            return unavailable(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
        if request.path.startswith(EXEMPT_PREFIXES):
            return await get_response(request)
        admission = BREAKER.admit()
        if admission is Admission.OPEN or (
            admission is Admission.PROBE and not await sync_to_async(_probe)()
        ):
            return unavailable(request)
        return await get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_error(exception):
            return None
        return database_failure(request, exception)


def database_failure(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """The answer to a request that met a database failure (from a view, or from another
    middleware through handler500)."""
    if is_outage(exception):
        BREAKER.trip()
    logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
    return unavailable(request)


def current_database_failure() -> BaseException | None:
    """In handler500: the database failure being handled, if that is what it is."""
    exc = sys.exc_info()[1]
    return exc if is_database_error(exc) else None
