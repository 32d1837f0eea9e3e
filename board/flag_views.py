"""The flags panel's actions: Kill a flag (with a reason), attach or detach it from the
release (docs/flags.md). Permission checked here and again in the service."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.capabilities import Capability, ensure_can
from accounts.permissions import viewer_required
from core.errors import DomainError
from core.http import HtmxHttpRequest
from flags.models import Flag
from flags.services import flag_kill, flag_ship_set
from releases.models import Release
from releases.selectors import release_get

from .views import after_action, refused


def _flag(release: Release, key: str) -> Flag:
    flag = Flag.objects.select_related("product").filter(product_id=release.product_id, key=key).first()
    if flag is None:
        raise Http404("no such flag")
    return flag


@require_POST
@viewer_required
def flag_kill_view(request: HtmxHttpRequest, product: str, version: str, key: str) -> HttpResponse:
    """Kill (DevOps, PM/PO): switch the flag off at its provider, saying why."""
    release = release_get(product, version)
    ensure_can(request.user, Capability.KILL_FLAG, release.product)
    flag = _flag(release, key)
    try:
        flag_kill(flag=flag, release=release, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        return refused(request, release, error)
    done = _("Kill sent: “%(flag)s” is being switched off. The outcome shows here.") % {"flag": flag.key}
    return after_action(request, release, "flags", done)


@require_POST
@viewer_required
def flag_ship_view(request: HtmxHttpRequest, product: str, version: str, key: str) -> HttpResponse:
    """Attach the flag to this release, or detach it (DevOps, PM/PO)."""
    release = release_get(product, version)
    ensure_can(request.user, Capability.MANAGE_FLAGS, release.product)
    flag = _flag(release, key)
    ships = request.POST.get("ships", "") == "1"
    try:
        flag_ship_set(flag=flag, release=release, ships=ships, actor=request.user)
    except DomainError as error:
        return refused(request, release, error)
    if ships:
        done = _("“%(flag)s” ships in this release.") % {"flag": flag.key}
    else:
        done = _("“%(flag)s” is detached from this release.") % {"flag": flag.key}
    return after_action(request, release, "flags", done)
