"""A product's page: its releases in progress, its history, and its operations kept in
the app (runbook link, on-call contacts with their review, rehearsals).

Anyone who may read the product sees it; DevOps of the product edits the runbook and the
contacts, QA records release rehearsals and DevOps rollback rehearsals. Each form posts
with CSRF and works without JavaScript (a plain POST redirects back to its section); for
htmx the view answers with the panel it targets, from fresh data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.capabilities import Capability, can, ensure_can, may_do
from accounts.models import Role
from accounts.permissions import viewer_required
from core.errors import DomainError, RuleViolation
from core.htmx import render_panel
from core.http import HtmxHttpRequest
from operations.models import RehearsalKind
from operations.rollout import minutes_parse
from operations.selectors import oncall_rows, rehearsals_of
from operations.services import REHEARSAL_RECORDERS, oncall_review, oncall_set, rehearsal_record, runbook_set
from releases.models import Product

from .product_reads import release_history, releases_in_progress
from .readiness import product_url, required_oncall_roles

PRODUCT_PANELS = ("history", "operations", "rehearsals")


def _product(request: HtmxHttpRequest, slug: str) -> Product:
    product = get_object_or_404(Product, slug=slug)
    ensure_can(request.user, Capability.VIEW, product)
    return product


def product_context(request: HtmxHttpRequest, product: Product, **extra: Any) -> dict[str, Any]:
    today = timezone.localdate()
    page, history = release_history(product, request.GET.get("page"))
    may = may_do(request.user, product)
    return {
        "product": product,
        "in_progress": list(releases_in_progress(product)),
        "page": page,
        "history": history,
        "contacts": oncall_rows(product, required_roles=required_oncall_roles(product), today=today),
        "rehearsals": rehearsals_of(product),
        "rehearsal_kinds": [
            (kind, kind.label) for kind in RehearsalKind if may[REHEARSAL_RECORDERS[kind].value]
        ],
        "may": may,
        "today": today,
        **extra,
    }


def render_product(
    request: HtmxHttpRequest, product: Product, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The whole page, or for htmx the one panel the request targets."""
    context = product_context(request, product, **extra)
    return render_panel(request, "board/product.html", PRODUCT_PANELS, context, status=status)


def _done(request: HtmxHttpRequest, product: Product, section: str, done: str) -> HttpResponse:
    if request.htmx:
        product.refresh_from_db()
        return render_product(request, product, notice=done)
    messages.success(request, done)
    return redirect(product_url(product.slug, section))


def _refused(request: HtmxHttpRequest, product: Product, error: DomainError) -> HttpResponse:
    """For htmx, the panel with the reason (swapped in despite the 4xx: core.htmx); else
    the page with the reason at the top."""
    if not request.htmx:
        messages.error(request, error.message)
        return render_product(request, product, status=error.status)
    return render_product(request, product, status=error.status, error=error)


@require_GET
@viewer_required
def product_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    return render_product(request, _product(request, slug))


@require_POST
@viewer_required
def runbook_update(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Set the runbook link (DevOps of the product)."""
    product = _product(request, slug)
    ensure_can(request.user, Capability.EDIT_OPERATIONS, product)
    try:
        runbook_set(product=product, url=request.POST.get("url", ""), actor=request.user)
    except DomainError as error:
        return _refused(request, product, error)
    return _done(request, product, "runbook", _("The runbook link is saved."))


@require_POST
@viewer_required
def oncall_update(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Save a role's on-call contact, or mark it reviewed today unchanged (DevOps)."""
    product = _product(request, slug)
    ensure_can(request.user, Capability.EDIT_OPERATIONS, product)
    role = request.POST.get("role", "")
    label = Role(role).label if role in Role.values else role
    try:
        if request.POST.get("reviewed"):
            oncall_review(product=product, role=role, actor=request.user)
            done = _("The on-call contact for %(role)s is marked reviewed today.") % {"role": label}
        else:
            oncall_set(
                product=product,
                role=role,
                name=request.POST.get("name", ""),
                contact=request.POST.get("contact", ""),
                actor=request.user,
                reviewed_on=timezone.localdate(),
            )
            done = _("The on-call contact for %(role)s is saved, reviewed today.") % {"role": label}
    except DomainError as error:
        return _refused(request, product, error)
    return _done(request, product, "oncall", done)


def _performed_on(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RuleViolation(
            "date_invalid", _("Give the day of the rehearsal (YYYY-MM-DD)."), field="performed_on"
        ) from None


@require_POST
@viewer_required
def rehearsal_record_view(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Record a rehearsal: a release rehearsal (QA) or a rollback rehearsal (DevOps)."""
    product = _product(request, slug)
    kind = request.POST.get("kind", "")
    recorders = [REHEARSAL_RECORDERS[RehearsalKind(kind)]] if kind in RehearsalKind.values else []
    if not any(can(request.user, c, product) for c in recorders or REHEARSAL_RECORDERS.values()):
        raise PermissionDenied("This action needs a role you do not hold.")
    try:
        rehearsal_record(
            product=product,
            kind=kind,
            performed_on=_performed_on(request.POST.get("performed_on", "")),
            minutes=minutes_parse(request.POST.get("minutes", "")),
            outcome=request.POST.get("outcome", ""),
            notes=request.POST.get("notes", "").strip(),
            actor=request.user,
        )
    except DomainError as error:
        return _refused(request, product, error)
    return _done(request, product, "rehearsals", _("The rehearsal is recorded."))
