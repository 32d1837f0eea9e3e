"""Twelve weeks of trends and the four DORA measures, every number checked against
releases shipped, halted and rolled back here through the real services (their audit
events then moved back in time to make a history), in a non-UTC display time zone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from gates.services import gate_result_record
from operations.models import Rollback
from operations.services import rehearsal_record
from releases.models import Release
from releases.services import (
    release_create,
    release_decide,
    release_halt_by,
    release_roll_back,
    release_rollout_finish,
    release_rollout_start,
)
from reviews.selectors import Week
from reviews.trends import trends

from ..releases.builders import build_world, make_ready

W46, W47 = Week(2026, 46), Week(2026, 47)
NONE = "\u2013"  # the dash of a week with nothing to measure


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def moved(release: Release, action: str, when: str) -> None:
    """The audit event of `action` on `release` happened at `when` (UTC)."""
    assert AuditEvent.objects.filter(release_id=release.pk, action=action).update(at=at(when)) == 1


@pytest.fixture
def seoul(settings: Any) -> Any:
    from django.utils import timezone

    settings.TIME_ZONE = "Asia/Seoul"
    timezone.activate("Asia/Seoul")
    yield
    timezone.deactivate()


@pytest.fixture
def history(make_user: Any, seoul: Any) -> Any:
    w = build_world(make_user, ready=False)
    w.product.rollback_target_minutes = 20
    w.product.save()
    w.devops = make_user(Role.DEVOPS, product=w.product)
    gate, other = w.gates
    record = gate_result_record
    # Failures: W46 (Sunday 23:00 in Seoul), W47 (Monday 00:30 in Seoul, still Sunday in UTC).
    record(release=w.release, gate=gate, status="failed", run_id="e", observed_at=at("2026-11-15T14:00:00"))
    record(release=w.release, gate=gate, status="failed", run_id="a", observed_at=at("2026-11-15T15:30:00"))
    record(release=w.release, gate=gate, status="passed", run_id="b", observed_at=at("2026-11-16T03:00:00"))
    record(release=w.release, gate=other, status="error", run_id="c", observed_at=at("2026-11-18T09:00:00"))
    # Monday 00:30 of W48 in Seoul: outside twelve weeks that end with W47.
    record(release=w.release, gate=other, status="failed", run_id="d", observed_at=at("2026-11-22T15:30:00"))

    def ship(version: str, build: int, created: str) -> Release:
        if version != "1.0.0":
            w.release = release_create(
                product=w.product, version=version, build=build, commit=f"{build:x}" * 8, state="candidate"
            )
        make_ready(w)
        release_decide(release=w.release, outcome="go", actor=w.pm)
        release_rollout_start(release=w.release, actor=w.devops)
        Release.objects.filter(pk=w.release.pk).update(created_at=at(created))
        return w.release

    # 1.0.0: first evidence is its first CI result (W46, 14:00 UTC on the 15th); fully
    # rolled out 36 hours later.
    r1 = ship("1.0.0", 10, "2026-11-16T00:00:00")
    release_rollout_finish(release=r1, actor=w.devops)
    moved(r1, "release.rollout_start", "2026-11-16T23:00:00")
    moved(r1, "release.rollout_finish", "2026-11-17T02:00:00")
    # 2.0.0: started in W46, halted, rolled back in 25 minutes (over the 20-minute target).
    r2 = ship("2.0.0", 20, "2026-11-10T00:00:00")
    release_halt_by(release=r2, actor=w.devops, reason="error rate 3 %")
    release_roll_back(release=r2, actor=w.devops, minutes="25", notes="feature flag off, then rollback")
    moved(r2, "release.rollout_start", "2026-11-11T01:00:00")
    moved(r2, "release.halt", "2026-11-11T02:00:00")
    moved(r2, "release.roll_back", "2026-11-11T02:30:00")
    Rollback.objects.filter(release=r2).update(rolled_back_at=at("2026-11-11T02:30:00"))
    # 3.0.0: created on the 17th, fully rolled out 72 hours later.
    r3 = ship("3.0.0", 30, "2026-11-17T00:00:00")
    release_rollout_finish(release=r3, actor=w.devops)
    moved(r3, "release.rollout_start", "2026-11-18T00:00:00")
    moved(r3, "release.rollout_finish", "2026-11-20T00:00:00")
    # 4.0.0: started Sunday 23:30 in Seoul (W47), finished Monday 00:30 in Seoul (W48).
    r4 = ship("4.0.0", 40, "2026-11-19T00:00:00")
    release_rollout_finish(release=r4, actor=w.devops)
    moved(r4, "release.rollout_start", "2026-11-22T14:30:00")
    moved(r4, "release.rollout_finish", "2026-11-22T15:30:00")
    rehearsal_record(
        product=w.product, kind="rollback", performed_on=date(2026, 11, 16), minutes=14, outcome="passed"
    )
    w.client_user = w.pm
    return w


def test_twelve_weeks_end_with_the_week_asked_for(history: Any) -> None:
    data = trends(W47, [history.product])
    assert [w.week.label for w in data.weeks] == [f"2026-W{n}" for n in range(36, 48)]
    assert data.weeks[0].week.start.isoformat() == "2026-08-31T00:00:00+09:00"


def test_failures_and_flaky_gates_by_gate_and_week(history: Any) -> None:
    data = trends(W47, [history.product])
    gate, other = history.gates
    weeks = {w.week: w for w in data.weeks}
    assert dict(weeks[W46].failures) == {gate.pk: 1}
    assert dict(weeks[W47].failures) == {gate.pk: 1, other.pk: 1}
    # Every failure here passed later on the same commit (the releases were then made
    # ready on it): flaky, each in its own week.
    assert dict(weeks[W46].flaky) == {gate.pk: 1}
    assert dict(weeks[W47].flaky) == {gate.pk: 1, other.pk: 1}
    assert [(g.key, counts[-2:], total) for g, counts, total in data.failure_rows] == [
        (gate.key, [1, 1], 2),
        (other.key, [0, 1], 1),
    ]
    assert [(g.key, total) for g, _counts, total in data.flaky_rows] == [(gate.key, 2), (other.key, 1)]


def test_dora_measures_per_week(history: Any) -> None:
    weeks = {w.week: w for w in trends(W47, [history.product]).weeks}
    w46, w47 = weeks[W46], weeks[W47]
    assert (w47.deploys, w47.lead_time_hours) == (2, 54.0)  # 36 h and 72 h
    assert (w47.rollouts_started, w47.rollouts_failed, w47.change_failure_percent) == (3, 0, 0)
    assert (w46.deploys, w46.lead_time_hours) == (0, None)
    assert (w46.rollouts_started, w46.rollouts_failed, w46.change_failure_percent) == (1, 1, 100)
    assert w46.restore_median_minutes == 25 and w47.restore_median_minutes is None
    quiet = weeks[Week(2026, 40)]
    assert (quiet.deploys, quiet.change_failure_rate, quiet.restore_median_minutes) == (0, None, None)
    # W48 holds 4.0.0's full rollout, not W47.
    w48 = trends(Week(2026, 48), [history.product]).weeks[-1]
    assert w48.deploys == 1


def test_rollback_minutes_against_target(history: Any) -> None:
    data = trends(W47, [history.product])
    [(product, worst)] = data.rollback_rows()
    assert product == history.product and worst[-2:] == [25, 14] and worst[:-2] == [None] * 10
    w46 = {w.week: w for w in data.weeks}[W46]
    assert [(m.real, m.minutes, m.within_target, m.label) for m in w46.rollbacks] == [
        (True, 25, False, "2.0.0")
    ]


def test_products_one_cannot_see_are_left_out(history: Any, make_user: Any) -> None:
    hidden = build_world(make_user, ready=False)
    gate_result_record(
        release=hidden.release,
        gate=hidden.gates[0],
        status="failed",
        run_id="x",
        observed_at=at("2026-11-18T00:00:00"),
    )
    seen = trends(W47, [history.product])
    assert sum(w.failure_total for w in seen.weeks) == 3
    assert {g.pk for g in seen.gates}.isdisjoint({g.pk for g in hidden.gates})


def test_trends_page_shows_the_numbers_in_tables_and_charts(client: Client, history: Any) -> None:
    client.force_login(history.pm)
    page = client.get(reverse("reviews:trends", kwargs={"year": 2026, "week": 47})).content.decode()
    assert page.count("<svg") == 7  # failures, flaky, one product's rollbacks, four DORA
    w47 = page[page.index('<tr data-week="2026-W47">') :].split("</tr>")[0]
    cells = [c.split(">")[-1] for c in w47.split("</td>")[:-1]]
    assert cells == ["2", "54.0", "3", "0", "0 %", NONE]
    w46 = page[page.index('<tr data-week="2026-W46">') :].split("</tr>")[0]
    assert [c.split(">")[-1] for c in w46.split("</td>")[:-1]] == ["0", NONE, "1", "1", "100 %", "25"]
    assert "target 20 min" in page and "25!" in page  # over target: marked without colour


def test_the_weeks_data_as_csv(client: Client, history: Any) -> None:
    client.force_login(history.pm)
    response = client.get(reverse("reviews:csv", kwargs={"year": 2026, "week": 47}))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="weekly-review-2026-W47.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    failures = [r for r in rows if r["question"] == "Q1 failure"]
    assert sorted((r["gate"], r["state"], r["when"]) for r in failures) == [
        (history.gates[0].key, "failed (flaky)", "2026-11-16 00:30"),
        (history.gates[1].key, "error (flaky)", "2026-11-18 18:00"),
    ]
    [real] = [r for r in rows if r["question"] == "Q3 real rollback"]
    assert (real["release"], real["minutes"], real["target"]) == ("2.0.0", "25", "20")
    [rehearsal] = [r for r in rows if r["question"] == "Q3 rollback rehearsal"]
    assert (rehearsal["when"], rehearsal["minutes"], rehearsal["state"]) == ("2026-11-16", "14", "passed")
