"""The weekly review's week as a spreadsheet: one row per fact."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.permissions import viewer_required
from core.http import HtmxHttpRequest, csv_download
from releases.selectors import viewable_products

from .selectors import weekly_answers
from .views import _week

CSV_FIELDS = ["question", "product", "gate", "release", "what", "who", "when", "state", "minutes", "target"]


@require_GET
@viewer_required
def review_csv(request: HtmxHttpRequest, year: int, week: int) -> HttpResponse:
    """The week's data, one row per fact, for a spreadsheet: failures (Q1), waivers, action
    items (Q2), rollback readiness (Q3), prevention changes (Q4)."""
    answers = weekly_answers(_week(year, week), viewable_products(request.user))

    def local(moment: Any) -> str:
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""

    rows: list[dict[str, str]] = []
    for group in answers.failures:
        flaky = {r.pk for r in group.flaky}
        for result in group.failures:
            rows.append(
                {
                    "question": _("Q1 failure"),
                    "product": group.product.slug,
                    "gate": group.gate.key,
                    "release": result.release.version,
                    "what": result.summary,
                    "when": local(result.observed_at),
                    "state": _("%(status)s (flaky)") % {"status": result.status}
                    if result.pk in flaky
                    else result.status,
                }
            )
    for waiver in answers.waivers:
        rows.append(
            {
                "question": _("Q1 waiver"),
                "product": waiver.release.product.slug,
                "gate": waiver.gate.key,
                "release": waiver.release.version,
                "what": waiver.reason,
                "who": waiver.decided_by.get_username() if waiver.decided_by else "",
                "when": local(waiver.decided_at),
                "state": waiver.state,
            }
        )
    for label, items in (
        (_("Q2 action"), answers.actions),
        (_("Q4 prevention done"), answers.prevention_done),
        (_("Q4 prevention open"), answers.prevention_open),
    ):
        for item in items:
            rows.append(
                {
                    "question": label,
                    "product": item.product.slug if item.product else "",
                    "gate": item.gate.key if item.gate else "",
                    "what": item.title,
                    "who": item.owner.get_username() if item.owner else "",
                    "when": item.due_on.isoformat() if item.due_on else "",
                    "state": _("overdue") if item in answers.overdue else item.state,
                }
            )
    for row in answers.readiness:
        rehearsal, rollback = row.last_rehearsal, row.last_rollback
        rows.append(
            {
                "question": _("Q3 rollback rehearsal"),
                "product": row.product.slug,
                "when": rehearsal.performed_on.isoformat() if rehearsal else "",
                "state": rehearsal.outcome if rehearsal else _("none on record"),
                "minutes": str(rehearsal.minutes) if rehearsal else "",
                "target": str(row.product.rollback_target_minutes),
            }
        )
        if rollback:
            rows.append(
                {
                    "question": _("Q3 real rollback"),
                    "product": row.product.slug,
                    "release": rollback.release.version,
                    "what": rollback.notes,
                    "when": local(rollback.rolled_back_at),
                    "minutes": str(rollback.minutes),
                    "target": str(row.product.rollback_target_minutes),
                }
            )
    full = [{field: row.get(field, "") for field in CSV_FIELDS} for row in rows]
    return csv_download(full, CSV_FIELDS, f"weekly-review-{answers.week.label}.csv")
