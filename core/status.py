"""Status words with their symbol and tone, as every page shows them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

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


def status_word(status: str) -> str:
    """The word every page shows for a status, in the active language: a checklist item
    still "open" is "Not checked" there, and in the exports too."""
    return str(STATUS.get(status, STATUS["none"])[1])
