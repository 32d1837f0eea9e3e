"""Template helpers for the board: status words with their symbol, and blocker links."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from releases.verdict import Blocker

register = template.Library()

# Colour is never alone: every status has a symbol and a word.
STATUS = {
    "passed": ("✓", _("Passed"), "ok"),
    "failed": ("✗", _("Failed"), "bad"),
    "error": ("!", _("Error"), "bad"),
    "skipped": ("⤼", _("Skipped"), "warn"),
    "running": ("↻", _("Running"), "info"),
    "pending": ("◷", _("Waiting"), "info"),
    "waived": ("≈", _("Waived"), "warn"),
    "none": ("—", _("No result yet"), "muted"),
    "open": ("○", _("Not checked"), "muted"),
    "blocked": ("⊘", _("Blocked"), "bad"),
    "n/a": ("–", _("Not applicable"), "muted"),  # noqa: RUF001 (an en dash reads as "none")
    "go": ("✓", _("Go"), "ok"),
    "no_go": ("✗", _("No-Go"), "bad"),
    "unsigned": ("◷", _("Not signed yet"), "muted"),
}


@register.inclusion_tag("releases/_status.html")
def status_chip(status: str | None) -> dict[str, object]:
    symbol, label, tone = STATUS.get(status or "none", STATUS["none"])
    return {"symbol": symbol, "label": label, "tone": tone}


@register.filter
def blocker_anchor(blocker: Blocker) -> str:
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


@register.filter
def message(blocker: Blocker) -> str:
    return blocker.message()
