"""Announcing changes to open boards. Services call `live_notify` inside their transaction;
the event is sent only after commit, so a browser never re-reads uncommitted state."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from . import bus

# Which board panels a change touches. The verdict, sign-offs (staleness) and the decision
# (staleness) depend on almost everything, so most changes refresh them too.
DEPENDENT = ("verdict", "signoffs", "decision")
PANELS_FOR = {
    "gate_result": ("gates", *DEPENDENT),
    "signoff": ("signoffs", "verdict", "decision"),
    "decision": ("decision", "verdict", "header"),
    "waiver": ("waivers", "gates", *DEPENDENT),
    "checklist": ("checklist", "gates", *DEPENDENT),
    "defect": ("defects", "gates", *DEPENDENT),
    "release": ("header", "gates", "checklist", "waivers", *DEPENDENT),
    "meeting": ("meeting",),
    "operations": ("operations", *DEPENDENT),
}
# Every panel a release's pages show (board, meeting, checklist), and the dashboard's. A
# panel is re-fetched on its event (`live.templatetags.live.live_panel`).
RELEASE_PANELS = frozenset(panel for panels in PANELS_FOR.values() for panel in panels)
DASHBOARD_PANELS = ("releases", "failed")


def live_notify(*, release_id: int | None, change: str, extra: Iterable[str] = ()) -> None:
    """After commit, tell boards of `release_id` which panels to re-fetch, and dashboards
    that a release changed."""
    panels = list(dict.fromkeys([*PANELS_FOR[change], *extra]))

    def send() -> None:
        if release_id is not None:
            bus.publish(f"release:{release_id}", panels)
        bus.publish("dashboard", list(DASHBOARD_PANELS) if change == "gate_result" else ["releases"])

    transaction.on_commit(send)
