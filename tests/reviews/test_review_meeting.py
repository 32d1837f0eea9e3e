"""The weekly review as a meeting (issue 15, item 6): the minutes say what the page says,
the shared timer is run by its facilitator or a PM/PO and stops when the review ends,
action items reach every open review page, a failure gets one action item, and Q1 lists
the week's critical defects, halts and rollbacks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, RoleMembership
from checklists.defects import defect_report
from core.errors import Conflict, NotAllowed
from gates.services import gate_result_record
from live import bus
from reviews.models import ActionItem, WeeklyReview
from reviews.selectors import Week, weekly_answers
from reviews.services import (
    action_item_create,
    action_item_update,
    weekly_review_save,
    weekly_review_timer_start,
)

from ..releases.builders import build_world
from .history import make_history

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(make_user: Any) -> Any:
    return build_world(make_user, ready=False)


def test_the_minutes_print_the_last_real_rollback_as_the_page_does(make_user: Any) -> None:
    history = make_history(make_user)  # 2.0.0 rolled back in 25 minutes on 11 November (W46)
    kwargs = {"year": 2026, "week": 47}
    page = as_user(history.pm).get(reverse("reviews:week", kwargs=kwargs)).content.decode()
    text = as_user(history.pm).get(reverse("reviews:minutes", kwargs=kwargs)).content.decode()
    assert "25 min · 2.0.0 · 2026-11-11" in page
    line = next(x for x in text.splitlines() if x.startswith(f"- {history.product.slug}:"))
    assert "last real rollback: 25 min · 2.0.0 (2026-11-11) — over target" in line, line
    assert "()" not in text


def test_only_a_pm_po_or_the_facilitator_runs_the_timer(world: Any, make_user: Any) -> None:
    now = Week.of()
    kwargs = {"year": now.year, "week": now.week}
    weekly_review_save(
        year=now.year,
        week=now.week,
        actor=world.pm,
        attendees=[world.pm.username, world.qa.username],
        notes={},
    )
    with pytest.raises(NotAllowed):  # an attendee writes notes, but leaves everyone's clock alone
        weekly_review_timer_start(year=now.year, week=now.week, actor=world.qa)
    assert as_user(world.qa).post(reverse("reviews:timer", kwargs=kwargs)).status_code == 403
    assert WeeklyReview.objects.get().timer_started_at is None
    page = as_user(world.qa).get(reverse("reviews:week", kwargs=kwargs)).content.decode()
    assert "Start the 15 minutes" not in page and "facilitator runs the timer" in page

    # The facilitator (who began it) keeps running it after moving from PM/PO to QA.
    RoleMembership.objects.filter(user=world.pm).update(role=Role.QA)
    assert as_user(world.pm).post(reverse("reviews:timer", kwargs=kwargs)).status_code == 302
    assert WeeklyReview.objects.get().timer_started_at is not None
    other_pm = make_user(Role.PM)
    assert as_user(other_pm).post(reverse("reviews:timer", kwargs=kwargs)).status_code == 302


def test_the_timer_stops_when_the_review_ends_and_shows_how_long_it_ran(world: Any) -> None:
    now = Week.of()
    kwargs = {"year": now.year, "week": now.week}
    weekly_review_timer_start(year=now.year, week=now.week, actor=world.pm)
    review = WeeklyReview.objects.get()
    running = as_user(world.pm).get(
        reverse("reviews:week", kwargs=kwargs), headers={"HX-Request": "true", "HX-Target": "timer"}
    )
    assert (
        'data-started-at="' in running.content.decode()
        and 'hx-trigger="every 15s"' in running.content.decode()
    )
    weekly_review_save(
        year=now.year, week=now.week, actor=world.pm, attendees=[world.pm.username], notes={}, end=True
    )
    began = timezone.now() - timedelta(minutes=13, seconds=50)
    WeeklyReview.objects.filter(pk=review.pk).update(timer_started_at=began)
    review.refresh_from_db()
    ended = as_user(world.pm).get(
        reverse("reviews:week", kwargs=kwargs), headers={"HX-Request": "true", "HX-Target": "timer"}
    )
    html = ended.content.decode()
    assert "data-started-at" not in html and "every 15s" not in html  # no clock, no polling
    assert "14 min" in html and "The review ended: timed from" in html
    assert "Restart the 15 minutes" not in html
    with pytest.raises(Conflict):
        weekly_review_timer_start(year=now.year, week=now.week, actor=world.pm)
    text = as_user(world.pm).get(reverse("reviews:minutes", kwargs=kwargs)).content.decode()
    assert "14 minutes." in text


def test_action_items_reach_every_open_review_page(
    world: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    published: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(bus, "publish", lambda topic, panels: published.append((topic, panels)))
    with django_capture_on_commit_callbacks(execute=True):
        item = action_item_create(actor=world.pm, title="Pin the device farm", kind="prevention")
    with django_capture_on_commit_callbacks(execute=True):
        action_item_update(item=item, actor=world.pm, state="done")
    assert [p for p in published if p[0] == "reviews"] == [("reviews", ["q1", "q2", "q4"])] * 2
    assert not [p for p in published if p[0].startswith("release:")]
    # The page's three panels listen for those names on the review's stream...
    now = Week.of()
    page = as_user(world.qa).get(reverse("reviews:week", kwargs={"year": now.year, "week": now.week}))
    html = page.content.decode()
    for panel in ("q1", "q2", "q4"):
        assert f'id="{panel}" data-live-panel' in html and f"panel-{panel} from:body" in html
    assert f'sse-connect="{reverse("board:review_events")}"' in html
    # ...and each is re-fetched alone: another attendee's new item shows without a reload.
    action_item_create(actor=world.lead, title="Retry the flaky login step", kind="fix")
    fragment = as_user(world.qa).get(
        reverse("reviews:week", kwargs={"year": now.year, "week": now.week}),
        headers={"HX-Request": "true", "HX-Target": "q2"},
    )
    body = fragment.content.decode()
    assert body.lstrip().startswith("<section") and 'id="q2"' in body and 'id="q4"' not in body
    assert "Retry the flaky login step" in body


def test_a_failure_gets_one_action_item(world: Any) -> None:
    failure = gate_result_record(
        release=world.release, gate=world.gates[0], status="failed", run_id="f1"
    ).result
    now = Week.of()
    kwargs = {"year": now.year, "week": now.week}
    pm = as_user(world.pm)
    for _click in range(2):
        response = pm.post(reverse("reviews:action_create"), {"failure": failure.pk, "week": now.label})
        assert response.status_code == 302
    item = ActionItem.objects.get()
    assert response["Location"].endswith(f"#action-{item.pk}")
    assert action_item_create(actor=world.lead, title="", failure=failure) == item  # the service too
    assert ActionItem.objects.count() == 1
    html = pm.get(reverse("reviews:week", kwargs=kwargs)).content.decode()
    q1 = html[html.index('id="q1"') : html.index('id="q2"')]
    assert "Create action item" not in q1
    assert f'href="#action-{item.pk}"' in q1 and "Action item created" in q1


def test_q1_lists_the_weeks_critical_defects_halts_and_rollbacks(make_user: Any) -> None:
    history = make_history(make_user)  # W46: 2.0.0 halted ("error rate 3 %") and rolled back
    answers = weekly_answers(Week(2026, 46), [history.product])
    assert [(h.release.version, h.reason) for h in answers.halts] == [("2.0.0", "error rate 3 %")]
    assert [(r.release.version, r.minutes) for r in answers.rollbacks] == [("2.0.0", 25)]
    assert weekly_answers(Week(2026, 47), [history.product]).halts == []
    defect = defect_report(
        release=history.release, title="Checkout crashes", severity="critical", actor=history.qa
    )
    defect_report(release=history.release, title="Typo", severity="minor", actor=history.qa)
    this = weekly_answers(Week.of(), [history.product])
    assert this.critical_defects == [defect]

    pm = as_user(history.pm)
    board = reverse("board:release_board", args=[history.product.slug, "2.0.0"])
    w46 = pm.get(reverse("reviews:week", kwargs={"year": 2026, "week": 46})).content.decode()
    halts, rollbacks = w46.index('id="week-halts"'), w46.index('id="week-rollbacks"')
    assert f'href="{board}#operations"' in w46[halts:rollbacks] and "error rate 3 %" in w46[halts:rollbacks]
    assert f'href="{board}#operations"' in w46[rollbacks:] and "25 min" in w46[rollbacks : rollbacks + 600]
    now = Week.of()
    current = pm.get(reverse("reviews:week", kwargs={"year": now.year, "week": now.week})).content.decode()
    defects = current[current.index('id="week-defects"') :]
    assert "Checkout crashes" in defects[:800] and "Typo" not in defects[:800]
    assert f"{history.release.version}/#defects" in defects[:800]
    minutes = pm.get(reverse("reviews:minutes", kwargs={"year": 2026, "week": 46})).content.decode()
    assert "Rollout halted: " in minutes and "Rollback: " in minutes
