"""Announcing changes to open boards. Services call `live_notify` inside their transaction;
the event is sent only after commit, so a browser never re-reads uncommitted state."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from core.panel_cache import versions_bump_on_commit

from . import bus

# Which board panels a change touches. The verdict, sign-offs (staleness) and the decision
# (staleness) depend on almost everything, so most changes refresh them too.
DEPENDENT = ("verdict", "signoffs", "decision")
PANELS_FOR = {
    # A smoke result after deploy decides whether the rollout may advance: "operations" too,
    # so a refusal shown there ("has not passed yet") goes away when the result arrives.
    "gate_result": ("gates", "operations", *DEPENDENT),
    "signoff": ("signoffs", "verdict", "decision"),
    "decision": ("decision", "verdict", "header"),
    "waiver": ("waivers", "gates", *DEPENDENT),
    "checklist": ("checklist", "gates", *DEPENDENT),
    "defect": ("defects", "gates", *DEPENDENT),
    "release": ("header", "gates", "checklist", "waivers", "flags", "stores", *DEPENDENT),
    "meeting": ("meeting",),
    "operations": ("operations", "flags", "stores", *DEPENDENT),
    # A feature flag's state or a kill (flags/): its panel, and the halted banner that
    # suggests the release's flags.
    "flag": ("flags", "verdict", "operations"),
    # A store's rollout read back or a step's answer (stores/): Google Play, App Store.
    "store": ("stores", "verdict", "operations"),
    # The weekly review's page (templates/reviews/review.html): an action item shows in Q1
    # (its failure's "Action item created"), Q2 (fixes) and Q4 (prevention changes).
    "action_item": ("q1", "q2", "q4"),
}
# Changes that concern the weekly review, not a release: sent on REVIEW_TOPIC, to every
# open review page (board/streams.py `review_events`).
REVIEW_CHANGES = frozenset({"action_item"})
REVIEW_TOPIC = "reviews"
REVIEW_PANELS = frozenset(panel for change in REVIEW_CHANGES for panel in PANELS_FOR[change])
# Every panel a release's pages show (board, meeting, checklist), and the dashboard's. A
# panel is re-fetched on its event (`live.templatetags.live.live_panel`).
RELEASE_PANELS = frozenset(
    panel for change, panels in PANELS_FOR.items() if change not in REVIEW_CHANGES for panel in panels
)
# The dashboard's: "waiting" (board/waiting.py) is per viewer, refreshed on every change.
DASHBOARD_PANELS = ("waiting", "releases", "failed")


def live_notify(*, release_id: int | None, change: str, extra: Iterable[str] = ()) -> None:
    """After commit, tell boards of `release_id` which panels to re-fetch, and dashboards
    that a release changed (a weekly review's change: every open review page)."""
    panels = list(dict.fromkeys([*PANELS_FOR[change], *extra]))

    def send() -> None:
        if change in REVIEW_CHANGES:
            bus.publish(REVIEW_TOPIC, panels)
            bus.publish("dashboard", ["waiting"])  # an owner's action items due
            return
        if release_id is not None:
            bus.publish(f"release:{release_id}", panels)
        bus.publish(
            "dashboard", list(DASHBOARD_PANELS) if change == "gate_result" else ["waiting", "releases"]
        )

    if release_id is not None:
        # First the cached panels go stale (registered first: it runs first), then the
        # boards hear (core/panel_cache.py).
        versions_bump_on_commit({release_id})
    transaction.on_commit(send)
