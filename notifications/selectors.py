"""Reads for the channel pages: who may see a channel, the channels with their last
delivery, one channel's delivery log (newest first, a page at a time) and its last test.
Query counts do not grow with the number of channels, deliveries or attempts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.secrets import secret_from_env
from releases.selectors import viewable_products

from .messages import message_for
from .models import Channel, ChannelKind, Delivery, DeliveryAttempt, DeliveryStatus
from .services import channel_may_manage

PER_PAGE = 25
# Colour is never alone: each status has a symbol and a word.
DELIVERY_STATUS = {
    DeliveryStatus.PENDING: ("◷", _("Waiting to be sent"), "info"),
    DeliveryStatus.SENT: ("✓", _("Sent"), "ok"),
    DeliveryStatus.FAILED: ("✗", _("Failed"), "bad"),
}
# Per kind, the fields that name environment variables, with what each holds.
TARGETS = {
    ChannelKind.SLACK: (("url_env", _("webhook URL")),),
    ChannelKind.WEBHOOK: (("url_env", _("webhook URL")), ("secret_env", _("signing secret"))),
    ChannelKind.EMAIL: (),
    ChannelKind.PAGERDUTY: (("routing_key_env", _("routing key")), ("url_env", _("Events API address"))),
}


def channel_may_see(user: Any, channel: Channel) -> bool:
    """Whoever may manage it, and administrators."""
    if getattr(user, "is_superuser", False) and getattr(user, "is_active", False):
        return True
    return channel_may_manage(user, channel)


@dataclass(frozen=True)
class Target:
    """An environment variable a channel names: its name, what it holds, whether this
    server has it set (never its value)."""

    name: str
    holds: Any
    is_set: bool


def channel_targets(channel: Channel) -> list[Target]:
    found = []
    for field, holds in TARGETS.get(ChannelKind(channel.kind), ()):
        name = getattr(channel, field)
        if name:
            found.append(Target(name, holds, bool(secret_from_env(name, owner=f"channel {channel.slug}"))))
    return found


def channels_listed() -> QuerySet[Channel]:
    """Every channel with its products and its newest delivery's event, status and time."""
    newest = Delivery.objects.filter(channel=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        Channel.objects.prefetch_related("products")
        .annotate(
            last_event=Subquery(newest.values("event")[:1]),
            last_status=Subquery(newest.values("status")[:1]),
            last_at=Subquery(newest.values("created_at")[:1]),
        )
        .order_by("slug")
    )


def channel_deliveries(channel: Channel, page: int | None, *, user: Any = None) -> Page[Delivery]:
    """One page of the channel's deliveries, newest first, each with its attempts
    (in order) and its words in the reader's language (`delivery.message`). Only those
    about products the reader may view (and those about no product): a channel for every
    product must not show one product's releases to another's team."""
    viewable = [p.pk for p in viewable_products(user)]
    deliveries = (
        Delivery.objects.filter(channel=channel)
        .filter(Q(product__isnull=True) | Q(product_id__in=viewable))
        .select_related("release__product", "requested_by")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number", "id")))
        .order_by("-created_at", "-id")
    )
    shown = Paginator(deliveries, PER_PAGE).get_page(page or 1)
    for delivery in shown:
        delivery.message = message_for(delivery, language=get_language())  # type: ignore[attr-defined]
    return shown


def channel_last_test(channel: Channel) -> Delivery | None:
    return (
        Delivery.objects.filter(channel=channel, event="channel.test")
        .select_related("requested_by")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number", "id")))
        .order_by("-created_at", "-id")
        .first()
    )
