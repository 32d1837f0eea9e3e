"""Reads for the weekly review: the four questions answered from data, for one ISO week in
the display time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from audit.models import AuditEvent
from checklists.models import Defect, Severity
from gates.models import GateResult, Waiver, WaiverState
from operations.models import Rehearsal, RehearsalKind, Rollback
from releases.models import Product, Release

from .models import ActionItem, ActionKind, ActionState, WeeklyReview


@dataclass(frozen=True)
class Week:
    year: int
    week: int

    @classmethod
    def of(cls, moment: datetime | None = None) -> Week:
        iso = timezone.localdate(moment or timezone.now()).isocalendar()
        return cls(iso.year, iso.week)

    @property
    def first_day(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=6)

    @property
    def start(self) -> datetime:
        """Monday 00:00 in the display time zone."""
        return datetime.combine(self.first_day, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def end(self) -> datetime:
        return datetime.combine(
            self.first_day + timedelta(days=7), time.min, tzinfo=timezone.get_current_timezone()
        )

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def short(self) -> str:
        """`W47` (in Korean `47주`): a chart's or table's column."""
        return gettext("W%(week)02d") % {"week": self.week}

    def shifted(self, weeks: int) -> Week | None:
        """The week `weeks` later (or earlier); None past the calendar's ends."""
        try:
            return Week.of(self.start + timedelta(days=7 * weeks, hours=12))
        except OverflowError:
            return None


@dataclass
class FailureGroup:
    """Q1: one gate of one product that failed this week."""

    product: Product
    gate: Any
    failures: list[GateResult] = field(default_factory=list)
    flaky: list[GateResult] = field(default_factory=list)  # failures that passed later on the same commit
    action: ActionItem | None = None  # the action item made from one of these failures

    @property
    def releases(self) -> list[Release]:
        return list({r.release_id: r.release for r in self.failures}.values())


@dataclass(frozen=True)
class Halt:
    """Q1: a rollout halted this week (by monitoring, a smoke gate or a person)."""

    release: Release
    at: datetime
    reason: str


@dataclass
class Readiness:
    """Q3: a product's rollback target beside its last rehearsal and last real rollback."""

    product: Product
    last_rehearsal: Rehearsal | None
    last_rollback: Rollback | None

    @property
    def within_target(self) -> bool | None:
        if self.last_rehearsal is None:
            return None
        return self.last_rehearsal.minutes <= self.product.rollback_target_minutes

    @property
    def rollback_within_target(self) -> bool | None:
        if self.last_rollback is None:
            return None
        return self.last_rollback.minutes <= self.product.rollback_target_minutes


@dataclass
class WeeklyAnswers:
    week: Week
    failures: list[FailureGroup]
    waivers: list[Waiver]
    actions: list[ActionItem]
    readiness: list[Readiness]
    prevention_done: list[ActionItem]
    prevention_open: list[ActionItem]
    review: WeeklyReview | None
    rehearsals: list[Rehearsal] = field(default_factory=list)  # Q3: the week's, both kinds
    critical_defects: list[Defect] = field(default_factory=list)  # Q1: reported this week
    halts: list[Halt] = field(default_factory=list)  # Q1: rollouts halted this week
    rollbacks: list[Rollback] = field(default_factory=list)  # Q1: real rollbacks this week

    @property
    def failure_count(self) -> int:
        return sum(len(g.failures) for g in self.failures)

    @property
    def overdue(self) -> list[ActionItem]:
        today = timezone.localdate()
        return [a for a in self.actions if a.state == ActionState.OPEN and a.due_on and a.due_on < today]


def flaky_ids(failed: list[GateResult]) -> set[int]:
    """The failures among `failed` that passed later on the same release, gate and commit
    (a re-run went green: the gate is flaky, not fixed)."""
    last_pass: dict[tuple[int, int, str], datetime] = {}
    for rid, gid, sha, at in GateResult.objects.filter(
        status="passed", release__in={r.release_id for r in failed}
    ).values_list("release_id", "gate_id", "commit_sha", "observed_at"):
        key = (rid, gid, sha)
        last_pass[key] = max(at, last_pass.get(key, at))
    return {
        r.pk
        for r in failed
        if (passed := last_pass.get((r.release_id, r.gate_id, r.commit_sha))) is not None
        and passed > r.observed_at
    }


def weekly_answers(week: Week, products: list[Product]) -> WeeklyAnswers:
    """Everything the review page shows for `week`, limited to `products` (what the viewer
    may see), in a fixed number of queries."""
    start, end = week.start, week.end
    failed = list(
        GateResult.objects.filter(
            status__in=("failed", "error"),
            observed_at__gte=start,
            observed_at__lt=end,
            release__product__in=products,
        )
        .select_related("gate", "release__product")
        .order_by("release__product__slug", "gate__position", "gate__key", "observed_at", "id")
    )
    flaky = flaky_ids(failed)
    groups: dict[tuple[int, int], FailureGroup] = {}
    for result in failed:
        group = groups.setdefault(
            (result.release.product_id, result.gate_id), FailureGroup(result.release.product, result.gate)
        )
        group.failures.append(result)
        if result.pk in flaky:
            group.flaky.append(result)
    waivers = list(
        Waiver.objects.filter(
            state__in=(WaiverState.APPROVED, WaiverState.REVOKED),
            decided_at__gte=start,
            decided_at__lt=end,
            release__product__in=products,
        ).select_related("gate", "release__product", "requested_by", "decided_by")
    )
    visible = Q(product__in=products) | Q(product__isnull=True)
    actions = list(
        ActionItem.objects.filter(visible, kind=ActionKind.FIX)
        .exclude(state=ActionState.DONE, done_at__lt=start)
        .exclude(created_at__gte=end)
        .select_related("owner", "product", "gate", "failure__release")
        .order_by("state", "due_on", "id")
    )
    prevention = list(
        ActionItem.objects.filter(visible, kind=ActionKind.PREVENTION, created_at__lt=end)
        .select_related("owner", "product", "done_by")
        .order_by("due_on", "id")
    )
    rehearsals: dict[int, Rehearsal] = {}
    for rehearsal in Rehearsal.objects.filter(
        product__in=products, kind=RehearsalKind.ROLLBACK, performed_on__lt=week.first_day + timedelta(days=7)
    ).order_by("performed_on", "id"):
        rehearsals[rehearsal.product_id] = rehearsal
    rollbacks: dict[int, Rollback] = {}
    for rollback in (
        Rollback.objects.filter(product__in=products, rolled_back_at__lt=end)
        .select_related("release")
        .order_by("rolled_back_at", "id")
    ):
        rollbacks[rollback.product_id] = rollback
    made = {
        a.failure_id: a
        for a in ActionItem.objects.filter(failure__in=[r.pk for r in failed]).only(
            "id", "failure_id", "title"
        )
    }
    for group in groups.values():
        group.action = next((made[r.pk] for r in group.failures if r.pk in made), None)
    return WeeklyAnswers(
        week=week,
        failures=list(groups.values()),
        waivers=waivers,
        actions=actions,
        readiness=[Readiness(p, rehearsals.get(p.pk), rollbacks.get(p.pk)) for p in products],
        prevention_done=[
            a for a in prevention if a.state == ActionState.DONE and a.done_at and start <= a.done_at < end
        ],
        prevention_open=[a for a in prevention if a.state == ActionState.OPEN],
        review=WeeklyReview.objects.filter(year=week.year, week=week.week).first(),
        rehearsals=list(
            Rehearsal.objects.filter(
                product__in=products, performed_on__gte=week.first_day, performed_on__lte=week.last_day
            )
            .select_related("product", "recorded_by")
            .order_by("performed_on", "product__slug", "id")
        ),
        critical_defects=list(
            Defect.objects.filter(
                severity=Severity.CRITICAL,
                reported_at__gte=start,
                reported_at__lt=end,
                release__product__in=products,
            )
            .select_related("release__product")
            .order_by("reported_at", "id")
        ),
        halts=_halts(start, end, products),
        rollbacks=list(
            Rollback.objects.filter(product__in=products, rolled_back_at__gte=start, rolled_back_at__lt=end)
            .select_related("release__product", "product")
            .order_by("rolled_back_at", "id")
        ),
    )


def _halts(start: datetime, end: datetime, products: list[Product]) -> list[Halt]:
    """The week's halts, from the audit trail (a release halted twice is listed twice)."""
    events = list(
        AuditEvent.objects.filter(
            object_type="releases.release",
            action="release.halt",
            at__gte=start,
            at__lt=end,
            release_id__in=Release.objects.filter(product__in=products).values("pk"),
        )
        .order_by("at", "id")
        .values_list("release_id", "at", "after")
    )
    releases = Release.objects.select_related("product").in_bulk({e[0] for e in events if e[0] is not None})
    return [
        Halt(releases[rid], at, str((after or {}).get("reason", "")))
        for rid, at, after in events
        if rid in releases
    ]


def reviews_held() -> list[WeeklyReview]:
    return list(WeeklyReview.objects.select_related("started_by").order_by("-year", "-week")[:52])


def failure_lookup(pk: int) -> GateResult | None:
    return GateResult.objects.select_related("gate", "release__product").filter(pk=pk).first()
