"""The weekly review answers the four questions from data: every number checked against
data made here, including a week boundary in a non-UTC display time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from gates.services import gate_result_record, waiver_approve, waiver_request
from operations.services import rehearsal_record
from reviews.models import ActionItem, WeeklyReview
from reviews.selectors import Week, weekly_answers

from ..releases.builders import build_world

W47 = Week(2026, 47)  # Monday 16 to Sunday 22 November 2026


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def seoul(settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Seoul"
    timezone.activate("Asia/Seoul")
    yield
    timezone.deactivate()


@pytest.fixture
def world(make_user: Any, seoul: None) -> Any:
    w = build_world(make_user, ready=False)
    gate, other = w.gates
    commit = w.release.commit_sha
    record = gate_result_record
    # 00:30 Monday in Seoul is still Sunday in UTC: it belongs to W47 here.
    record(release=w.release, gate=gate, status="failed", run_id="a", observed_at=at("2026-11-15T15:30:00"))
    record(
        release=w.release, gate=gate, status="passed", run_id="b", observed_at=at("2026-11-16T03:00:00")
    )  # flaky
    record(release=w.release, gate=other, status="error", run_id="c", observed_at=at("2026-11-18T09:00:00"))
    # 00:30 Monday 23rd in Seoul: W48, not this week, although it is the 22nd in UTC.
    record(release=w.release, gate=other, status="failed", run_id="d", observed_at=at("2026-11-22T15:30:00"))
    # The Sunday before, 23:00 in Seoul: W46.
    record(release=w.release, gate=gate, status="failed", run_id="e", observed_at=at("2026-11-15T14:00:00"))
    w.commit = commit
    return w


def test_q1_failures_of_the_week_in_the_display_time_zone(world: Any) -> None:
    answers = weekly_answers(W47, [world.product])
    assert W47.start.isoformat() == "2026-11-16T00:00:00+09:00"
    by_gate = {g.gate.key: g for g in answers.failures}
    assert {k: len(g.failures) for k, g in by_gate.items()} == {world.gates[0].key: 1, world.gates[1].key: 1}
    assert answers.failure_count == 2
    assert len(by_gate[world.gates[0].key].flaky) == 1  # failed, then passed on the same commit
    assert by_gate[world.gates[1].key].flaky == []
    assert by_gate[world.gates[0].key].releases == [world.release]
    assert [len(g.failures) for g in weekly_answers(Week(2026, 48), [world.product]).failures] == [1]


def test_q1_waivers_used_that_week(world: Any, make_user: Any) -> None:
    # A waiver is only for a gate that has failed (for this build).
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="q1-now")
    waiver = waiver_request(
        release=world.release,
        gate=world.gates[0],
        actor=world.lead,
        reason="flaky device farm",
        risk="r",
        mitigation="m",
    )
    waiver_approve(waiver=waiver, actor=world.pm)
    this_week = weekly_answers(Week.of(), [world.product])
    assert [w.reason for w in this_week.waivers] == ["flaky device farm"]
    assert weekly_answers(W47, [world.product]).waivers == []


def test_q2_action_from_a_failure_assigned_and_overdue(client: Client, world: Any) -> None:
    client.force_login(world.qa)
    failure = weekly_answers(W47, [world.product]).failures[0].failures[0]
    response = client.post(reverse("reviews:action_create"), {"failure": failure.pk, "week": W47.label})
    assert response.status_code == 302 and "#action-" in response["Location"]
    item = ActionItem.objects.get()
    assert (item.gate, item.product, item.failure) == (failure.gate, world.product, failure)
    assert failure.gate.name in item.title
    yesterday = timezone.localdate() - timedelta(days=1)
    client.post(
        reverse("reviews:action_update", kwargs={"pk": item.pk}),
        {"owner": world.lead.username, "due_on": yesterday.isoformat(), "week": W47.label},
    )
    item.refresh_from_db()
    assert (item.owner, item.due_on) == (world.lead, yesterday)
    answers = weekly_answers(Week.of(), [world.product])
    assert answers.overdue == [item]
    page = client.get(
        reverse("reviews:week", kwargs={"year": Week.of().year, "week": Week.of().week})
    ).content.decode()
    assert f'id="action-{item.pk}"' in page and "overdue" in page


def test_q3_rollback_target_beside_the_last_rehearsal(world: Any) -> None:
    world.product.rollback_target_minutes = 10
    world.product.save()
    rehearsal_record(
        product=world.product,
        kind="rollback",
        performed_on=date(2026, 11, 20),
        minutes=14,
        outcome="passed",
        actor=world.devops,
    )
    row = weekly_answers(W47, [world.product]).readiness[0]
    assert (row.product.rollback_target_minutes, row.last_rehearsal.minutes, row.within_target) == (
        10,
        14,
        False,
    )
    # A rehearsal after the week is not what that week knew.
    earlier = weekly_answers(Week(2026, 40), [world.product]).readiness[0]
    assert earlier.last_rehearsal is None or earlier.last_rehearsal.performed_on < date(2026, 10, 5)


def test_q4_prevention_done_this_week_and_open(client: Client, world: Any) -> None:
    client.force_login(world.pm)
    this = Week.of()
    for title in ("Retry the device farm once", "Pin the simulator version"):
        client.post(
            reverse("reviews:action_create"), {"kind": "prevention", "title": title, "week": this.label}
        )
    first = ActionItem.objects.get(title="Retry the device farm once")
    client.post(
        reverse("reviews:action_update", kwargs={"pk": first.pk}), {"state": "done", "week": this.label}
    )
    answers = weekly_answers(this, [world.product])
    assert [a.title for a in answers.prevention_done] == ["Retry the device farm once"]
    assert [a.title for a in answers.prevention_open] == ["Pin the simulator version"]
    assert weekly_answers(this.shifted(1), [world.product]).prevention_done == []


def test_only_owner_creator_or_pm_closes_an_action(client: Client, world: Any, make_user: Any) -> None:
    client.force_login(world.qa)
    client.post(reverse("reviews:action_create"), {"title": "Fix it", "owner": world.lead.username})
    item = ActionItem.objects.get()
    stranger = make_user(Role.DEVOPS, product=world.product)
    client.force_login(stranger)
    client.post(reverse("reviews:action_update", kwargs={"pk": item.pk}), {"state": "done"})
    item.refresh_from_db()
    assert item.state == "open"
    client.force_login(world.lead)
    client.post(reverse("reviews:action_update", kwargs={"pk": item.pk}), {"state": "done"})
    item.refresh_from_db()
    assert (item.state, item.done_by) == ("done", world.lead)


def test_minutes_hold_all_four_answers(client: Client, world: Any) -> None:
    client.force_login(world.pm)
    client.post(
        reverse("reviews:action_create"), {"kind": "prevention", "title": "Pin the simulator version"}
    )
    client.post(
        reverse("reviews:save", kwargs={"year": W47.year, "week": W47.week}),
        {"attendees": [world.pm.username, world.qa.username], "q1": "Device farm flaked twice", "end": "1"},
    )
    text = client.get(
        reverse("reviews:minutes", kwargs={"year": W47.year, "week": W47.week})
    ).content.decode()
    for heading in ("Q1.", "Q2.", "Q3.", "Q4."):
        assert f"## {heading}" in text
    assert world.gates[0].name in text and "1 passed on a re-run" in text
    assert "Device farm flaked twice" in text and world.qa.username in text
    assert f"{world.product.slug}: 15 min" in text
    # An ended review's notes no longer change.
    client.post(reverse("reviews:save", kwargs={"year": W47.year, "week": W47.week}), {"q1": "rewritten"})
    again = client.get(
        reverse("reviews:minutes", kwargs={"year": W47.year, "week": W47.week})
    ).content.decode()
    assert "rewritten" not in again


def test_action_items_of_products_one_cannot_see_stay_hidden(
    client: Client, world: Any, make_user: Any
) -> None:
    from releases.models import Product

    hidden = Product.objects.create(slug="secret-app", name="Secret", platform="ios")
    ActionItem.objects.create(
        title="Secret fix", product=hidden, created_by=world.pm, created_at=timezone.now()
    )
    answers = weekly_answers(Week.of(), [world.product])
    assert "Secret fix" not in [a.title for a in answers.actions]


def test_a_due_date_can_be_cleared(client: Client, world: Any) -> None:
    client.force_login(world.pm)
    client.post(reverse("reviews:action_create"), {"title": "Fix it", "due_on": "2026-12-01"})
    item = ActionItem.objects.get()
    assert item.due_on == date(2026, 12, 1)
    client.post(reverse("reviews:action_update", kwargs={"pk": item.pk}), {"due_on": ""})
    item.refresh_from_db()
    assert item.due_on is None
    assert client.get("/reviews/9999-W52/").status_code == 404  # not an error page
    assert client.get("/reviews/2026-W54/").status_code == 404


def test_the_timer_runs_from_one_start_on_every_screen(client: Client, world: Any, make_user: Any) -> None:
    now = Week.of()
    url = reverse("reviews:week", kwargs={"year": now.year, "week": now.week})
    client.force_login(world.pm)  # the PM/PO runs the meeting (tests/reviews/test_review_roles.py)
    page = client.get(url).content.decode()
    assert "data-started-at" not in page and "Start the 15 minutes" in page
    assert [int(m) for m in re.findall(r'data-minutes="(\d+)"', page)] == [5, 4, 2, 4]
    assert [int(m) for m in re.findall(r'data-from="(\d+)"', page)] == [0, 5, 9, 11]
    assert 'data-total-minutes="15"' in page and 'hx-trigger="every 15s"' in page
    client.post(reverse("reviews:timer", kwargs={"year": now.year, "week": now.week}))
    review = WeeklyReview.objects.get(year=now.year, week=now.week)
    assert review.timer_started_at is not None
    started = review.timer_started_at.astimezone(UTC).isoformat(timespec="seconds")
    # Another screen, already open, polls the timer panel and learns of the start.
    other = Client()
    other.force_login(world.pm)
    panel = other.get(url, headers={"HX-Request": "true", "HX-Target": "timer"}).content.decode()
    assert panel.lstrip().startswith('<section class="panel timer"') and "<html" not in panel
    assert f'data-started-at="{started}"' in panel and "Restart the 15 minutes" in panel


def test_the_timer_is_for_this_weeks_review(client: Client, world: Any) -> None:
    far = Week.of().shifted(-5)
    assert far is not None
    client.force_login(world.pm)
    response = client.post(reverse("reviews:timer", kwargs={"year": far.year, "week": far.week}), follow=True)
    assert "The timer runs for this week" in response.content.decode()
    assert "Start the 15 minutes" not in response.content.decode()
    assert not WeeklyReview.objects.filter(year=far.year, week=far.week).exists()


def test_no_minutes_for_weeks_that_have_not_come(client: Client, world: Any) -> None:
    later = Week.of().shifted(3)
    assert later is not None
    client.force_login(world.pm)
    url = reverse("reviews:save", kwargs={"year": later.year, "week": later.week})
    response = client.post(url, {"q1": "notes"}, follow=True)
    assert "That week has not come yet" in response.content.decode()
    assert not WeeklyReview.objects.exists()


def test_a_rehearsal_is_recorded_from_q3(client: Client, world: Any, make_user: Any) -> None:
    url = reverse("reviews:rehearsal_create")
    data = {
        "product": world.product.slug,
        "kind": "rollback",
        "performed_on": "2026-11-19",
        "minutes": "8",
        "outcome": "passed",
        "notes": "staging, flag off",
        "week": "2026-W47",
    }
    for nobody in (world.qa, world.pm):  # QA records release rehearsals only; the PM/PO neither
        client.force_login(nobody)
        assert client.post(url, data).status_code == 403
    outsider = make_user(Role.DEVOPS, product=build_world(make_user).product)
    client.force_login(outsider)  # DevOps of another product
    assert client.post(url, data).status_code == 404
    client.force_login(world.devops)
    response = client.post(url, {**data, "minutes": "eight"}, follow=True)
    assert "whole number from 0 to 10080" in response.content.decode()
    response = client.post(url, data)
    assert response["Location"].endswith("/reviews/2026-W47/#q3")
    row = weekly_answers(W47, [world.product]).readiness[0]
    assert (row.last_rehearsal.minutes, row.last_rehearsal.notes, row.last_rehearsal.recorded_by) == (
        8,
        "staging, flag off",
        world.devops,
    )
