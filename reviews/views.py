"""The weekly review page: the four questions, action items, the meeting's minutes."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET, require_POST

from accounts.capabilities import Capability, can
from accounts.permissions import viewer_required
from core.errors import DomainError, RuleViolation
from core.htmx import panel_template, target_panel
from core.http import HtmxHttpRequest
from operations.rollout import minutes_parse
from operations.services import REHEARSAL_RECORDERS, rehearsal_record
from releases.models import Product
from releases.selectors import viewable_products

from .charts import bar_chart
from .models import ActionItem, ActionKind, WeeklyReview
from .selectors import Week, failure_lookup, reviews_held, weekly_answers
from .services import (
    QUESTIONS,
    TIME_BOXES,
    UNCHANGED,
    action_item_create,
    action_item_for_failure,
    action_item_update,
    week_offset,
    weekly_review_editable_by,
    weekly_review_save,
    weekly_review_timer_allowed,
    weekly_review_timer_start,
)
from .trends import HOTFIX_DAYS, Trends, trends

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _week(year: int, week: int) -> Week:
    if not 1970 <= year <= 9000:  # weeks a review can mean; the calendar's ends would overflow
        raise Http404("No such ISO week")
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise Http404("No such ISO week") from exc
    return Week(year, week)


def week_url(week: Week, anchor: str = "") -> str:
    url = reverse("reviews:week", kwargs={"year": week.year, "week": week.week})
    return f"{url}#{anchor}" if anchor else url


BOX_TITLES = {
    "q1": gettext_lazy("Q1 · failures"),
    "q2": gettext_lazy("Q2 · owners and dates"),
    "q3": gettext_lazy("Q3 · rollback target"),
    "q4": gettext_lazy("Q4 · prevention"),
}


def _ensure_editable(user: User, week: Week) -> None:
    """403 unless `user` may change this week's review (its PM/PO, attendees with a role)."""
    review = WeeklyReview.objects.filter(year=week.year, week=week.week).first()
    if not weekly_review_editable_by(review=review, actor=user):
        raise PermissionDenied("Only the PM/PO and the review's attendees who hold a role may change it.")


def _timer_context(week: Week, review: WeeklyReview | None, user: User) -> dict[str, Any]:
    boxes, begins = [], 0
    for q in QUESTIONS:
        boxes.append({"q": q, "title": BOX_TITLES[q], "minutes": TIME_BOXES[q], "from": begins})
        begins += TIME_BOXES[q]
    return {
        "week": week,
        "review": review,
        "time_boxes": boxes,
        "total_minutes": begins,
        "timer_allowed": abs(week_offset(week.year, week.week)) <= 1,
        "may_edit": weekly_review_editable_by(review=review, actor=user),
        "may_time": weekly_review_timer_allowed(review=review, actor=user),
        "held_minutes": _held_minutes(review),
    }


def _held_minutes(review: WeeklyReview | None) -> int | None:
    """How long an ended review ran on its timer, in whole minutes (None: not timed)."""
    if review is None or review.ended_at is None or review.timer_started_at is None:
        return None
    return max(0, round((review.ended_at - review.timer_started_at).total_seconds() / 60))


def _recorder_kinds(user: Any, product: Product) -> list[str]:
    """The kinds of rehearsal `user` records for `product` (release: QA; rollback: DevOps)."""
    return [kind for kind, capability in REHEARSAL_RECORDERS.items() if can(user, capability, product)]


def _context(request: HtmxHttpRequest, week: Week) -> dict[str, Any]:
    products = viewable_products(request.user)
    answers = weekly_answers(week, products)
    return {
        "week": week,
        "answers": answers,
        "previous": week.shifted(-1),
        "next": week.shifted(1),
        "this_week": Week.of(),
        "people": list(
            get_user_model()
            .objects.filter(role_memberships__isnull=False)
            .distinct()
            .order_by("username")
            .values_list("username", flat=True)
        ),
        "questions": QUESTIONS,
        **_timer_context(week, answers.review, request.user),
        "held": reviews_held(),
        "products": products,
        "may_record_rehearsal": [p for p in products if _recorder_kinds(request.user, p)],
        "rehearsal_kinds": sorted({k for p in products for k in _recorder_kinds(request.user, p)}),
        "today": timezone.localdate(),
    }


@require_GET
@viewer_required
def review_current(request: HtmxHttpRequest) -> HttpResponse:
    return redirect(week_url(Week.of()))


@require_GET
@viewer_required
def review_week(request: HtmxHttpRequest, year: int, week: int) -> HttpResponse:
    current = _week(year, week)
    if target_panel(request, {"timer"}):  # every screen polls the shared timer
        review = WeeklyReview.objects.filter(year=current.year, week=current.week).first()
        return render(request, "reviews/review.html#timer", _timer_context(current, review, request.user))
    # Q1, Q2 and Q4 are live panels: re-fetched when an action item changes anywhere.
    return render(
        request, panel_template(request, "reviews/review.html", LIVE_PANELS), _context(request, current)
    )


LIVE_PANELS = ("q1", "q2", "q4")


@require_GET
@viewer_required
def review_minutes(request: HtmxHttpRequest, year: int, week: int) -> HttpResponse:
    """The review's minutes as Markdown: the four answers, attendees and notes."""
    context = _context(request, _week(year, week))
    text = render(request, "reviews/minutes.md", context).content
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="weekly-review-{context["week"].label}.md"'
    return response


@require_POST
@viewer_required
def review_save(request: HtmxHttpRequest, year: int, week: int) -> HttpResponse:
    current = _week(year, week)
    _ensure_editable(request.user, current)
    try:
        weekly_review_save(
            year=current.year,
            week=current.week,
            actor=request.user,
            attendees=request.POST.getlist("attendees"),
            notes={q: request.POST.get(q, "") for q in QUESTIONS},
            end=request.POST.get("end") == "1",
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The review's notes are saved."))
    return redirect(week_url(current, "minutes"))


def _back(label: str) -> Week:
    """The week a form came from (`2026-W48`), else this week."""
    year, _sep, week = label.partition("-W")
    if year.isascii() and year.isdigit() and week.isascii() and week.isdigit():
        try:
            return _week(int(year), int(week))
        except Http404:
            pass
    return Week.of()


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@require_POST
@viewer_required
def action_create_view(request: HtmxHttpRequest) -> HttpResponse:
    failure = None
    raw = request.POST.get("failure", "")
    if raw.isascii() and raw.isdigit():
        failure = failure_lookup(int(request.POST["failure"]))
        if failure is None or not can(request.user, Capability.VIEW, failure.release.product):
            raise Http404("No such failure")
    back = request.POST.get("week", "")
    made = action_item_for_failure(failure) if failure is not None else None
    if made is not None:  # a second click, or another attendee was first: the one it has
        messages.info(
            request, _("This failure has its action item already: %(title)s") % {"title": made.title}
        )
        return redirect(week_url(_back(back), f"action-{made.pk}"))
    try:
        item = action_item_create(
            actor=request.user,
            title=request.POST.get("title", ""),
            kind=request.POST.get("kind", ActionKind.FIX),
            owner=request.POST.get("owner", ""),
            due_on=_date(request.POST.get("due_on")),
            failure=failure,
        )
    except DomainError as error:
        messages.error(request, error.message)
        anchor = "q2"
    else:
        messages.success(request, _("Action item added: %(title)s") % {"title": item.title})
        anchor = f"action-{item.pk}"
    return redirect(week_url(_back(back), anchor))


@require_POST
@viewer_required
def action_update_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ActionItem.objects.select_related("product"), pk=pk)
    if item.product is not None and not can(request.user, Capability.VIEW, item.product):
        raise Http404("No such action item")
    back = request.POST.get("week", "")
    try:
        action_item_update(
            item=item,
            actor=request.user,
            owner=request.POST.get("owner") if "owner" in request.POST else None,
            due_on=_date(request.POST["due_on"]) if "due_on" in request.POST else UNCHANGED,
            state=request.POST.get("state") or None,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Action item updated: %(title)s") % {"title": item.title})
    return redirect(week_url(_back(back), f"action-{item.pk}"))


@require_POST
@viewer_required
def review_timer(request: HtmxHttpRequest, year: int, week: int) -> HttpResponse:
    current = _week(year, week)
    review = WeeklyReview.objects.filter(year=current.year, week=current.week).first()
    if not weekly_review_timer_allowed(review=review, actor=request.user):
        raise PermissionDenied(
            "Only a PM/PO or the review's facilitator may start or restart the 15 minutes."
        )
    try:
        weekly_review_timer_start(year=current.year, week=current.week, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    return redirect(week_url(current, "timer"))


@require_POST
@viewer_required
def rehearsal_create_view(request: HtmxHttpRequest) -> HttpResponse:
    """Record a timed release rehearsal (QA of the product) or rollback rehearsal (DevOps)."""
    product = get_object_or_404(Product, slug=request.POST.get("product", ""))
    if not can(request.user, Capability.VIEW, product):
        raise Http404("No such product")
    kind, kinds = request.POST.get("kind", ""), _recorder_kinds(request.user, product)
    if not kinds or (kind in REHEARSAL_RECORDERS and kind not in kinds):
        raise PermissionDenied("This action needs a role you do not hold.")
    back = _back(request.POST.get("week", ""))
    try:
        performed_on = _date(request.POST.get("performed_on"))
        if performed_on is None:
            raise RuleViolation(
                "date_invalid", _("Give the day of the rehearsal (YYYY-MM-DD)."), field="performed_on"
            )
        rehearsal_record(
            product=product,
            kind=kind,
            performed_on=performed_on,
            minutes=minutes_parse(request.POST.get("minutes", "")),
            outcome=request.POST.get("outcome", ""),
            notes=request.POST.get("notes", "").strip(),
            actor=request.user,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Rehearsal recorded for %(product)s.") % {"product": product.slug})
    return redirect(week_url(back, "q3"))


def _charts(data: Trends) -> dict[str, Any]:
    labels = [w.week.short for w in data.weeks]
    hours, minutes, percent = " " + pgettext("unit", "h"), " " + pgettext("unit", "min"), " %"
    charts: dict[str, Any] = {
        "failures": bar_chart(
            title=_("Gate failures per week"), labels=labels, values=[w.failure_total for w in data.weeks]
        ),
        "flaky": bar_chart(
            title=_("Flaky failures per week (passed on a re-run)"),
            labels=labels,
            values=[w.flaky_total for w in data.weeks],
        ),
        "deploys": bar_chart(
            title=_("Deploy frequency: releases fully rolled out"),
            labels=labels,
            values=[w.deploys for w in data.weeks],
        ),
        "lead_time": bar_chart(
            title=_("Lead time, commit to full rollout (median hours)"),
            labels=labels,
            values=[w.lead_time_hours for w in data.weeks],
            unit=hours,
        ),
        "failure_rate": bar_chart(
            title=_("Change failure rate (%)"),
            labels=labels,
            values=[w.change_failure_percent for w in data.weeks],
            unit=percent,
        ),
        "restore": bar_chart(
            title=_("Time to restore (median minutes)"),
            labels=labels,
            values=[w.restore_median_minutes for w in data.weeks],
            unit=minutes,
        ),
    }
    charts["rollbacks"] = [
        (
            product,
            [(w.week, m) for w, m in zip(data.weeks, worst, strict=True) if m is not None],
            bar_chart(
                title=_("%(product)s: slowest rollback per week (minutes)") % {"product": product.slug},
                labels=labels,
                values=worst,
                unit=minutes,
                target=product.rollback_target_minutes,
                target_label=_("target %(n)s min") % {"n": product.rollback_target_minutes},
            ),
        )
        for product, worst in data.rollback_rows()
    ]
    return charts


@require_GET
@viewer_required
def review_trends(request: HtmxHttpRequest, year: int, week: int) -> HttpResponse:
    """The twelve weeks up to this one: failures, flaky gates, rollback minutes, DORA."""
    current = _week(year, week)
    data = trends(current, viewable_products(request.user))
    return render(
        request,
        "reviews/trends.html",
        {"week": current, "trends": data, "charts": _charts(data), "hotfix_days": HOTFIX_DAYS},
    )
