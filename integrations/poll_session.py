"""The one HTTP client of every poller (`PollSession`): GET, JSON, pages, conditional
requests, and the holds that keep us within the providers' limits.

It remembers per URL (in `PollCursor`) the ETag, and when the provider may be asked
again: rate limits, Retry-After and an exponential backoff after errors are honoured
here, not in the provider modules. What is polled, and when, is polling.py's.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.db.models import Q
from django.utils import timezone

from core.validation import json_without_nul
from releases.models import Release

from .models import Integration, PollCursor

# The poller's log, under the name it had before the session had a module of its own.
logger = logging.getLogger("integrations.polling")

TIMEOUT_SECONDS = 10.0  # any one wait on the socket (connect, a read)
DEADLINE_SECONDS = 20.0  # the whole request, however slowly the server trickles
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_PAGES = 20  # at 100 a page: 2,000 check runs or jobs for one commit
MAX_REDIRECTS = 3
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=15)
# GitHub: "If you receive a secondary rate limit error and there's no retry-after or
# x-ratelimit-remaining header, wait at least one minute."
SECONDARY_LIMIT_WAIT = timedelta(minutes=1)
# A wrong clock or header must not silence polling for days.
HOLD_MAX = timedelta(hours=1)
REDIRECTS = frozenset({301, 302, 303, 307, 308})


_NOTED: set[tuple[int, int, str]] = set()


class DeadlineExceeded(Exception):
    pass


@dataclass
class Pages:
    """Every page of a paginated listing, as far as it could be read. `complete` only when
    the last page was reached without an error or a hold, within MAX_PAGES: a listing that
    is not complete must never lead to "passed" (a failure may sit on the page not read)."""

    items: list[Any] = field(default_factory=list)
    complete: bool = True
    first: Any = None  # the first page's body, when it was read (not a 304)


def credential_key(integration: Integration) -> str:
    """Rate limits are counted per credential and host: integrations that share a token
    (or share no token) on one host share its limit and its holds."""
    host = urlsplit(integration.api_url).netloc.lower()
    return hashlib.sha256(f"{host}\n{integration.api_token()}".encode()).hexdigest()[:32]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def link_next(headers: Message, url: str) -> str:
    """The next page, from a `Link: <…>; rel="next"` header (GitHub, GitLab) or GitLab's
    `X-Next-Page` (a page number), else ''."""
    for part in (headers.get("Link") or "").split(","):
        match = re.match(r"\s*<([^>]+)>\s*;(.*)", part)
        if match and re.search(r'rel="?next"?', match.group(2)):
            return urljoin(url, match.group(1).strip())
    page = (headers.get("X-Next-Page") or "").strip()
    if page.isdigit():
        base, _sep, query = url.partition("?")
        params = [p for p in query.split("&") if p and not p.startswith("page=")]
        return f"{base}?{'&'.join([*params, f'page={page}'])}"
    return ""


def _cut(connection: http.client.HTTPConnection) -> None:
    """The deadline: close the socket under a read that would otherwise go on."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class PollSession:
    """The one HTTP client of every poller: GET, JSON, pages, conditional requests, holds.

    `get_json` and `get_pages` never raise for HTTP or network trouble; they log a warning,
    note it on the URL's cursor and return None (or an incomplete listing), so one
    provider in trouble never stops the others. Each request has a whole-request deadline
    (DEADLINE_SECONDS), a URL is never asked twice at once (a lease on its cursor), and
    data is only ever taken from the integration's own host: a redirect to another host is
    not followed; one on the same host is followed, with the credentials, and logged.
    """

    def __init__(
        self,
        *,
        timeout: float = TIMEOUT_SECONDS,
        deadline: float = DEADLINE_SECONDS,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.clock = clock
        self.last_status: int | None = None
        self.next_refused = False

    def get_json(
        self,
        integration: Integration,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        conditional: bool = True,
    ) -> Any | None:
        """The parsed JSON body of `url`, or None when there is nothing new to read: a 304
        for the stored ETag, a hold in force (no request is made), or an error.

        After the call the URL's cursor says when it was checked and how it answered: a 200
        stores the new ETag and clears failures; a rate limit (`X-RateLimit-Remaining: 0`
        with `X-RateLimit-Reset`, or `Retry-After` on 403, 429 or 503; a 403 or 429 saying
        "rate limit" with neither waits a minute) holds every URL of the credential until
        then; a server that misses the deadline holds them too; any other error or a
        network failure counts one more failure and holds the URL for 30 s, doubling with
        each failure in a row, at most 15 minutes. With `conditional=False` no
        If-None-Match is sent (for lists whose 304 would hide changes elsewhere)."""
        answer = self._get(integration, url, headers=headers, conditional=conditional)
        return None if answer is None or answer[0] is None else answer[0]

    def get_pages(
        self,
        integration: Integration,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> Pages:
        """Every page of a listing (`Link: rel="next"` or `X-Next-Page`), each with its own
        ETag: a page answered 304 adds nothing, and its next page is the one it had last
        time. `key` names the list inside each page's object (`check_runs`, `statuses`);
        without it a page is the list. When the listing ends early (an error, a hold, more
        than MAX_PAGES) the ETags of the pages read are forgotten, so they are read again
        next time rather than hidden by a 304."""
        pages = Pages()
        seen: list[str] = []
        total: int | None = None
        all_read = True
        while url:
            if len(seen) >= MAX_PAGES or url in seen:
                pages.complete = False
                logger.warning("polling %s: more than %s pages; the rest is not read", seen[0], MAX_PAGES)
                break
            seen.append(url)
            self.next_refused = False
            answer = self._get(integration, url, headers=headers, conditional=True)
            if answer is None:
                pages.complete = False
                break
            if self.next_refused:
                pages.complete = False
            data, next_url = answer
            if data is None:  # 304: unchanged since last time
                all_read = False
            else:
                if len(seen) == 1:
                    pages.first = data
                    count = data.get("total_count") if isinstance(data, Mapping) else None
                    total = count if isinstance(count, int) else None
                listing = data.get(key) if key and isinstance(data, Mapping) else data
                if not isinstance(listing, list):
                    pages.complete = False
                    break
                pages.items.extend(listing)
            url = next_url
        if pages.complete and all_read and total is not None and len(pages.items) < total:
            pages.complete = False  # GitHub said how many; fewer came
            logger.warning("polling %s: %s of %s items listed", seen[0], len(pages.items), total)
        if not pages.complete:
            PollCursor.objects.filter(integration=integration, url__in=[u[:1000] for u in seen]).update(
                etag=""
            )
        return pages

    def note(self, integration: Integration, release: Release, message: str) -> None:
        """Log something a poller found about a release (a commit the provider does not
        know), once per worker process rather than at every poll."""
        key = (integration.pk, release.pk, message)
        if key not in _NOTED:
            if len(_NOTED) > 10_000:
                _NOTED.clear()  # a long-lived worker: forget, and say it once more
            _NOTED.add(key)
            logger.warning(
                "polling %s for %s %s: %s", integration, release.product.slug, release.version, message
            )

    # One request ------------------------------------------------------------------------

    def _get(
        self, integration: Integration, url: str, *, headers: Mapping[str, str] | None, conditional: bool
    ) -> tuple[Any | None, str] | None:
        """(JSON body or None for a 304, next page URL), or None when nothing was read."""
        now = self.clock()
        self.last_status = None
        credential = credential_key(integration)
        cursor, _created = PollCursor.objects.get_or_create(
            integration=integration, url=url[:1000], defaults={"credential": credential}
        )
        if cursor.credential != credential:
            cursor.credential = credential
            cursor.save(update_fields=["credential"])
        held = (
            PollCursor.objects.filter(not_before__gt=now)
            .filter(
                Q(pk=cursor.pk)
                | Q(integration=integration, holds_all=True)
                | Q(credential=credential, holds_all=True)
            )
            .exists()
        )
        if held:
            return None
        if not url.startswith(("https://", "http://")):
            self._fail(cursor, now, None, "not an http(s) URL")
            return None
        # A lease: the same URL is never asked twice at once (a slow run and the next one).
        leased = (
            PollCursor.objects.filter(pk=cursor.pk)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .update(leased_until=now + timedelta(seconds=2 * self.deadline + 5))
        )
        if not leased:
            logger.info("polling %s: already being asked; skipped", url)
            return None
        cursor.refresh_from_db()

        request_headers = {"Accept": "application/json", "User-Agent": "gonogo-poller", **(headers or {})}
        if conditional and cursor.etag:
            request_headers["If-None-Match"] = cursor.etag
        home = _origin(integration.api_url)
        cursor.checked_at = now
        target = url
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                status, response_headers, body = self._fetch(target, request_headers)
                if status not in REDIRECTS or not response_headers.get("Location"):
                    break
                location = urljoin(target, response_headers["Location"].strip())
                if _origin(location) != home:
                    self._fail(
                        cursor,
                        now,
                        status,
                        f"redirected to another host ({urlsplit(location).netloc}); not followed, nothing recorded",
                    )
                    return None
                if status in (301, 308):
                    logger.warning(
                        "polling %s moved permanently to %s: update integration %s",
                        target,
                        location,
                        integration,
                    )
                target = location
            else:
                self._fail(cursor, now, status, f"more than {MAX_REDIRECTS} redirects")
                return None
        except DeadlineExceeded:
            self._fail(
                cursor, now, None, f"no full answer within {self.deadline:g} s; cut off", holds_all=True
            )
            return None
        except (http.client.HTTPException, OSError, ValueError) as exc:
            self._fail(cursor, now, None, f"no answer: {exc}")
            return None

        self.last_status = status
        if status == 304:
            self._ok(cursor, status, etag=cursor.etag, next_url=cursor.next_url)
            return None, cursor.next_url
        if status >= 300:
            self._refused(cursor, now, status, response_headers, body)
            return None
        if len(body) > MAX_BODY_BYTES:
            self._fail(cursor, now, status, "answer larger than 10 MiB")
            return None
        try:
            data = json_without_nul(body)  # PostgreSQL text cannot hold a NUL
        except (ValueError, RecursionError) as exc:
            self._fail(cursor, now, status, f"answer is not JSON: {exc}")
            return None
        try:
            next_url = link_next(response_headers, target)
        except ValueError as exc:  # a malformed Link header: this page counts, no next
            logger.warning("polling %s: unreadable Link header: %s", url, exc)
            self.next_refused = True
            next_url = ""
        if next_url and _origin(next_url) != home:
            # Never follow a page link to another host either: this page counts, the
            # listing is incomplete (so no "passed" is taken from it).
            logger.warning("polling %s: next page on another host (%s); not followed", url, next_url)
            self.next_refused = True
            next_url = ""
        etag = (response_headers.get("ETag") or "")[:255] if conditional else ""
        self._ok(cursor, status, etag=etag, next_url=next_url[:1000])
        return data, next_url

    def _fetch(self, url: str, headers: Mapping[str, str]) -> tuple[int, Message, bytes]:
        """One GET with a deadline on the whole exchange: a server that sends a byte every
        few seconds is cut off at DEADLINE_SECONDS, not held for minutes."""
        parts = urlsplit(url)
        started = time.monotonic()
        timeout = min(self.timeout, self.deadline)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout)
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        watchdog = threading.Timer(self.deadline, _cut, args=(connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", path, headers=dict(headers))
            response = connection.getresponse()
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() - started > self.deadline:
                    raise DeadlineExceeded
                chunk = response.read1(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                chunks.append(chunk)
                if size > MAX_BODY_BYTES:
                    break
            if time.monotonic() - started > self.deadline:
                raise DeadlineExceeded
            return response.status, response.headers, b"".join(chunks)
        except (http.client.HTTPException, OSError) as exc:
            if time.monotonic() - started >= self.deadline - 0.05:
                raise DeadlineExceeded from exc
            raise
        finally:
            watchdog.cancel()
            connection.close()

    def _ok(self, cursor: PollCursor, status: int, *, etag: str, next_url: str) -> None:
        cursor.etag = etag
        cursor.next_url = next_url
        cursor.last_status = status
        cursor.last_error = ""
        cursor.failures = 0
        cursor.not_before = None
        cursor.holds_all = False
        cursor.leased_until = None
        cursor.save()

    def _refused(self, cursor: PollCursor, now: datetime, status: int, headers: Message, body: bytes) -> None:
        hold = _retry_after(headers.get("Retry-After"), now) if status in (403, 429, 503) else None
        remaining = (headers.get("X-RateLimit-Remaining") or "").strip()
        if status in (403, 429) and remaining == "0":
            reset = _epoch(headers.get("X-RateLimit-Reset")) or now + SECONDARY_LIMIT_WAIT
            hold = max(hold, reset) if hold else reset
        if hold is None and status in (403, 429) and (status == 429 or b"rate limit" in body[:4096].lower()):
            hold = now + SECONDARY_LIMIT_WAIT  # a secondary limit says nothing of when: a minute
        if hold is None:
            self._fail(cursor, now, status, f"HTTP {status}")
            return
        if status >= 500:
            cursor.failures += 1
        cursor.not_before = min(max(hold, now), now + HOLD_MAX)
        cursor.holds_all = status in (403, 429)
        cursor.last_status = status
        cursor.last_error = f"HTTP {status}: asked to wait until {cursor.not_before:%Y-%m-%d %H:%M:%S %Z}"
        cursor.leased_until = None
        cursor.save()
        logger.warning("polling %s: %s", cursor.url, cursor.last_error)

    def _fail(
        self, cursor: PollCursor, now: datetime, status: int | None, error: str, *, holds_all: bool = False
    ) -> None:
        cursor.failures += 1
        cursor.checked_at = now
        cursor.last_status = status
        cursor.last_error = error[:1000]
        cursor.not_before = now + min(BACKOFF_FIRST * 2 ** min(cursor.failures - 1, 10), BACKOFF_MAX)
        cursor.holds_all = holds_all
        cursor.leased_until = None
        cursor.save()
        logger.warning("polling %s failed (%s in a row): %s", cursor.url, cursor.failures, error)


def _epoch(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value).strip()), tz=UTC) if value else None
    except (ValueError, OverflowError, OSError):
        return None


def _retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After in seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
