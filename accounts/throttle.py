"""Sign-in throttling with django-axes: which client address counts, which parameters
lock, and the page a locked-out client sees (locked, why, until when)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt, AccessBase
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


def client_ip(request: HttpRequest) -> str:
    """The client's address. Behind our TLS proxy (BEHIND_TLS_PROXY) it is the last
    address in X-Forwarded-For, the one the proxy itself appended: anything before it was
    written by the client and proves nothing. Otherwise the socket's peer."""
    if settings.GONOGO_BEHIND_TLS_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if forwarded:
            return forwarded[-1]
    return str(request.META.get("REMOTE_ADDR", ""))


def lockout_parameters(request_or_attempt: Any, credentials: dict[str, Any] | None = None) -> list[str]:
    """Account and address lock independently; a sign-in without a user name (the OIDC
    callback) counts against its address only."""
    if isinstance(request_or_attempt, AccessBase):
        username = request_or_attempt.username
    else:
        username = get_client_username(request_or_attempt, credentials)
    return ["username", "ip_address"] if username else ["ip_address"]


def _failures(request: HttpRequest, **which: str) -> tuple[int, datetime | None]:
    """Failures (and the last one's time) within the cool-off, for one account or address."""
    cool_off = get_cool_off(request)
    attempts = AccessAttempt.objects.filter(**which)
    if cool_off:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    totals = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    return totals["failures"] or 0, totals["last"]


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
    """django-axes' limit for this try. Axes counts the account and the address together
    (the larger count) against one limit; the account must lock at GONOGO_LOCKOUT_FAILURES
    and the address only at GONOGO_LOCKOUT_ADDRESS_FAILURES. So: the account's limit once
    the account has reached it, else the address's (which is the higher)."""
    username = get_client_username(request, credentials)
    if username:
        failures, _last = _failures(request, username=username)
        if failures >= settings.GONOGO_LOCKOUT_FAILURES:
            return int(settings.GONOGO_LOCKOUT_FAILURES)
    return max(int(settings.GONOGO_LOCKOUT_ADDRESS_FAILURES), int(settings.GONOGO_LOCKOUT_FAILURES))


def lock_state(request: HttpRequest, credentials: dict[str, Any] | None) -> dict[str, Any]:
    """What is locked (account, address or both) and until when."""
    cool_off = get_cool_off(request)
    username = get_client_username(request, credentials)
    ip = getattr(request, "axes_ip_address", None) or client_ip(request)
    limits = {
        "account": int(settings.GONOGO_LOCKOUT_FAILURES),
        "address": max(int(settings.GONOGO_LOCKOUT_ADDRESS_FAILURES), int(settings.GONOGO_LOCKOUT_FAILURES)),
    }
    locked: dict[str, datetime | None] = {}
    for key, value in (
        ("account", {"username": username} if username else None),
        ("address", {"ip_address": ip}),
    ):
        if value is None:
            continue
        failures, last = _failures(request, **value)
        if failures >= limits[key]:
            locked[key] = last + cool_off if cool_off and last else None
    untils = [u for u in locked.values() if u is not None]
    return {
        "locked_account": "account" in locked,
        "locked_address": "address" in locked,
        "locked_until": max(untils) if untils else None,
        "failure_limit": limits["account"] if "account" in locked else limits["address"],
        "locked_username": username or "",
    }


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The login page again, saying it is locked, why and until when (429)."""
    from .views import login_page

    return login_page(request, lockout=lock_state(request, credentials), status=429)
