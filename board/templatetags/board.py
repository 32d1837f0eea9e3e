"""Template helpers for the board: status words with their symbol, and blocker links."""

from __future__ import annotations

from typing import Any

from django import template
from django.db import models
from django.utils.html import format_html

from accounts.models import Role
from board.fixes import fix_links
from board.promote import Promotion, promotion_for
from board.verdict import Blocker
from checklists.models import DefectState, ItemState, Severity
from core.status import STATUS
from gates.models import ResultSource, WaiverState
from operations.models import HealthSample
from releases.health_words import METRICS, metric_label, source_label, value_text
from releases.models import ReleaseState

register = template.Library()


@register.simple_tag
def status_chip(status: str | None) -> str:
    """A status as a chip: symbol, word and colour together."""
    symbol, label, tone = STATUS.get(status or "none", STATUS["none"])
    return format_html(
        '<span class="chip chip-{}"><span aria-hidden="true">{}</span> {}</span>', tone, symbol, label
    )


def blocker_anchor_id(blocker: Blocker) -> str:
    """The DOM id on the board that a blocker points at."""
    if blocker.target == "gate":
        return f"gate-{blocker.target_id}"
    if blocker.target == "defect":
        return f"defect-{blocker.target_id}"
    if blocker.target == "checklist_item":
        return f"item-{blocker.target_id}"
    if blocker.target == "signoff":
        return f"signoff-{blocker.target_id}"
    return "operations"


register.filter("blocker_anchor", blocker_anchor_id)


@register.simple_tag(takes_context=True)
def blocker_links(context: template.Context, board: Any) -> list[dict[str, Any]]:
    """`{% blocker_links board as blockers %}`: each blocker with where it is fixed and,
    when the viewer may not fix it, who may (board.fixes)."""
    request = context.get("request")
    return fix_links(board, getattr(request, "user", None))


@register.simple_tag(takes_context=True)
def promotion(context: template.Context, release: Any) -> Promotion | None:
    """`{% promotion release as promo %}`: a draft's "make it a candidate" for the viewer."""
    request = context.get("request")
    return promotion_for(release, getattr(request, "user", None))


def _labels(choices: type[models.TextChoices]) -> dict[str, object]:
    return {value: label for value, label in choices.choices}


# Choice labels by value: cheaper than get_FOO_display(), which rebuilds its lookup each call.
LABELS: dict[str, dict[str, object]] = {
    "role": _labels(Role),
    "release_state": _labels(ReleaseState),
    "source": _labels(ResultSource),
    "severity": _labels(Severity),
    "waiver_state": _labels(WaiverState),
    # An item's outcome in the words of its chip: "open" is "Not checked" everywhere.
    "item_state": {value: STATUS[value][1] for value in ItemState.values},
    "defect_state": _labels(DefectState),
}


@register.filter
def label(value: str, kind: str) -> object:
    """`{{ gate.owner_role|label:"role" }}` → the translated label of a choice value."""
    return LABELS[kind].get(value, value)


@register.filter
def translate_title(value: str) -> str:
    """A title from the policy file, in the active language (as `{% translate title %}`)."""
    from django.utils.translation import gettext

    return gettext(value) if value else value


@register.filter
def get_item(mapping: object, key: str) -> object:
    """`{{ notes|get_item:"q1" }}`: a dictionary value by a key held in a variable."""
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.filter
def health_source(value: str) -> str:
    """A health sample's source in words: "Prometheus", "pushed by monitoring"."""
    return source_label(value)


@register.filter
def sample_values(sample: HealthSample) -> list[tuple[str, str]]:
    """A sample's values as (metric in words, value in its unit), the bounded ones first."""
    return [
        (metric_label(metric), value_text(metric, getattr(sample, metric)))
        for metric in METRICS
        if getattr(sample, metric) is not None
    ]
