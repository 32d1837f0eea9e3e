"""The stores panel's actions (DevOps): Google Play's "Read Play now" and "Retry"."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.capabilities import Capability, ensure_can
from accounts.permissions import viewer_required
from core.errors import DomainError
from core.http import HtmxHttpRequest
from releases.models import Release
from releases.selectors import release_get
from stores.play_readback import play_read_request
from stores.play_services import play_step_retry

from .views import after_action, refused


def _after(request: HtmxHttpRequest, release: Release, done: str) -> HttpResponse:
    return after_action(request, release, "stores", done, store_notice="play")


def _refused(request: HtmxHttpRequest, release: Release, error: DomainError) -> HttpResponse:
    return refused(request, release, error, store_notice="play")


@require_POST
@viewer_required
def play_read_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    """Read Google Play's track now (DevOps); the panel shows what it said."""
    release = release_get(product, version)
    ensure_can(request.user, Capability.ADVANCE_ROLLOUT, release.product)
    try:
        reading = play_read_request(release=release, actor=request.user)
    except DomainError as error:
        return _refused(request, release, error)
    if reading is not None and reading.error:
        return _after(request, release, _("Google Play could not be read: %(why)s") % {"why": reading.error})
    return _after(request, release, _("Google Play was read just now."))


@require_POST
@viewer_required
def play_retry_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    """Send Google Play's refused step again (DevOps)."""
    release = release_get(product, version)
    ensure_can(request.user, Capability.ADVANCE_ROLLOUT, release.product)
    try:
        play_step_retry(release=release, actor=request.user)
    except DomainError as error:
        return _refused(request, release, error)
    return _after(request, release, _("The step is sent to Google Play again."))
