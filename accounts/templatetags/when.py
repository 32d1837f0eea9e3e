"""Times in templates, always with their zone: a builtin library (settings.TEMPLATES), so
no template loads it.

    {{ gate.observed_at|when }}          → 2026-12-01 16:05 KST
    {{ stage.began|when:"time" }}        → 16:05 KST   (formats: core.when.FORMATS)
    {{ result.observed_at|ago }}         → just now · 5 minutes ago · 1시간 37분 전
    {% time_zone_offer %}                → the one-line offer of the browser's zone

A pure date (`|date:"Y-m-d"`) has no zone and stays as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.conf import settings
from django.template import TemplateSyntaxError

from accounts.capabilities import Capability, can
from core.when import FORMATS, active_zone_label, ago_text, when_text

register = template.Library()


def _moment(value: object) -> datetime | None:
    """A datetime, or one written in ISO 8601 (as JSON data keeps them); None otherwise."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@register.filter
def when(value: datetime | str | None, fmt: str = "datetime") -> str:
    """A moment in the active zone with the zone's name; "" for None."""
    if fmt not in FORMATS:
        raise TemplateSyntaxError(f"|when:{fmt!r}: the formats are {', '.join(FORMATS)}")
    return when_text(_moment(value), fmt)


@register.filter
def ago(value: datetime | str | None) -> str:
    """How long ago, in words: "just now", "5 minutes ago"."""
    return ago_text(_moment(value))


@register.simple_tag
def zone_now() -> str:
    """The active zone's label, for a heading that says which zone a page's times are in."""
    return active_zone_label()


@register.inclusion_tag("accounts/_time_zone_offer.html", takes_context=True)
def time_zone_offer(context: template.Context) -> dict[str, Any]:
    """For a signed-in person who has not chosen a zone: the form static/js/time-zone.js
    shows, filled with the browser's zone, when that differs from the server's."""
    request = context.get("request")
    user = getattr(request, "user", None)
    # Only for someone who may use the preferences (a role somewhere): the save is theirs.
    show = bool(
        user is not None
        and user.is_authenticated
        and getattr(request, "time_zone_saved", None) == ""
        and can(user, Capability.VIEW)
    )
    return {
        "show": show,
        "server_zone": settings.TIME_ZONE,
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
