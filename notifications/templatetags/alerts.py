"""Template helpers for the alert pages: who sees the channels link, a delivery's status."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from accounts.capabilities import Capability, can

from ..models import DeliveryStatus
from ..selectors import DELIVERY_STATUS

register = template.Library()


@register.filter
def sees_alerts(user: Any) -> bool:
    """Whether the navigation shows "Alert channels": DevOps, PM/PO, administrators."""
    if getattr(user, "is_superuser", False) and getattr(user, "is_active", False):
        return True
    return bool(can(user, Capability.MANAGE_ALERTS))


@register.simple_tag
def delivery_chip(status: str | None) -> str:
    """A delivery's status as a chip: symbol, word and colour together."""
    shown = DELIVERY_STATUS.get(DeliveryStatus(status)) if status in DeliveryStatus.values else None
    if shown is None:
        return format_html('<span class="chip chip-muted"><span aria-hidden="true">—</span> {}</span>', "—")
    symbol, label, tone = shown
    return format_html(
        '<span class="chip chip-{}"><span aria-hidden="true">{}</span> {}</span>', tone, symbol, label
    )
