"""The alert channel pages: the channels, one channel with its delivery log, Send test.

DevOps and PM/PO (of the channel's products) see them, and administrators; the test is
sent by DevOps or a PM/PO only (an administrator acts only through roles held).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.capabilities import Capability, can
from accounts.permissions import viewer_required
from core.errors import DomainError
from core.htmx import render_panel
from core.http import HtmxHttpRequest, int_or_none

from .models import Channel, DeliveryStatus
from .selectors import (
    channel_deliveries,
    channel_last_test,
    channel_may_see,
    channel_targets,
    channels_listed,
)
from .services import channel_may_manage, channel_test_request

PANELS = {"deliveries"}


def _channel(request: HtmxHttpRequest, slug: str) -> Channel:
    channel = get_object_or_404(Channel.objects.prefetch_related("products"), slug=slug)
    if not channel_may_see(request.user, channel):
        raise PermissionDenied("Only DevOps or a PM/PO of the channel's products may see it.")
    return channel


@require_GET
@viewer_required
def channel_list(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    if not (can(user, Capability.MANAGE_ALERTS) or (user.is_superuser and user.is_active)):
        raise PermissionDenied("Only DevOps or a PM/PO may see the alert channels.")
    channels = [c for c in channels_listed() if channel_may_see(user, c)]
    rows = [{"channel": c, "targets": channel_targets(c)} for c in channels]
    return render(request, "notifications/channels.html", {"rows": rows})


def _context(request: HtmxHttpRequest, channel: Channel, **extra: Any) -> dict[str, Any]:
    page = channel_deliveries(channel, int_or_none(request.GET.get("page")), user=request.user)
    test = channel_last_test(channel)
    pending = any(d.status == DeliveryStatus.PENDING for d in page) or (
        test is not None and test.status == DeliveryStatus.PENDING
    )
    return {
        "channel": channel,
        "targets": channel_targets(channel),
        "products": list(channel.products.all()),
        "page": page,
        "test": test,
        "polling": pending,
        "may_test": channel_may_manage(request.user, channel),
        "channel_url": reverse("notifications:channel", kwargs={"slug": channel.slug}),
        **extra,
    }


@require_GET
@viewer_required
def channel_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    channel = _channel(request, slug)
    return render_panel(request, "notifications/channel.html", PANELS, _context(request, channel))


@require_POST
@viewer_required
def channel_test(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Send test (DevOps, PM/PO): queue a `channel.test` delivery for this channel only."""
    channel = _channel(request, slug)
    if not channel_may_manage(request.user, channel):
        raise PermissionDenied("Only DevOps or a PM/PO of the channel's products may send a test.")
    try:
        channel_test_request(channel=channel, actor=request.user)
    except DomainError as error:
        if not request.htmx:
            messages.error(request, error.message)
        context = _context(request, channel, error=error)
        return render_panel(request, "notifications/channel.html", PANELS, context, status=error.status)
    done = _("Test queued: this page shows the channel's answer as soon as it comes.")
    if request.htmx:
        return render_panel(
            request, "notifications/channel.html", PANELS, _context(request, channel, notice=done)
        )
    messages.success(request, done)
    return redirect(reverse("notifications:channel", kwargs={"slug": channel.slug}))
