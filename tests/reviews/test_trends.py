"""Twelve weeks of trends and the four DORA measures, every number checked against
releases shipped, halted and rolled back here through the real services (each step at
its own moment, the clock set back with time-machine), in a non-UTC display time zone."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from board.decisions import release_decide
from board.rollout import release_rollout_start
from gates.services import gate_result_record
from operations.services import rehearsal_record
from releases.lifecycle import release_new_build
from reviews.selectors import Week
from reviews.trends import trends

from ..htmx import same_but_tokens
from ..releases.builders import build_world, make_ready, roll_out_fully
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


def test_products_one_cannot_see_are_left_out(client: Client, history: Any, make_user: Any) -> None:
    """A second product with its own failures, rollouts and rollback, seen only by its own
    people: the first product's PM sees the same numbers as without it."""
    client.force_login(history.pm)
    url = reverse("reviews:trends", kwargs={"year": 2026, "week": 47})
    csv_url = reverse("reviews:csv", kwargs={"year": 2026, "week": 47})
    before, before_csv = client.get(url).content.decode(), client.get(csv_url).content.decode()
    hidden = make_history(make_user)
    assert hidden.product != history.product
    # A name no random token (a CSP nonce, a CSRF token) could contain by chance.
    hidden.product.slug, hidden.product.name = "hidden-product", "Hidden product"
    hidden.product.save(update_fields=["slug", "name"])
    after, after_csv = client.get(url).content.decode(), client.get(csv_url).content.decode()
    for word in (hidden.product.slug, hidden.product.name):
        assert word not in after and word not in after_csv
    assert same_but_tokens(after) == same_but_tokens(before) and after_csv == before_csv
    # Its own PM sees both products' failures counted once each.
    both = trends(W47, [history.product, hidden.product])
    assert sum(w.failure_total for w in both.weeks) == 2 * sum(
        w.failure_total for w in trends(W47, [history.product]).weeks
    )


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


def test_lead_time_counts_from_the_shipped_commit(make_user: Any, seoul: Any) -> None:
    """A release rebuilt on a new commit counts from the new build, not from its first."""
    w = build_world(make_user, ready=False)  # 1.0.0, created now on commit aaaa…
    devops = make_user(Role.DEVOPS, product=w.product)
    rehearsal_record(
        product=w.product,
        kind="rollback",
        performed_on=date(2026, 11, 1),
        minutes=5,
        outcome="passed",
        actor=devops,
    )
    gate_result_record(
        release=w.release,
        gate=w.gates[0],
        status="failed",
        run_id="old",
        observed_at=at("2026-11-09T00:00:00"),
    )
    with time_machine.travel(at("2026-11-16T00:00:00"), tick=False):
        release_new_build(release=w.release, build=11, commit="b" * 40)
    with time_machine.travel(at("2026-11-16T06:00:00"), tick=False):
        make_ready(w)
        release_decide(release=w.release, outcome="go", actor=w.pm)
        release_rollout_start(release=w.release, actor=devops)
    with time_machine.travel(at("2026-11-16T10:00:00"), tick=False):
        roll_out_fully(w.release, devops)
    week = {x.week: x for x in trends(W47, [w.product]).weeks}[W47]
    assert (week.deploys, week.lead_time_hours) == (1, 10.0)
