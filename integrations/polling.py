"""Polling CI providers, for the webhooks that never arrived.

The beat task `integrations.poll_due` calls `releases_poll` every
GONOGO_POLL_INTERVAL_SECONDS: each active release still waiting for a CI gate is asked
about through its product's integrations, and what the provider says is applied like a
webhook (same run ids, so a result seen both ways is recorded once).

Every request goes through one `PollSession`, which remembers per URL (in `PollCursor`)
the ETag, and when the provider may be asked again: rate limits, Retry-After and an
exponential backoff after errors are honoured there, not in the provider modules.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gates.models import Evaluation, Gate, ResultSource
from gonogo.validation import json_without_nul
from releases.models import ACTIVE_STATES, Release
from releases.selectors import current_results, gates_for_product

from .models import Integration, PollCursor
from .providers import POLLERS
from .services import observations_apply

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
MAX_BODY_BYTES = 10 * 1024 * 1024
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=15)
# A wrong clock or header must not silence polling for days.
HOLD_MAX = timedelta(hours=1)
# Rate limits are counted per credential, which every URL of an integration shares: a
# hold after 403 or 429 stops the whole integration, not just the URL that hit it.
CREDENTIAL_HOLDS = (403, 429)
WAITING = frozenset({"pending", "running"})


class PollSession:
    """The one HTTP client of every poller: GET, JSON, conditional requests and holds.

    `get_json` never raises for HTTP or network trouble; it logs a warning, notes it on
    the URL's cursor and returns None, so one provider in trouble never stops the others.
    """

    def __init__(
        self, *, timeout: float = TIMEOUT_SECONDS, clock: Callable[[], datetime] = timezone.now
    ) -> None:
        self.timeout = timeout
        self.clock = clock
        self._opener = urllib.request.build_opener()

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
        with `X-RateLimit-Reset`, or `Retry-After` on 403, 429 or 503) holds requests
        until then; any other error or a network failure counts one more failure and holds
        for 30 s, doubling with each failure in a row, at most 15 minutes. With
        `conditional=False` no If-None-Match is sent (for lists whose 304 would hide
        changes elsewhere)."""
        now = self.clock()
        cursor, _created = PollCursor.objects.get_or_create(integration=integration, url=url[:1000])
        held = (
            PollCursor.objects.filter(integration=integration, not_before__gt=now)
            .filter(Q(pk=cursor.pk) | Q(last_status__in=CREDENTIAL_HOLDS))
            .exists()
        )
        if held:
            return None
        if not url.startswith(("https://", "http://")):
            self._fail(cursor, now, None, "not an http(s) URL")
            return None

        request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked above
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", "gonogo-poller")
        # Unredirected: a credential must not follow a redirect to another host.
        for name, value in (headers or {}).items():
            request.add_unredirected_header(name, value)
        if conditional and cursor.etag:
            request.add_unredirected_header("If-None-Match", cursor.etag)

        cursor.checked_at = now
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                body = response.read(MAX_BODY_BYTES + 1)
                etag = response.headers.get("ETag", "")
        except urllib.error.HTTPError as error:
            status, error_headers = error.code, error.headers
            error.close()
            if status == 304:
                self._ok(cursor, status, etag=cursor.etag)
                return None
            self._refused(cursor, now, status, error_headers)
            return None
        except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
            self._fail(cursor, now, None, f"no answer: {exc}")
            return None

        if len(body) > MAX_BODY_BYTES:
            self._fail(cursor, now, status, "answer larger than 10 MiB")
            return None
        try:
            data = json_without_nul(body)  # PostgreSQL text cannot hold a NUL
        except (ValueError, RecursionError) as exc:
            self._fail(cursor, now, status, f"answer is not JSON: {exc}")
            return None
        self._ok(cursor, status, etag=etag[:255] if conditional else "")
        return data

    def _ok(self, cursor: PollCursor, status: int, *, etag: str) -> None:
        cursor.etag = etag
        cursor.last_status = status
        cursor.last_error = ""
        cursor.failures = 0
        cursor.not_before = None
        cursor.save()

    def _refused(self, cursor: PollCursor, now: datetime, status: int, headers: Any) -> None:
        hold = _retry_after(headers.get("Retry-After"), now) if status in (403, 429, 503) else None
        if status in (403, 429) and headers.get("X-RateLimit-Remaining", "").strip() == "0":
            reset = _epoch(headers.get("X-RateLimit-Reset")) or now + timedelta(minutes=1)
            hold = max(hold, reset) if hold else reset
        if hold is None:
            self._fail(cursor, now, status, f"HTTP {status}")
            return
        if status >= 500:
            cursor.failures += 1
        cursor.not_before = min(max(hold, now), now + HOLD_MAX)
        cursor.last_status = status
        cursor.last_error = f"HTTP {status}: asked to wait until {cursor.not_before:%Y-%m-%d %H:%M:%S %Z}"
        cursor.save()
        logger.warning("polling %s: %s", cursor.url, cursor.last_error)

    def _fail(self, cursor: PollCursor, now: datetime, status: int | None, error: str) -> None:
        cursor.failures += 1
        cursor.checked_at = now
        cursor.last_status = status
        cursor.last_error = error[:1000]
        cursor.not_before = now + min(BACKOFF_FIRST * 2 ** min(cursor.failures - 1, 10), BACKOFF_MAX)
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


def _reported_gates(integration: Integration) -> list[Gate]:
    """The product's CI gates this integration's patterns report to."""
    reported = {str(key) for key in integration.gate_patterns.values()}
    return [
        g
        for g in gates_for_product(integration.product)
        if g.evaluation == Evaluation.CI and g.key in reported
    ]


def release_waits(release: Release, gates: list[Gate]) -> bool:
    """Whether one of `gates` has no result yet, or only a pending or running one, for
    the release's current commit."""
    current, _since = current_results(release)
    return any(current.get(g.pk) is None or current[g.pk].status in WAITING for g in gates)


def releases_poll(*, session: PollSession | None = None) -> int:
    """Ask CI about every active release (with a commit) that still waits for a CI gate
    an active, pollable integration of its product reports, and apply the answers as
    results from polling. Returns how many releases were polled.

    Each release's answers are applied in their own transaction; if applying fails, the
    integration's ETags are forgotten so the same answer is read again next time instead
    of being hidden by a 304. A failure is logged and the next release and integration are
    still polled."""
    session = session or PollSession()
    polled = 0
    integrations = (
        Integration.objects.filter(active=True, provider__in=list(POLLERS))
        .exclude(api_url="")
        .select_related("product")
        .order_by("pk")
    )
    for integration in integrations:
        gates = _reported_gates(integration)
        if not gates:
            continue
        releases = (
            Release.objects.filter(product=integration.product, state__in=ACTIVE_STATES)
            .exclude(commit_sha="")
            .select_related("product")
            .order_by("pk")
        )
        for release in releases:
            if not release_waits(release, gates):
                continue
            try:
                # The provider is asked outside any transaction: no lock or connection is
                # held while it answers.
                observations = POLLERS[integration.provider].poll(session, integration, release)
                with transaction.atomic():
                    observations_apply(
                        integration=integration, observations=observations, source=ResultSource.POLL
                    )
            except Exception:
                logger.exception("polling %s for %s failed", integration, release)
                # What was fetched was not applied: forget the ETags, so the next poll reads
                # the answer again instead of being told "304, nothing new".
                PollCursor.objects.filter(integration=integration).update(etag="")
                continue
            polled += 1
    return polled
