"""Pages for releases: the dashboard and one release's board.

Small function views: check permission, read through selectors, render. When htmx asks,
the view returns only the named fragment of the same template.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.permissions import can_view, ensure_view, viewer_required
from checklists.selectors import programme_checklist
from gonogo.http import HtmxHttpRequest

from .models import Release
from .selectors import active_releases, failed_results_since, release_board

BOARD_PANELS = frozenset(
    {"verdict", "gates", "checklist", "defects", "waivers", "signoffs", "decision", "operations"}
)


@require_GET
@viewer_required
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    releases = [r for r in active_releases() if can_view(request.user, r.product)]
    boards = [release_board(r, now=now) for r in releases]
    week_start = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    visible = {r.product_id for r in releases} if not request.user.is_superuser else None
    failed = [
        res
        for res in failed_results_since(week_start)[:50]
        if visible is None or res.release.product_id in visible
    ]
    context = {
        "boards": boards,
        "failed_results": failed,
        "week_start": week_start,
        "programme": programme_checklist(),
    }
    return render(request, "releases/dashboard.html", context)


@require_GET
@viewer_required
def release_board_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = get_object_or_404(
        Release.objects.select_related("product", "owner"), product__slug=product, version=version
    )
    ensure_view(request.user, release.product)
    board = release_board(release)
    template = "releases/board.html"
    panel = request.htmx.target if request.htmx else None
    if panel in BOARD_PANELS:
        template = f"releases/board.html#{panel}"
    return render(request, template, {"board": board, "release": release})
