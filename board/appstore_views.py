"""The App Store panel's buttons (DevOps): pause, resume or complete Apple's phased release."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.capabilities import Capability, ensure_can
from accounts.permissions import viewer_required
from core.errors import DomainError
from core.http import HtmxHttpRequest
from releases.selectors import release_get
from stores.appstore_services import appstore_step

from .views import after_action, refused


def done_words(step: str) -> str:
    return {
        "pause": _("Asked Apple to pause the phased release."),
        "resume": _("Asked Apple to resume the phased release."),
        "complete": _("Asked Apple to release the version to everyone."),
    }[step]


@require_POST
@viewer_required
def release_appstore_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_can(request.user, Capability.ADVANCE_ROLLOUT, release.product)
    step = request.POST.get("step", "")
    try:
        appstore_step(release=release, step=step, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        return refused(request, release, error)
    return after_action(request, release, "stores", done_words(step))
