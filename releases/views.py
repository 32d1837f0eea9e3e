"""Pages for releases: the dashboard, one release's board, and its actions.

Small function views: check permission, parse, call a service, render. When htmx asks,
the view returns only the named fragment of the same template (the panel the request
targets); a plain form POST redirects back to the board, so everything works without
JavaScript. A refused action re-renders with the reason and a 4xx status.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from accounts.permissions import (
    can_view,
    ensure_role,
    ensure_view,
    roles_for,
    viewable_products,
    viewer_required,
)
from checklists.selectors import programme_checklist
from gonogo.errors import DomainError, RuleViolation
from gonogo.http import HtmxHttpRequest

from .meetings import meeting_end, meeting_start, meeting_update, minutes_markdown
from .models import Meeting, Release, ReleaseState
from .selectors import active_releases, failed_results_since, release_board
from .services import (
    release_decide,
    release_halt_by,
    release_roll_back,
    release_rollout_advance,
    release_rollout_resume,
    release_rollout_start,
    rollout_next,
    rollout_stages,
    signoff_record,
)

BOARD_PANELS = frozenset(
    {"header", "verdict", "gates", "checklist", "defects", "waivers", "signoffs", "decision", "operations"}
)
DASHBOARD_PANELS = frozenset({"releases", "failed"})
ROLLOUT_SHOWN = frozenset(
    {
        ReleaseState.GO,
        ReleaseState.ROLLING_OUT,
        ReleaseState.HALTED,
        ReleaseState.RELEASED,
        ReleaseState.ROLLED_BACK,
    }
)
ROLLBACK_FROM = frozenset({ReleaseState.ROLLING_OUT, ReleaseState.HALTED, ReleaseState.RELEASED})


def release_get(product: str, version: str) -> Release:
    return get_object_or_404(
        Release.objects.select_related("product", "owner"), product__slug=product, version=version
    )


def board_url(release: Release, anchor: str = "") -> str:
    url = reverse(
        "releases:release_board", kwargs={"product": release.product.slug, "version": release.version}
    )
    return f"{url}#{anchor}" if anchor else url


def board_context(request: HtmxHttpRequest, release: Release, **extra: Any) -> dict[str, Any]:
    board = release_board(release)
    roles = roles_for(request.user, release.product)
    stages = rollout_stages(board.release)
    return {
        "board": board,
        "release": board.release,
        "my_roles": roles,
        "is_pm": Role.PM in roles,
        "may_decide": Role.PM in roles and board.release.state in ("candidate", "go"),
        "can_ask_waiver": bool(roles & {Role.QA, Role.MOBILE_LEAD, Role.BACKEND_LEAD}),
        "waiver_default_hours": 72,
        "may_roll_out": Role.DEVOPS in roles,
        "rollout": {
            "shown": board.release.state in ROLLOUT_SHOWN,
            "stages": stages,
            "next": rollout_next(board.release),
            "may_roll_back": board.release.state in ROLLBACK_FROM,
        },
        "board_url": board_url(release),
        **extra,
    }


def render_board(
    request: HtmxHttpRequest, release: Release, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The whole board, or for htmx the one panel the request targets."""
    template = "releases/board.html"
    panel = request.htmx.target if request.htmx else None
    if panel in BOARD_PANELS:
        template = f"releases/board.html#{panel}"
    return render(request, template, board_context(request, release, **extra), status=status)


def after_action(request: HtmxHttpRequest, release: Release, panel: str, done: str) -> HttpResponse:
    if request.htmx:
        # Re-read everything, the release included (the action changed it, not this copy):
        # the panel is rendered from fresh data, and the other open panels hear about the
        # change through the live stream.
        release.refresh_from_db()
        return render_board(request, release, notice=done)
    messages.success(request, done)
    return redirect(board_url(release, panel), permanent=False)


REFUSED_HEADER = "X-Gonogo-Refused"


def refused(request: HtmxHttpRequest, release: Release, error: DomainError) -> HttpResponse:
    """The action was refused: for htmx, the panel with the reason (live.js swaps it in
    despite the 4xx status, recognising the header); otherwise the board with the reason
    at the top."""
    if not request.htmx:
        messages.error(request, error.message)
        return render_board(request, release, status=error.status)
    response = render_board(request, release, status=error.status, error=error)
    response[REFUSED_HEADER] = "1"
    return response


def int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


@require_GET
@viewer_required
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    releases = [r for r in active_releases() if can_view(request.user, r.product)]
    boards = [release_board(r, now=now) for r in releases]
    week_start = (timezone.localtime(now) - timedelta(days=timezone.localtime(now).weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    visible = [p.pk for p in viewable_products(request.user)]
    failed = failed_results_since(week_start).filter(release__product__in=visible)
    context = {
        "boards": boards,
        "failed_results": failed[:50],
        "week_start": week_start,
        "programme": programme_checklist(request.user),
        "my_roles": roles_for(request.user, None),
    }
    template = "releases/dashboard.html"
    panel = request.htmx.target if request.htmx else None
    if panel in DASHBOARD_PANELS:
        template = f"releases/dashboard.html#{panel}"
    return render(request, template, context)


@require_GET
@viewer_required
def release_board_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_view(request.user, release.product)
    return render_board(request, release)


@require_POST
@viewer_required
def signoff_create(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    role = request.POST.get("role", "")
    ensure_role(request.user, role, release.product)
    try:
        signoff_record(
            release=release,
            role=role,
            vote=request.POST.get("vote", ""),
            comment=request.POST.get("comment", ""),
            actor=request.user,
        )
    except DomainError as error:
        return refused(request, release, error)
    vote = request.POST.get("vote", "")
    done = _("Your Go sign-off is recorded.") if vote == "go" else _("Your No-Go sign-off is recorded.")
    return after_action(request, release, "signoffs", done)


@require_POST
@viewer_required
def release_decide_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_role(request.user, Role.PM, release.product)
    outcome = request.POST.get("outcome", "")
    try:
        release_decide(
            release=release,
            outcome=outcome,
            rationale=request.POST.get("rationale", ""),
            actor=request.user,
            seen_fingerprint=request.POST.get("fingerprint") or None,
            seen_decision=int_or_none(request.POST.get("seen_decision")),
        )
    except DomainError as error:
        return refused(request, release, error)
    done = _("Go is called.") if outcome == "go" else _("No-Go is called.")
    return after_action(request, release, "decision", done)


@require_POST
@viewer_required
def release_rollout_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    """The rollout's steps (DevOps): start, advance a stage, halt, resume, roll back."""
    release = release_get(product, version)
    ensure_role(request.user, Role.DEVOPS, release.product)
    step = request.POST.get("step", "")
    try:
        if step == "start":
            release_rollout_start(release=release, actor=request.user)
            done = _("The rollout has started.")
        elif step == "resume":
            release_rollout_resume(release=release, actor=request.user)
            done = _("The rollout is running again.")
        elif step == "advance":
            release = release_rollout_advance(
                release=release, actor=request.user, to=int_or_none(request.POST.get("to"))
            )
            if release.state == ReleaseState.RELEASED:
                done = _("The release is fully rolled out.")
            else:
                done = _("The rollout is at %(percent)s %%.") % {"percent": release.rollout_percent}
        elif step == "halt":
            release_halt_by(release=release, actor=request.user, reason=request.POST.get("reason", ""))
            done = _("The rollout is halted.")
        elif step == "roll_back":
            release_roll_back(
                release=release,
                actor=request.user,
                minutes=request.POST.get("minutes", ""),
                notes=request.POST.get("notes", ""),
            )
            done = _("The rollback is recorded.")
        else:
            raise RuleViolation(
                "step_invalid", _("Choose start, advance, halt, resume or roll back."), field="step"
            )
    except DomainError as error:
        return refused(request, release, error)
    return after_action(request, release, "operations", done)


MEETING_PANELS = BOARD_PANELS | {"meeting"}


def meeting_url(release: Release) -> str:
    return reverse("releases:meeting", kwargs={"product": release.product.slug, "version": release.version})


def attendee_choices(release: Release) -> list[str]:
    """People who hold a role on the product, as offered in the attendee list."""
    from django.contrib.auth import get_user_model

    users = (
        get_user_model()
        .objects.filter(role_memberships__isnull=False)
        .filter(Q(role_memberships__product__isnull=True) | Q(role_memberships__product=release.product))
        .distinct()
        .order_by("username")
    )
    return [u.get_username() for u in users]


@require_GET
@viewer_required
def meeting_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    """Meeting mode: the board as the Go/No-Go meeting's agenda, with attendees and a clock."""
    release = release_get(product, version)
    ensure_view(request.user, release.product)
    meeting = release.meetings.select_related("started_by").first()
    template = "releases/meeting.html"
    panel = request.htmx.target if request.htmx else None
    if panel in MEETING_PANELS:
        template = f"releases/meeting.html#{panel}" if panel == "meeting" else f"releases/board.html#{panel}"
    context = board_context(
        request, release, meeting=meeting, meeting_url=meeting_url(release), people=attendee_choices(release)
    )
    return render(request, template, context)


def _meeting_panel(
    request: HtmxHttpRequest, release: Release, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The meeting panel alone, from fresh data (for htmx)."""
    context = board_context(
        request,
        release,
        meeting=release.meetings.first(),
        meeting_url=meeting_url(release),
        people=attendee_choices(release),
        **extra,
    )
    return render(request, "releases/meeting.html#meeting", context, status=status)


def _meeting_done(request: HtmxHttpRequest, release: Release, done: str) -> HttpResponse:
    if request.htmx:
        return _meeting_panel(request, release, notice=done)
    messages.success(request, done)
    return redirect(meeting_url(release))


def _meeting_refused(request: HtmxHttpRequest, release: Release, error: DomainError) -> HttpResponse:
    if request.htmx:
        response = _meeting_panel(request, release, status=error.status, error=error)
        response[REFUSED_HEADER] = "1"
        return response
    messages.error(request, error.message)
    return redirect(meeting_url(release))


@require_POST
@viewer_required
def meeting_start_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_role(request.user, Role.PM, release.product)
    try:
        meeting_start(
            release=release, actor=request.user, attendees=request.POST.getlist("attendees") or None
        )
    except DomainError as error:
        return _meeting_refused(request, release, error)
    return _meeting_done(request, release, _("The meeting has started."))


@require_POST
@viewer_required
def meeting_update_view(request: HtmxHttpRequest, product: str, version: str, pk: int) -> HttpResponse:
    release = release_get(product, version)
    ensure_role(request.user, Role.PM, release.product)
    meeting = get_object_or_404(Meeting, pk=pk, release=release)
    attendees = request.POST.getlist("attendees") + request.POST.get("others", "").split(",")
    try:
        if request.POST.get("end"):
            with transaction.atomic():
                meeting_update(
                    meeting=meeting,
                    actor=request.user,
                    attendees=attendees,
                    notes=request.POST.get("notes", ""),
                )
                meeting_end(meeting=meeting, actor=request.user)
            done = _("The meeting has ended. Export the minutes below.")
        else:
            meeting_update(
                meeting=meeting, actor=request.user, attendees=attendees, notes=request.POST.get("notes", "")
            )
            done = _("Saved.")
    except DomainError as error:
        return _meeting_refused(request, release, error)
    return _meeting_done(request, release, done)


@require_GET
@viewer_required
def meeting_minutes(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    """The minutes of the latest meeting (or of the board, if none was held) as Markdown."""
    release = release_get(product, version)
    ensure_view(request.user, release.product)
    text = minutes_markdown(release_board(release), release.meetings.first())
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    filename = f"go-no-go-{release.product.slug}-{release.version}.md"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
