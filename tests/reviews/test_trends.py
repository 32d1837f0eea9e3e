"""Twelve weeks of trends and the four DORA measures, every number checked against
releases shipped, halted and rolled back here through the real services (their audit
events then moved back in time to make a history), in a non-UTC display time zone."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from gates.services import gate_result_record
from reviews.selectors import Week
from reviews.trends import trends

from ..releases.builders import build_world
from .history import at, make_history

W46, W47 = Week(2026, 46), Week(2026, 47)
NONE = "\u2013"  # the dash of a week with nothing to measure


@pytest.fixture
def seoul(settings: Any) -> Any:
    from django.utils import timezone

    settings.TIME_ZONE = "Asia/Seoul"
    timezone.activate("Asia/Seoul")
    yield
    timezone.deactivate()


@pytest.fixture
def history(make_user: Any, seoul: Any) -> Any:
    return make_history(make_user)


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
    # Both failures of `gate` passed later on the same commit: flaky, each in its own week.
    assert dict(weeks[W46].flaky) == {gate.pk: 1}
    assert dict(weeks[W47].flaky) == {gate.pk: 1}
    assert [(g.key, counts[-2:], total) for g, counts, total in data.failure_rows] == [
        (gate.key, [1, 1], 2),
        (other.key, [0, 1], 1),
    ]
    assert [(g.key, total) for g, _counts, total in data.flaky_rows] == [(gate.key, 2)]


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
    assert product == history.product and worst[-4:] == [9, None, 25, 14] and worst[:-4] == [None] * 8
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
        (history.gates[1].key, "error", "2026-11-18 18:00"),
    ]
    [real] = [r for r in rows if r["question"] == "Q3 real rollback"]
    assert (real["release"], real["minutes"], real["target"]) == ("2.0.0", "25", "20")
    [rehearsal] = [r for r in rows if r["question"] == "Q3 rollback rehearsal"]
    assert (rehearsal["when"], rehearsal["minutes"], rehearsal["state"]) == ("2026-11-16", "14", "passed")
