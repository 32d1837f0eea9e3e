"""A draft becomes a release candidate: the board's button (and what it says to whom),
and its view. The rule is releases.lifecycle's (`release_promote`, `promotion_problems`);
the admin's action and the API call the same service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.capabilities import HOLDERS, Capability, ensure_can
from accounts.models import Role
from accounts.permissions import viewer_required
from core.errors import DomainError
from core.http import HtmxHttpRequest
from releases.lifecycle import may_promote, promotion_problems
from releases.models import Release, ReleaseState
from releases.selectors import release_get

from .lifecycle import release_promote
from .links import board_url


@dataclass(frozen=True)
class Promotion:
    """What the draft's board says about making it a candidate, for one viewer."""

    may: bool  # the viewer may press the button
    needs_commit: bool  # the form asks for the build's commit
    problems: tuple[str, ...]  # why it cannot be made a candidate yet, in words
    who: str  # who may, when the viewer may not


def promoters(release: Release) -> str:
    """Who may make the draft a candidate, in words."""
    roles = ", ".join(str(Role(role).label) for role in sorted(HOLDERS[Capability.PROMOTE]))
    owner = release.owner.get_username() if release.owner_id and release.owner else ""
    if owner:
        return _(
            "The release owner (%(owner)s) or a %(roles)s of %(product)s makes it a release candidate."
        ) % {
            "owner": owner,
            "roles": roles,
            "product": release.product.slug,
        }
    return _("A %(roles)s of %(product)s makes it a release candidate.") % {
        "roles": roles,
        "product": release.product.slug,
    }


def promotion_for(release: Release, user: Any) -> Promotion | None:
    """None unless the release is a draft."""
    if release.state != ReleaseState.DRAFT:
        return None
    may = may_promote(user, release)
    problems = tuple(p.message for p in promotion_problems(release))
    return Promotion(
        may=may, needs_commit=not release.commit_sha, problems=problems, who="" if may else promoters(release)
    )


@require_POST
@viewer_required
def release_promote_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_can(request.user, Capability.VIEW, release.product)
    if not may_promote(request.user, release):
        raise PermissionDenied("Only the release owner or a PM/PO may make a draft a release candidate.")
    try:
        release_promote(release=release, actor=request.user, commit=request.POST.get("commit", ""))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(board_url(release, "promote"))
    messages.success(
        request,
        _("%(release)s is a release candidate: its checklists are ready, and sign-offs may begin.")
        % {"release": f"{release.product.slug} {release.version}"},
    )
    return redirect(board_url(release))
