"""Waiver actions on the board: ask (QA or a lead), approve or reject (another PM/PO),
revoke (a PM/PO). Each re-renders the board's waiver and gate panels."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.capabilities import Capability, ensure_can
from accounts.permissions import viewer_required
from core.errors import DomainError, RuleViolation
from core.http import HtmxHttpRequest
from gates.models import Waiver
from gates.selectors import gates_for_product
from gates.services import (
    waiver_approve,
    waiver_carry_over,
    waiver_reject,
    waiver_request,
    waiver_revoke,
)
from releases.selectors import release_get

from .views import after_action, refused


def _expiry(raw: str) -> datetime:
    try:
        hours = float(raw or settings.GONOGO_WAIVER_DEFAULT_HOURS)
    except ValueError:
        hours = float("nan")
    if not math.isfinite(hours) or hours <= 0 or hours > 24 * settings.GONOGO_WAIVER_MAX_DAYS:
        raise RuleViolation(
            "expiry_invalid",
            _("Give the expiry as a number of hours, from 1 to %(max)s.")
            % {"max": 24 * settings.GONOGO_WAIVER_MAX_DAYS},
            field="expires_in_hours",
        )
    return timezone.now() + timedelta(hours=hours)


@require_POST
@viewer_required
def waiver_create(request: HtmxHttpRequest, product: str, version: str, gate: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_can(request.user, Capability.ASK_WAIVER, release.product)
    gate_obj = get_object_or_404(gates_for_product(release.product), key=gate)
    try:
        waiver_request(
            release=release,
            gate=gate_obj,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            risk=request.POST.get("risk", ""),
            mitigation=request.POST.get("mitigation", ""),
            expires_at=_expiry(request.POST.get("expires_in_hours", "")),
        )
    except DomainError as error:
        return refused(request, release, error)
    return after_action(request, release, "waivers", _("The waiver request is sent to the PM/PO."))


# The capability each waiver action needs (the service adds its own rules).
WAIVER_ACTION_NEEDS = {
    "approve": Capability.APPROVE_WAIVER,
    "reject": Capability.APPROVE_WAIVER,
    "revoke": Capability.REVOKE_WAIVER,
    "carry_over": Capability.CARRY_OVER_WAIVER,
}


def _waiver_action(request: HtmxHttpRequest, pk: int, action: str) -> HttpResponse:
    waiver = get_object_or_404(Waiver.objects.select_related("release__product"), pk=pk)
    release = waiver.release
    ensure_can(request.user, WAIVER_ACTION_NEEDS[action], release.product)
    note = request.POST.get("note", "")
    services = {
        "approve": waiver_approve,
        "reject": waiver_reject,
        "revoke": waiver_revoke,
        "carry_over": waiver_carry_over,
    }
    done = {
        "approve": _("The waiver is approved."),
        "reject": _("The waiver is rejected."),
        "revoke": _("The waiver is revoked: the gate blocks again."),
        "carry_over": _("The waiver is carried over to the current build."),
    }
    try:
        services[action](waiver=waiver, actor=request.user, note=note)
    except DomainError as error:
        return refused(request, release, error)
    return after_action(request, release, "waivers", done[action])


@require_POST
@viewer_required
def waiver_approve_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _waiver_action(request, pk, "approve")


@require_POST
@viewer_required
def waiver_reject_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _waiver_action(request, pk, "reject")


@require_POST
@viewer_required
def waiver_revoke_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _waiver_action(request, pk, "revoke")


@require_POST
@viewer_required
def waiver_carry_over_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _waiver_action(request, pk, "carry_over")
