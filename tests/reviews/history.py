"""A made-up history for the trends: releases shipped, halted and rolled back through the
real services, each step taken with the clock set back (time-machine)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import time_machine

from accounts.models import Role
from board.decisions import release_decide
from board.lifecycle import release_create
from board.rollout import release_halt_by, release_roll_back, release_rollout_start
from gates.services import gate_result_record
from operations.services import rehearsal_record
from releases.models import Release

from ..releases.builders import build_world, make_ready, roll_out_fully


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_history(make_user: Any) -> Any:
    """A product with four releases shipped, halted and rolled back in W46 and W47 of 2026
    (each step taken at its own moment, the clock set back with time-machine), failures
    on both sides of a Seoul week boundary, and a rollback rehearsal."""
    w = build_world(make_user, ready=False)
    w.product.rollback_target_minutes = 20
    w.product.save()
    w.devops = make_user(Role.DEVOPS, product=w.product)
    # The release gate asks for a rollback rehearsal within 90 days of the decision.
    rehearsal_record(
        product=w.product,
        kind="rollback",
        performed_on=date(2026, 11, 1),
        minutes=9,
        outcome="passed",
        actor=w.devops,
    )

    def ship(version: str, build: int, created: str) -> Release:
        with time_machine.travel(at(created), tick=False):
            if version != "1.0.0":
                w.release = release_create(
                    product=w.product,
                    version=version,
                    build=build,
                    commit=f"{build:x}" * 8,
                    state="candidate",
                )
            make_ready(w)
            release_decide(release=w.release, outcome="go", actor=w.pm)
        return w.release

    def step(when: str, service: Any, release: Release, **kwargs: Any) -> None:
        with time_machine.travel(at(when), tick=False):
            service(release=release, actor=w.devops, **kwargs)

    # 1.0.0 (created now, by build_world): its first evidence is its first CI result, on
    # the 15th at 14:00 UTC (below); fully rolled out 36 hours later.
    r1 = ship("1.0.0", 10, "2026-11-16T22:00:00")
    step("2026-11-16T23:00:00", release_rollout_start, r1)
    step("2026-11-17T02:00:00", roll_out_fully, r1)
    # 2.0.0: started in W46, halted, rolled back in 25 minutes (over the 20-minute target).
    r2 = ship("2.0.0", 20, "2026-11-10T00:00:00")
    step("2026-11-11T01:00:00", release_rollout_start, r2)
    step("2026-11-11T02:00:00", release_halt_by, r2, reason="error rate 3 %")
    step("2026-11-11T02:30:00", release_roll_back, r2, minutes="25", notes="feature flag off, then rollback")
    # 3.0.0: created on the 17th, fully rolled out 72 hours later.
    r3 = ship("3.0.0", 30, "2026-11-17T00:00:00")
    step("2026-11-18T00:00:00", release_rollout_start, r3)
    step("2026-11-20T00:00:00", roll_out_fully, r3)
    # 4.0.0: started Sunday 23:30 in Seoul (W47), finished Monday 00:30 in Seoul (W48).
    r4 = ship("4.0.0", 40, "2026-11-19T00:00:00")
    step("2026-11-22T14:30:00", release_rollout_start, r4)
    step("2026-11-22T15:30:00", roll_out_fully, r4)

    # Failures of 1.0.0, recorded once it shipped (they would have blocked it): W46 (Sunday
    # 23:00 in Seoul) and W47 (Monday 00:30 in Seoul, still Sunday in UTC), both followed
    # by passes on the same commit (flaky); an error on the 18th that nothing passed after;
    # and Monday 00:30 of W48 in Seoul, outside twelve weeks that end with W47.
    gate, other = w.gates
    for g, status, run, when in (
        (gate, "failed", "e", "2026-11-15T14:00:00"),
        (gate, "failed", "a", "2026-11-15T15:30:00"),
        (gate, "passed", "b", "2026-11-16T03:00:00"),
        (other, "error", "c", "2026-11-18T09:00:00"),
        (other, "failed", "d", "2026-11-22T15:30:00"),
    ):
        gate_result_record(release=r1, gate=g, status=status, run_id=run, observed_at=at(when))
    rehearsal_record(
        product=w.product,
        kind="rollback",
        performed_on=date(2026, 11, 16),
        minutes=14,
        outcome="passed",
        actor=w.devops,
    )
    return w
