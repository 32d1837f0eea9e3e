"""Twelve weeks of history for the weekly review: gate failures by gate, flaky gates,
rollback minutes against target, and the four DORA measures. Every number is computed
here from the record (gate results, the audit trail of release transitions, rehearsals
and rollbacks), week by week in the display time zone.

Definitions (docs/review.md says the same to users):
- deploy frequency: releases fully rolled out in the week;
- lead time: from the first evidence of the shipped commit (CI announcing its build: the
  release's creation, or the new build that brought the commit; or its first CI result,
  whichever came first) to the full rollout, median in hours, over the releases fully
  rolled out in the week;
- change failure rate, as DORA defines it (deployments that caused a failure in
  production needing remediation, such as a rollback or a hotfix): of the rollouts started
  in the week, the share rolled back since (during the rollout or after it), fixed by a
  hotfix (a release of the product on a `hotfix/…` branch created within HOTFIX_DAYS of
  the rollout's start), or halted and not resumed. A halt that resumed and
  rolled out fully is not a failure: the halt did its work before the change hurt;
- time to restore: median minutes of the real rollbacks recorded in the week.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from django.db.models import Max, Min

from audit.models import AuditEvent
from gates.models import Gate, GateResult
from operations.models import Rehearsal, RehearsalKind, Rollback
from releases.models import Product, Release, ReleaseState, same_commit

from .selectors import Week, flaky_ids

WEEKS = 12
RELEASE_OBJECT = "releases.release"
STARTED = ("release.rollout_start",)
FINISHED = ("release.rollout_finish",)
ROLLED_BACK = ("release.roll_back",)
HOTFIX_DAYS = 7
HOTFIX_BRANCH = "hotfix/"


@dataclass(frozen=True)
class RollbackMark:
    """One timed rollback in a week: a rehearsal or a real one."""

    product: Product
    real: bool
    minutes: int
    label: str  # the release (real) or the date (rehearsal)

    @property
    def within_target(self) -> bool:
        return self.minutes <= self.product.rollback_target_minutes


@dataclass
class WeekTrend:
    week: Week
    failures: Counter[int] = field(default_factory=Counter)  # gate id → failed results
    flaky: Counter[int] = field(default_factory=Counter)  # gate id → failures that passed on a re-run
    deploys: int = 0
    lead_times_hours: list[float] = field(default_factory=list)
    rollouts_started: int = 0
    rollouts_failed: int = 0
    restore_minutes: list[int] = field(default_factory=list)
    rollbacks: list[RollbackMark] = field(default_factory=list)
    rehearsals: list[Rehearsal] = field(default_factory=list)  # both kinds, any outcome

    @property
    def failure_total(self) -> int:
        return sum(self.failures.values())

    @property
    def flaky_total(self) -> int:
        return sum(self.flaky.values())

    @property
    def lead_time_hours(self) -> float | None:
        return round(median(self.lead_times_hours), 1) if self.lead_times_hours else None

    @property
    def change_failure_rate(self) -> float | None:
        """A fraction 0..1, or None when no rollout started."""
        return self.rollouts_failed / self.rollouts_started if self.rollouts_started else None

    @property
    def change_failure_percent(self) -> int | None:
        rate = self.change_failure_rate
        return None if rate is None else round(rate * 100)

    @property
    def restore_median_minutes(self) -> float | None:
        return median(self.restore_minutes) if self.restore_minutes else None


@dataclass
class Trends:
    weeks: list[WeekTrend]
    gates: list[Gate]  # gates with at least one failure, in board order
    products: list[Product]

    def gate_rows(self, counter: str) -> list[tuple[Gate, list[int], int]]:
        """Per gate: its count per week and in all, for `failures` or `flaky`."""
        rows = []
        for gate in self.gates:
            counts = [getattr(w, counter)[gate.pk] for w in self.weeks]
            if any(counts):
                rows.append((gate, counts, sum(counts)))
        return rows

    @property
    def failure_rows(self) -> list[tuple[Gate, list[int], int]]:
        return self.gate_rows("failures")

    @property
    def flaky_rows(self) -> list[tuple[Gate, list[int], int]]:
        return self.gate_rows("flaky")

    def rollback_rows(self) -> list[tuple[Product, list[int | None]]]:
        """Per product: the slowest timed rollback of each week (rehearsal or real)."""
        rows = []
        for product in self.products:
            worst: list[int | None] = []
            for week in self.weeks:
                minutes = [m.minutes for m in week.rollbacks if m.product.pk == product.pk]
                worst.append(max(minutes) if minutes else None)
            if any(m is not None for m in worst):
                rows.append((product, worst))
        return rows

    def rehearsal_rows(self) -> list[tuple[Product, str, list[tuple[int, int]]]]:
        """Per product and kind of rehearsal: (passed, failed) in each week, for the
        products and kinds rehearsed at all in these weeks."""
        rows = []
        for product in self.products:
            for kind in RehearsalKind.values:
                cells = []
                for week in self.weeks:
                    done = [
                        r.outcome for r in week.rehearsals if (r.product_id, r.kind) == (product.pk, kind)
                    ]
                    cells.append((done.count("passed"), len(done) - done.count("passed")))
                if any(passed or failed for passed, failed in cells):
                    rows.append((product, kind, cells))
        return rows


def _week_index(weeks: list[Week], moment: datetime) -> int | None:
    for i, week in enumerate(weeks):
        if week.start <= moment < week.end:
            return i
    return None


def change_failures(started: dict[int, datetime]) -> set[int]:
    """Of the releases whose rollout started (id → when), those whose change failed in
    production and needed remediation (DORA): rolled back since, halted and not resumed,
    or fixed by a hotfix — a release of the same product on a `hotfix/…` branch, created
    within HOTFIX_DAYS after the rollout began (it fixes the latest rollout before it that
    is still out: rolling out or released)."""
    failed: set[int] = {
        pk
        for pk in AuditEvent.objects.filter(
            object_type=RELEASE_OBJECT, action__in=ROLLED_BACK, release_id__in=set(started)
        ).values_list("release_id", flat=True)
        if pk is not None
    }
    releases = list(Release.objects.filter(pk__in=set(started)).only("id", "product_id", "state"))
    failed |= {r.pk for r in releases if r.state == ReleaseState.HALTED}
    if not releases:
        return failed
    hotfixes = Release.objects.filter(
        product_id__in={r.product_id for r in releases},
        branch__startswith=HOTFIX_BRANCH,
        created_at__gte=min(started.values()),
        created_at__lte=max(started.values()) + timedelta(days=HOTFIX_DAYS),
    ).values_list("pk", "product_id", "created_at")
    for pk, product_id, created in hotfixes:
        fixed = [
            r
            for r in releases
            if r.product_id == product_id
            and r.pk != pk
            and r.state in (ReleaseState.ROLLING_OUT, ReleaseState.RELEASED)
            and started[r.pk] <= created <= started[r.pk] + timedelta(days=HOTFIX_DAYS)
        ]
        if fixed:
            failed.add(max(fixed, key=lambda r: started[r.pk]).pk)
    return failed


def trends(last: Week, products: list[Product]) -> Trends:
    """The twelve weeks ending with `last`, for `products` (what the viewer may see)."""
    weeks = [w for w in (last.shifted(i - WEEKS + 1) for i in range(WEEKS)) if w is not None]
    rows = [WeekTrend(w) for w in weeks]
    start, end = weeks[0].start, weeks[-1].end

    failed = list(
        GateResult.objects.filter(
            status__in=("failed", "error"),
            observed_at__gte=start,
            observed_at__lt=end,
            release__product__in=products,
        ).only("id", "release_id", "gate_id", "commit_sha", "observed_at")
    )
    flaky = flaky_ids(failed)
    for result in failed:
        i = _week_index(weeks, result.observed_at)
        if i is None:
            continue
        rows[i].failures[result.gate_id] += 1
        if result.pk in flaky:
            rows[i].flaky[result.gate_id] += 1

    events = list(
        AuditEvent.objects.filter(
            object_type=RELEASE_OBJECT,
            action__in=STARTED + FINISHED,
            at__gte=start,
            at__lt=end,
            release_id__in=Release.objects.filter(product__in=products).values("pk"),  # one query
        ).only("release_id", "action", "at")
    )
    started = [e for e in events if e.action in STARTED]
    finished = [e for e in events if e.action in FINISHED]
    ever_failed = change_failures({e.release_id: e.at for e in started if e.release_id is not None})
    for event in started:  # one per release: only a Go release starts rolling out
        i = _week_index(weeks, event.at)
        if i is None:
            continue
        rows[i].rollouts_started += 1
        rows[i].rollouts_failed += event.release_id in ever_failed

    finished_ids = {e.release_id for e in finished if e.release_id is not None}
    releases = {r.pk: r for r in Release.objects.filter(pk__in=finished_ids)}
    # The shipped commit's first evidence: when CI announced its build (the release's
    # creation, or the last new build, which replaced the commit) or its first CI result.
    rebuilt = dict(
        AuditEvent.objects.filter(
            object_type=RELEASE_OBJECT, action="release.new_build", release_id__in=finished_ids
        )
        .values("release_id")
        .annotate(last=Max("at"))
        .values_list("release_id", "last")
    )
    built = {r.pk: rebuilt.get(r.pk, r.created_at) for r in releases.values()}
    first_result: dict[int, datetime] = {}
    for release_id, sha, first in (
        GateResult.objects.filter(release_id__in=finished_ids)
        .values("release_id", "commit_sha")
        .annotate(first=Min("observed_at"))
        .values_list("release_id", "commit_sha", "first")
    ):
        if same_commit(sha, releases[release_id].commit_sha):
            known = first_result.get(release_id)
            first_result[release_id] = first if known is None else min(known, first)
    for event in finished:
        i = _week_index(weeks, event.at)
        release = releases.get(event.release_id or 0)
        if i is None or release is None:
            continue
        rows[i].deploys += 1
        began = min(t for t in (built[release.pk], first_result.get(release.pk)) if t is not None)
        rows[i].lead_times_hours.append(max(0.0, (event.at - began).total_seconds() / 3600))

    for rollback in Rollback.objects.filter(
        product__in=products, rolled_back_at__gte=start, rolled_back_at__lt=end
    ).select_related("product", "release"):
        i = _week_index(weeks, rollback.rolled_back_at)
        if i is not None:
            rows[i].restore_minutes.append(rollback.minutes)
            rows[i].rollbacks.append(
                RollbackMark(rollback.product, True, rollback.minutes, rollback.release.version)
            )
    for rehearsal in Rehearsal.objects.filter(
        product__in=products,
        performed_on__gte=weeks[0].first_day,
        performed_on__lte=weeks[-1].last_day,
    ).select_related("product"):
        for i, week in enumerate(weeks):
            if week.first_day <= rehearsal.performed_on <= week.last_day:
                rows[i].rehearsals.append(rehearsal)
                if rehearsal.kind != RehearsalKind.ROLLBACK:
                    continue
                rows[i].rollbacks.append(
                    RollbackMark(
                        rehearsal.product, False, rehearsal.minutes, rehearsal.performed_on.isoformat()
                    )
                )

    gate_ids = {g for row in rows for g in row.failures}
    gates = list(Gate.objects.filter(pk__in=gate_ids).order_by("position", "key", "pk"))
    return Trends(weeks=rows, gates=gates, products=products)
