"""Reads for a product's page: its releases in progress and its history, a fixed number
of queries per page whatever the number of releases."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from operations.models import Rollback
from releases.models import ACTIVE_STATES, Product, Release, ReleaseState

HISTORY_PER_PAGE = 25
# A release whose story is told: decided No-Go, or past its rollout, or cancelled. A
# No-Go release may take a new build and become a candidate again (then it is in
# progress once more, no longer history).
FINISHED_STATES = (
    ReleaseState.RELEASED,
    ReleaseState.ROLLED_BACK,
    ReleaseState.CANCELLED,
    ReleaseState.NO_GO,
)
IN_PROGRESS_STATES = ACTIVE_STATES - {ReleaseState.NO_GO}
# Each finished state's symbol and tone: never colour alone.
STATE_MARKS: dict[str, tuple[str, str]] = {
    ReleaseState.RELEASED: ("✓", "ok"),
    ReleaseState.ROLLED_BACK: ("↺", "bad"),
    ReleaseState.CANCELLED: ("✗", "muted"),
    ReleaseState.NO_GO: ("✗", "bad"),
}


@dataclass(frozen=True)
class HistoryRow:
    """One finished release as the history lists it."""

    release: Release
    rollback: Rollback | None

    @property
    def symbol(self) -> str:
        return STATE_MARKS.get(self.release.state, ("—", "muted"))[0]

    @property
    def tone(self) -> str:
        return STATE_MARKS.get(self.release.state, ("—", "muted"))[1]

    @property
    def rollback_within_target(self) -> bool | None:
        if self.rollback is None:
            return None
        return self.rollback.minutes <= self.release.product.rollback_target_minutes


def releases_in_progress(product: Product) -> QuerySet[Release]:
    return Release.objects.filter(product=product, state__in=IN_PROGRESS_STATES).order_by("-build_number")


def release_history(product: Product, page: str | int | None) -> tuple[Page[Release], list[HistoryRow]]:
    """Page `page` (25 a page; out of range: the nearest) of the product's finished
    releases, newest first, each with its rollback: two queries (the count and the page)."""
    finished = (
        Release.objects.filter(product=product, state__in=FINISHED_STATES)
        .select_related("product", "rollback")
        .order_by("-state_changed_at", "-id")
    )
    current = Paginator(finished, HISTORY_PER_PAGE).get_page(page)
    rows = [HistoryRow(r, getattr(r, "rollback", None)) for r in current.object_list]
    return current, rows
