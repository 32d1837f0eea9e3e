"""Change failure rate as DORA defines it (issue 15, item 6): a deployment that caused a
failure in production needing remediation — a rollback or a hotfix (a `hotfix/…` branch
within a week) — or one halted and not resumed. A halt that resumed and rolled out fully is not a failure. Each release is
shipped through the real services, each step at its own moment (time-machine)."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from board.decisions import release_decide
from board.lifecycle import release_create
from board.rollout import release_halt_by, release_roll_back, release_rollout_resume, release_rollout_start
from releases.models import Release
from reviews.selectors import Week
from reviews.trends import HOTFIX_DAYS, change_failures, trends

from ..releases.builders import healthy, make_ready, roll_out_fully
from .history import at, make_history

pytestmark = pytest.mark.django_db
W49 = Week(2026, 49)  # Monday 30 November to Sunday 6 December 2026 (UTC here)


@pytest.fixture
def world(make_user: Any) -> Any:
    return make_history(make_user)  # W46 and W47: four releases, 2.0.0 halted and rolled back


def ship(w: Any, version: str, build: int, when: str) -> Release:
    with time_machine.travel(at(when), tick=False):
        w.release = release_create(
            product=w.product, version=version, build=build, commit=f"{build:x}" * 8, state="candidate"
        )
        make_ready(w)
        release_decide(release=w.release, outcome="go", actor=w.pm)
        return release_rollout_start(release=w.release, actor=w.devops)


def step(when: str, action: Any, release: Release, **kwargs: Any) -> Release:
    with time_machine.travel(at(when), tick=False):
        release.refresh_from_db()
        return action(release=release, actor=kwargs.pop("actor"), **kwargs)


def test_only_changes_that_needed_remediation_count(world: Any) -> None:
    devops = world.devops
    # Halted, resumed once health was back, fully rolled out: the halt did its work.
    resumed = ship(world, "5.0.0", 50, "2026-11-30T01:00:00")
    step("2026-11-30T02:00:00", release_halt_by, resumed, actor=devops, reason="p95 latency spike")
    with time_machine.travel(at("2026-11-30T03:00:00"), tick=False):
        healthy(resumed)
    step("2026-11-30T03:05:00", release_rollout_resume, resumed, actor=devops)
    step("2026-11-30T05:00:00", roll_out_fully, resumed, actor=devops)
    # Fully rolled out, then fixed by its next patch version two days later: a hotfix.
    hotfixed = ship(world, "6.0.0", 60, "2026-12-01T01:00:00")
    step("2026-12-01T04:00:00", roll_out_fully, hotfixed, actor=devops)
    with time_machine.travel(at("2026-12-03T01:00:00"), tick=False):
        release_create(
            product=world.product,
            version="6.0.1",
            build=61,
            commit="3d" * 8,
            branch="hotfix/6.0.1",
            state="candidate",
        )
    # Halted and not resumed: the failure is still being remedied.
    halted = ship(world, "7.0.0", 70, "2026-12-02T01:00:00")
    step("2026-12-02T02:00:00", release_halt_by, halted, actor=devops, reason="error rate 4 %")
    # Fully out; its next patch version the next day is a planned release (release/…),
    # and the hotfix branch came after HOTFIX_DAYS: neither is a remedy for it.
    later = ship(world, "8.0.0", 80, "2026-12-03T02:00:00")
    step("2026-12-03T04:00:00", roll_out_fully, later, actor=devops)
    with time_machine.travel(at("2026-12-04T00:30:00"), tick=False):
        release_create(
            product=world.product, version="8.0.1", build=81, commit="5e" * 8, branch="release/8.0.1"
        )
    # Rolled back after its full rollout.
    reverted = ship(world, "9.0.0", 90, "2026-12-04T01:00:00")
    step("2026-12-04T04:00:00", roll_out_fully, reverted, actor=devops)
    step("2026-12-04T09:00:00", release_roll_back, reverted, actor=devops, minutes="12")
    assert HOTFIX_DAYS == 7

    with time_machine.travel(at("2026-12-12T01:00:00"), tick=False):  # 8 days on: too late
        release_create(
            product=world.product, version="8.0.2", build=95, commit="7f" * 8, branch="hotfix/8.0.2"
        )
    ours = (resumed, hotfixed, halted, later, reverted)
    started = dict(
        AuditEvent.objects.filter(
            action="release.rollout_start", release_id__in=[r.pk for r in ours]
        ).values_list("release_id", "at")
    )
    assert change_failures(started) == {hotfixed.pk, halted.pk, reverted.pk}
    w49 = trends(W49, [world.product]).weeks[-1]
    assert (w49.rollouts_started, w49.rollouts_failed, w49.change_failure_percent) == (5, 3, 60)
    # Resuming the halted one takes it out of the failures.
    with time_machine.travel(at("2026-12-05T01:00:00"), tick=False):
        healthy(halted)
    step("2026-12-05T01:05:00", release_rollout_resume, halted, actor=devops)
    assert trends(W49, [world.product]).weeks[-1].rollouts_failed == 2
    # W46's 2.0.0 (halted, then rolled back) still counts.
    assert {w.week: w for w in trends(W49, [world.product]).weeks}[Week(2026, 46)].rollouts_failed == 1


def test_the_page_says_what_a_change_failure_is(client: Client, world: Any) -> None:
    client.force_login(world.pm)
    page = client.get(reverse("reviews:trends", kwargs={"year": 2026, "week": 47})).content.decode()
    definition = page[page.index('id="change-failure-definition"') :][:900]
    assert "as DORA defines it" in definition and "hotfix" in definition
    assert "A halt that was resumed and rolled out fully is not a failure." in definition
