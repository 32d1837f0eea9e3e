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
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.capabilities import Capability, acting_roles, can, ensure_can, may_do, roles_for
from accounts.permissions import viewer_required
from board.dashboard import release_boards
from board.decisions import release_decide, signoff_record
from board.rollout import (
    release_halt_by,
    release_roll_back,
    release_rollout_advance,
    release_rollout_resume,
    release_rollout_start,
)
from board.selectors import release_board
from board.waiting import waiting_for
from checklists.selectors import programme_checklist
from core.errors import DomainError, RuleViolation
from core.htmx import panel_template, render_panel, target_panel
from core.http import HtmxHttpRequest, int_or_none
from core.panel_cache import (
    PanelScope,
    cache_put,
    page_kept,
    page_key,
    page_served,
    scope_for,
    with_token,
)
from core.panel_cache import enabled as panel_cache_enabled
from flags.selectors import flags_for_board
from gates.selectors import failed_results_since
from live.services import DASHBOARD_PANELS, RELEASE_PANELS
from operations.rollout import live_health, rollout_next, rollout_stages
from operations.selectors import last_rehearsals
from releases.models import (
    DECIDABLE_STATES,
    ROLLBACK_FROM,
    ROLLOUT_SHOWN,
    Meeting,
    Release,
    ReleaseState,
    Vote,
)
from releases.selectors import active_releases, release_get, release_key, viewable_products
from stores.play_services import play_source_of
from stores.selectors import stores_for_board

from .life import release_life
from .links import board_url
from .meetings import meeting_end, meeting_start, meeting_update, minutes_markdown
from .page_cache import no_message_waits, shared_board
from .ports import decision_notes, signoffs_extra
from .rollout_view import rollout_panel

BOARD_PANELS = RELEASE_PANELS - {"meeting"}  # the meeting panel is meeting.html's


# The panels that name the viewer (the owner's "make it a candidate", one's own waiver):
# cached per person, the others per set of roles (core/panel_cache.py).
PER_PERSON_PANELS = frozenset({"header", "waivers"})


def board_context(
    request: HtmxHttpRequest, release: Release, *, scope: PanelScope | None = None, **extra: Any
) -> dict[str, Any]:
    """The board's context, read lazily: a panel served from the cache (`scope`, the plain
    GETs: core/panel_cache.py, its versions read before `release` was) reads nothing."""
    user = request.user
    product = release.product

    board: Any = SimpleLazyObject(lambda: shared_board(release, scope))
    current: Any = SimpleLazyObject(lambda: board.release)
    return {
        "shell": release,  # the page around the panels: slug, version, id
        "panel_scope": scope,
        "board": board,
        "release": current,
        # Read only by the verdict panel (up to two queries after the call): not for the others.
        "life": SimpleLazyObject(lambda: release_life(board)),
        # Read by the banner and the operations panel after Go: stage, soak, health, halt.
        "rp": SimpleLazyObject(lambda: rollout_panel(board)),
        # Read only by the operations panel.
        "last_rehearsals": SimpleLazyObject(lambda: last_rehearsals(board.release.product)),
        "may": may_do(user, product),
        "sign_off_as": acting_roles(user, Capability.SIGN_OFF, product),
        "may_decide": SimpleLazyObject(
            lambda: can(user, Capability.DECIDE, product) and board.release.state in DECIDABLE_STATES
        ),
        "waiver_default_hours": 72,
        "rollout": SimpleLazyObject(
            lambda: {
                "shown": board.release.state in ROLLOUT_SHOWN,
                "stages": rollout_stages(board.release),
                "next": rollout_next(board.release),
                "may_roll_back": board.release.state in ROLLBACK_FROM,
            }
        ),
        "board_url": board_url(release),
        # The flags panel (flags/) and the stores panel (stores/): None when the product has none.
        "flags_panel": SimpleLazyObject(lambda: flags_for_board(board.release)),
        "stores_panel": SimpleLazyObject(lambda: stores_for_board(board.release)),
        # Whether Google Play drives the rollout (the operations panel's warning before 100 %).
        "play_source": SimpleLazyObject(lambda: play_source_of(board.release)),
        # What the sign-offs panel shows from the layers above (board/ports.py: `slack`).
        "signoffs_extra": SimpleLazyObject(lambda: signoffs_extra(board.release)),
        # Lines added by the layers above (board/ports.py: `integrations`): the GitHub App's deployments.
        "decision_notes": SimpleLazyObject(lambda: decision_notes(board.release)),
        **extra,
    }


def render_board(
    request: HtmxHttpRequest,
    release: Release,
    *,
    status: int = 200,
    scope: PanelScope | None = None,
    **extra: Any,
) -> HttpResponse:
    """The whole board, or for htmx the one panel the request targets; with `scope` (a
    plain GET, nothing of an action in it) the panels come from the cache."""
    context = board_context(request, release, scope=scope, **extra)
    return render_panel(request, "board/board.html", BOARD_PANELS, context, status=status)


def after_action(
    request: HtmxHttpRequest, release: Release, panel: str, done: str, **extra: Any
) -> HttpResponse:
    """`extra`: more for the panel's context (the stores panel's `store_notice`)."""
    if request.htmx:
        # Re-read everything, the release included (the action changed it, not this copy):
        # the panel is rendered from fresh data, and the other open panels hear about the
        # change through the live stream.
        release.refresh_from_db()
        return render_board(request, release, notice=done, **extra)
    messages.success(request, done)
    return redirect(board_url(release, panel), permanent=False)


def refused(request: HtmxHttpRequest, release: Release, error: DomainError, **extra: Any) -> HttpResponse:
    """The action was refused: for htmx, the panel with the reason (htmx swaps it in despite
    the 4xx status: core.htmx); otherwise the board with the reason at the top."""
    if not request.htmx:
        messages.error(request, error.message)
        return render_board(request, release, status=error.status)
    return render_board(request, release, status=error.status, error=error, **extra)


@require_GET
@viewer_required
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    releases = [r for r in active_releases() if can(request.user, Capability.VIEW, r.product)]
    boards = release_boards(releases, now=now)
    week_start = (timezone.localtime(now) - timedelta(days=timezone.localtime(now).weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    products = viewable_products(request.user)
    failed = failed_results_since(week_start).filter(release__product__in=[p.pk for p in products])
    # Releases after Go: their stage's health, read from the samples (docs/rollout.md).
    live_healths = {r.pk: h for r in releases if (h := live_health(r)) is not None}
    context = {
        "boards": boards,
        "live_health": live_healths,
        # What is waiting for this viewer (board/waiting.py), from the same boards.
        "waiting": waiting_for(
            request.user, boards, health=live_healths, product_ids=[p.pk for p in products], now=now
        ),
        "products": products,
        "failed_results": failed[:50],
        "week_start": week_start,
        "programme": programme_checklist(request.user),
    }
    return render_panel(request, "board/dashboard.html", DASHBOARD_PANELS, context)


@require_GET
@viewer_required
def release_board_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release_id, product_id = release_key(product, version)
    user = request.user
    ensure_can(user, Capability.VIEW, product_id)
    # The cache's versions first, then the release: what is rendered is never older. The
    # entry asked for (the panel re-fetched, or the whole page) comes in the same trip.
    panel = target_panel(request, BOARD_PANELS)
    # The whole page is kept per person, unless a message waits to be shown once (and
    # only at its plain address: a query string must not make entries without end).
    quiet = panel is None and panel_cache_enabled() and no_message_waits(request) and not request.GET
    scope = scope_for(
        release_id,
        roles=roles_for(user, product_id),
        user_id=user.pk,
        per_person=PER_PERSON_PANELS,
        panels=[panel] if panel is not None else [],
        page=request.path if quiet else None,
    )
    if scope is None:
        return render_board(request, release_get(product, version))
    if panel is not None:
        if (html := scope.cached(panel)) is not None:
            return HttpResponse(with_token(html, get_token(request)))  # a re-fetch, served as kept
        return render_board(request, release_get(product, version), scope=scope)
    page, nonce = page_key(scope, request.path), str(get_nonce(request))
    if quiet and (kept := scope.fresh(scope.prefetched.get(page))) is not None:
        return HttpResponse(page_served(kept, get_token(request), nonce))
    scope.prefetch(BOARD_PANELS)  # the page's panels in one round trip
    response = render_board(request, release_get(product, version), scope=scope)
    if quiet and response.status_code == 200:
        cache_put(page, scope.entry(page_kept(response.content.decode(), nonce)))
    return response


@require_POST
@viewer_required
def signoff_create(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    role = request.POST.get("role", "")
    ensure_can(request.user, Capability.SIGN_OFF, release.product, role=role)
    try:
        signoff_record(
            release=release,
            role=role,
            vote=request.POST.get("vote", ""),
            comment=request.POST.get("comment", ""),
            actor=request.user,
            confirm_failing=request.POST.get("confirm_failing") == "1",
        )
    except DomainError as error:
        return refused(request, release, error)
    vote = request.POST.get("vote", "")
    done = _("Your Go sign-off is recorded.") if vote == Vote.GO else _("Your No-Go sign-off is recorded.")
    return after_action(request, release, "signoffs", done)


@require_POST
@viewer_required
def release_decide_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_can(request.user, Capability.DECIDE, release.product)
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
    done = _("Go is called.") if outcome == Vote.GO else _("No-Go is called.")
    return after_action(request, release, "decision", done)


@require_POST
@viewer_required
def release_rollout_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    """The rollout's steps (DevOps): start, advance a stage, halt, resume, roll back."""
    release = release_get(product, version)
    ensure_can(request.user, Capability.ADVANCE_ROLLOUT, release.product)
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


# Each panel of the meeting page, and the template that holds it.
MEETING_PANELS = {**dict.fromkeys(BOARD_PANELS, "board/board.html"), "meeting": "board/meeting.html"}


def meeting_url(release: Release) -> str:
    return reverse("board:meeting", kwargs={"product": release.product.slug, "version": release.version})


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
    ensure_can(request.user, Capability.VIEW, release.product)
    meeting = release.meetings.select_related("started_by").first()
    template = panel_template(request, "board/meeting.html", MEETING_PANELS)
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
    return render(request, "board/meeting.html#meeting", context, status=status)


def _meeting_done(request: HtmxHttpRequest, release: Release, done: str) -> HttpResponse:
    if request.htmx:
        return _meeting_panel(request, release, notice=done)
    messages.success(request, done)
    return redirect(meeting_url(release))


def _meeting_refused(request: HtmxHttpRequest, release: Release, error: DomainError) -> HttpResponse:
    if request.htmx:
        return _meeting_panel(request, release, status=error.status, error=error)
    messages.error(request, error.message)
    return redirect(meeting_url(release))


@require_POST
@viewer_required
def meeting_start_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_can(request.user, Capability.RUN_MEETING, release.product)
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
    ensure_can(request.user, Capability.RUN_MEETING, release.product)
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
    ensure_can(request.user, Capability.VIEW, release.product)
    text = minutes_markdown(release_board(release), release.meetings.first())
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    filename = f"go-no-go-{release.product.slug}-{release.version}.md"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
