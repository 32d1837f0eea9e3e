"""The weekly review page: the four questions, action items, the meeting's minutes."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import can_view, viewer_required
from gonogo.errors import DomainError
from gonogo.http import HtmxHttpRequest
from releases.models import Product

from .models import ActionItem, ActionKind
from .selectors import Week, failure_lookup, reviews_held, weekly_answers
from .services import QUESTIONS, UNCHANGED, action_item_create, action_item_update, weekly_review_save


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


def _context(request: HtmxHttpRequest, week: Week) -> dict[str, Any]:
    products = [p for p in Product.objects.order_by("slug") if can_view(request.user, p)]
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
        "held": reviews_held(),
    }


@require_GET
@viewer_required
def review_current(request: HtmxHttpRequest) -> HttpResponse:
    return redirect(week_url(Week.of()))


@require_GET
@viewer_required
def review_week(request: HtmxHttpRequest, year: int, week: int) -> HttpResponse:
    return render(request, "reviews/review.html", _context(request, _week(year, week)))


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
        if failure is None or not can_view(request.user, failure.release.product):
            raise Http404("No such failure")
    back = request.POST.get("week", "")
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
    if item.product is not None and not can_view(request.user, item.product):
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
