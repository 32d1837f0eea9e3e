"""The events other apps emit for alerts, where they happen: the call (decision.go /
decision.no_go), a waiver asked, a waiver expiring within 24 hours (once), a critical
defect reported, reopened or raised, an action item overdue (once)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from board.decisions import release_decide
from checklists.defects import defect_reopen, defect_report, defect_resolve, defect_sync
from gates.services import gate_result_record, waiver_approve, waiver_request, waivers_expiring_announce
from notifications.models import Delivery
from operations.services import health_sample_record
from releases.models import Release
from reviews.models import ActionItem
from reviews.services import action_items_overdue_announce

from ..releases.builders import build_world
from .conftest import Queued, pagerduty_channel, slack_channel

pytestmark = pytest.mark.django_db


def events(prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    return [(d.event, d.data["event"]) for d in Delivery.objects.order_by("pk") if d.event.startswith(prefix)]


def test_the_call_is_announced(make_user: Any, queued: Queued) -> None:
    world = build_world(make_user)
    slack_channel()
    release_decide(release=world.release, outcome="go", actor=world.pm, rationale="all green")
    assert events() == [("decision.go", {"by": world.pm.get_username(), "rationale": "all green"})]
    delivery = Delivery.objects.get()
    assert delivery.release == world.release and delivery.requested_by == world.pm


def test_a_no_go_is_announced_with_its_reason(make_user: Any, queued: Queued) -> None:
    world = build_world(make_user, ready=False)
    slack_channel()
    release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale="crash on login")
    assert events() == [("decision.no_go", {"by": world.pm.get_username(), "rationale": "crash on login"})]


def test_a_waiver_asked_and_one_expiring_within_a_day_once(make_user: Any, queued: Queued) -> None:
    world = build_world(make_user, ready=False)
    slack_channel()
    gate = world.gates[0]
    gate_result_record(release=world.release, gate=gate, status="failed", run_id="f")
    expires = timezone.now() + timedelta(hours=30)
    waiver = waiver_request(
        release=world.release,
        gate=gate,
        actor=world.lead,
        reason="flaky",
        risk="r",
        mitigation="m",
        expires_at=expires,
    )
    ((event, data),) = events("waiver.")
    assert event == "waiver.requested"
    assert data == {
        "gate": gate.key,
        "gate_name": gate.name,
        "by": world.lead.get_username(),
        "reason": "flaky",
        "expires_at": expires.isoformat(),
    }
    waiver_approve(waiver=waiver, actor=make_user("pm", product=world.product))
    assert waivers_expiring_announce() == []  # 30 hours away: not yet
    later = timezone.now() + timedelta(hours=7)
    assert waivers_expiring_announce(now=later) == [waiver.pk]
    assert waivers_expiring_announce(now=later + timedelta(hours=1)) == []  # once
    event, data = events("waiver.")[-1]
    assert (event, data["gate_name"]) == ("waiver.expiring", gate.name)
    assert Delivery.objects.filter(event="waiver.expiring").count() == 1


def test_a_critical_defect_reported_reopened_or_raised(make_user: Any, queued: Queued) -> None:
    world = build_world(make_user)
    slack_channel()
    defect_report(release=world.release, title="minor typo", severity="minor", actor=world.qa)
    critical = defect_report(
        release=world.release,
        title="Crash on login",
        severity="critical",
        actor=world.qa,
        tracker_url="https://bugs.example.com/1",
    )
    defect_resolve(defect=critical, actor=world.qa, resolution="Fixed in build 11.")
    defect_reopen(defect=critical, actor=world.qa)
    defect_sync(
        release=world.release,
        title="Search empty",
        severity="major",
        tracker_url="https://bugs.example.com/2",
        actor_label="token:jira",
    )
    defect_sync(
        release=world.release,
        title="Search empty",
        severity="critical",
        tracker_url="https://bugs.example.com/2",
        actor_label="token:jira",
    )
    found = [(e, d["title"], d.get("by")) for e, d in events()]
    assert found == [
        ("defect.critical", "Crash on login", world.qa.get_username()),
        ("defect.critical", "Crash on login", world.qa.get_username()),
        ("defect.critical", "Search empty", "token:jira"),
    ]
    assert events()[0][1]["url"] == "https://bugs.example.com/1"


def test_an_overdue_action_item_is_announced_once(make_user: Any, queued: Queued) -> None:
    world = build_world(make_user)
    slack_channel()
    today = date(2026, 12, 1)
    late = ActionItem.objects.create(
        title="Fix flaky login test",
        owner=world.qa,
        due_on=today - timedelta(days=1),
        product=world.product,
        created_by=world.pm,
        created_at=timezone.now(),
    )
    ActionItem.objects.create(title="due today", due_on=today, created_by=world.pm, created_at=timezone.now())
    ActionItem.objects.create(
        title="done",
        due_on=today - timedelta(days=3),
        state="done",
        done_by=world.pm,
        done_at=timezone.now(),
        created_by=world.pm,
        created_at=timezone.now(),
    )
    assert action_items_overdue_announce(today=today) == [late.pk]
    assert action_items_overdue_announce(today=today) == []  # once
    assert events() == [
        (
            "action_item.overdue",
            {"title": "Fix flaky login test", "owner": world.qa.get_username(), "due": "2026-11-30"},
        )
    ]
    assert Delivery.objects.get().product == world.product


def test_a_breach_after_the_rollout_tells_the_chat_but_pages_nobody(make_user: Any, queued: Queued) -> None:
    """PagerDuty pages only while the rollout runs, where a resume, a rollback or the full
    rollout resolves the incident; a breach after release is told to the chat channels."""
    world = build_world(make_user)
    Release.objects.filter(pk=world.release.pk).update(state="released", rollout_percent=100)
    slack_channel()
    paging = pagerduty_channel()
    health_sample_record(release=Release.objects.get(pk=world.release.pk), error_rate=0.5)
    sent = [(d.channel_id, d.event, d.data["event"].get("state")) for d in Delivery.objects.order_by("pk")]
    assert [e for _c, e, _s in sent] == ["health.breach"]
    assert sent[0][0] != paging.pk and sent[0][2] == "released"
