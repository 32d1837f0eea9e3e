"""Twelve weeks of made-up history for the demo (issue 15, item 7), so that the weekly
review's past weeks and the 12-week trends show what they are for: releases of the three
demo products shipped, halted and resumed, rolled back and hot-fixed; their CI results,
failures and flaky re-runs among them; rehearsals; real rollbacks with their minutes; a
critical defect; and each week's review with its action items.

The history is written as rows with their own timestamps (no clock is set back): the
releases with `created_at`/`state_changed_at`, results with `observed_at`, and the audit
trail the trends read (append-only: events are only added, each at the moment it tells
of, labelled `seed_demo`). One plan, the same every time; written once (the first
historical release is the mark), in a few bulk inserts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from audit.models import AuditEvent
from checklists.models import Defect, DefectState, Severity
from gates.models import Gate, GateResult, ResultSource
from gates.states import states_rebuild
from operations.models import Rehearsal, RehearsalKind, Rollback
from releases.models import Decision, Product, Release, ReleaseState
from reviews.models import ActionItem, ActionKind, ActionState, WeeklyReview
from reviews.selectors import Week

if TYPE_CHECKING:
    from django.contrib.auth.models import User

LABEL = "seed_demo"
WEEKS = 12
MARK = ("api", "1.0.0")  # the first historical release: there, the history is written

# What happened to a release: shipped, halted then resumed, rolled back (minutes), or
# shipped and then hot-fixed by its next patch version.
SHIPPED, RESUMED, ROLLED_BACK, HOTFIXED = "shipped", "resumed", "rolled_back", "hotfixed"
HOTFIX = "hotfix"  # the hotfix itself: on a hotfix/… branch, shipped within days


@dataclass(frozen=True)
class Plan:
    product: str
    week: int  # 0 = twelve weeks ago
    version: str
    build: int
    fate: str = SHIPPED
    minutes: int = 0  # a rollback's
    flaky: str = ""  # a gate that failed once and passed on a re-run of the same commit
    failed_build: str = ""  # a gate that failed on an earlier commit of the release


def _plans() -> list[Plan]:
    plans = []
    for k in range(WEEKS):
        ios_fate = {2: RESUMED, 6: ROLLED_BACK, 10: RESUMED}.get(k, SHIPPED)
        plans.append(
            Plan(
                "ios-app",
                k,
                f"2.{k // 4 + 1}.{k % 4}",
                1100 + k * 10,
                ios_fate,
                minutes=18 if k == 6 else 0,
                flaky="e2e-regression" if k in (1, 3, 4, 8, 9, 11) else "",
                failed_build="contract" if k in (5, 6) else "",
            )
        )
        api_fate = {3: RESUMED, 5: ROLLED_BACK, 7: HOTFIXED, 9: ROLLED_BACK}.get(k, SHIPPED)
        plans.append(
            Plan(
                "api",
                k,
                f"1.{k}.0",
                190 + k * 10,
                api_fate,
                minutes={5: 8, 9: 14}.get(k, 0),
                flaky="contract" if k in (2, 8) else "",
                failed_build="e2e-regression" if k in (4, 9, 10) else "",
            )
        )
        if k % 2 == 0:
            plans.append(
                Plan(
                    "android-app",
                    k,
                    f"2.{k // 4 + 1}.{(k % 4) // 2}",
                    1100 + k * 5,
                    ROLLED_BACK if k == 4 else SHIPPED,
                    minutes=11 if k == 4 else 0,
                    flaky="e2e-regression" if k in (0, 6) else "",
                    failed_build="typecheck" if k == 8 else "",
                )
            )
    return plans


# Rollback rehearsals (DevOps) per product: (week, minutes, passed); release rehearsals (QA).
ROLLBACK_REHEARSALS = {
    "ios-app": [(1, 12, True), (4, 14, True), (7, 17, False), (10, 11, True)],
    "api": [(1, 7, True), (4, 9, True), (7, 8, True), (10, 12, False)],
    "android-app": [(2, 13, True), (5, 16, False), (8, 12, True), (11, 10, True)],
}
RELEASE_REHEARSALS = {
    "ios-app": [(3, 40, True), (9, 35, True)],
    "android-app": [(5, 45, False), (8, 38, True)],
}
RESULT_GATES = ("typecheck", "contract", "e2e-regression")
SUMMARIES = {
    "typecheck": ("0 errors", "3 type errors in SearchViewModel"),
    "contract": ("212 interactions verified", "1 interaction failed: GET /search"),
    "e2e-regression": ("48 passed", "login flow timed out on the device farm"),
    "smoke": ("health endpoint and login OK", "health endpoint 503"),
}


class _Writer:
    """Collects the rows of the history, then writes them in a few bulk inserts."""

    def __init__(self, users: dict[str, User]) -> None:
        self.users = users
        self.results: list[GateResult] = []
        self.events: list[AuditEvent] = []
        self.gates = {g.key: g for g in Gate.objects.all()}

    def event(self, at: datetime, action: str, release: Release, actor: str, after: dict[str, Any]) -> None:
        user = self.users.get(actor)
        self.events.append(
            AuditEvent(
                at=at,
                actor=user,
                actor_label=actor if user is None else user.get_username(),
                action=action,
                object_type="releases.release",
                object_id=str(release.pk),
                object_repr=str(release)[:255],
                release_id=release.pk,
                after={"state": after.pop("state", release.state), **after},
            )
        )

    def result(
        self, release: Release, key: str, status: str, at: datetime, run: str, commit: str = ""
    ) -> None:
        passed, failed = SUMMARIES[key]
        self.results.append(
            GateResult(
                release=release,
                gate=self.gates[key],
                commit_sha=commit or release.commit_sha,
                status=status,
                source=ResultSource.WEBHOOK,
                url=f"https://ci.example.com/runs/{run}",
                summary=passed if status == "passed" else failed,
                run_id=run,
                observed_at=at,
                received_at=at + timedelta(seconds=4),
                reporter_label=LABEL,
            )
        )


def _monday(week: Week) -> datetime:
    return datetime.combine(week.first_day, time.min, tzinfo=timezone.get_current_timezone())


def _release(plan: Plan, product: Product, created: datetime, pm: User) -> Release:
    commit = f"{plan.build:08x}{sum(map(ord, plan.product)):04x}".ljust(40, "0")
    return Release(
        product=product,
        version=plan.version,
        build_number=plan.build,
        commit_sha=commit,
        branch=f"{'hotfix' if plan.fate == HOTFIX else 'release'}/{plan.version}",
        target_date=(created + timedelta(days=2)).date(),
        owner=pm,
        state=ReleaseState.CANDIDATE,
        state_changed_at=created,
        created_at=created,
    )


def seed_history(users: dict[str, User]) -> list[str]:
    """Write the twelve weeks before this one, once. Returns what was created."""
    if Release.objects.filter(product__slug=MARK[0], version=MARK[1]).exists():
        return []
    products = {p.slug: p for p in Product.objects.filter(slug__in=("ios-app", "api", "android-app"))}
    this_week = Week.of()
    weeks = [this_week.shifted(k - WEEKS) for k in range(WEEKS)]
    plans = _plans()
    day = {"ios-app": 0, "api": 1, "android-app": 2}
    hotfixes = []
    for plan in plans:
        if plan.fate == HOTFIXED:
            head = plan.version.rsplit(".", 1)[0]
            hotfixes.append(Plan(plan.product, plan.week, f"{head}.1", plan.build + 1, HOTFIX))
    created_at: dict[tuple[str, str], datetime] = {}
    rows = []
    for plan in plans:
        week = weeks[plan.week]
        assert week is not None
        created = _monday(week) + timedelta(days=day[plan.product], hours=10 + plan.week % 3)
        created_at[(plan.product, plan.version)] = created
        rows.append(_release(plan, products[plan.product], created, users["pm"]))
    for fix in hotfixes:
        created = created_at[(fix.product, fix.version.rsplit(".", 1)[0] + ".0")] + timedelta(days=2, hours=3)
        created_at[(fix.product, fix.version)] = created
        rows.append(_release(fix, products[fix.product], created, users["pm"]))
    Release.objects.bulk_create(rows)
    releases = {
        (r.product.slug, r.version): r
        for r in Release.objects.filter(pk__in=[r.pk for r in rows]).select_related("product")
    }

    writer = _Writer(users)
    decisions, rollbacks, failures = [], [], []
    for plan in [*plans, *hotfixes]:
        release = releases[(plan.product, plan.version)]
        created = created_at[(plan.product, plan.version)]
        writer.event(
            created, "release.create", release, LABEL, {"state": "candidate", "version": plan.version}
        )
        ci = created + timedelta(minutes=40)
        if plan.failed_build:  # CI on the first commit of the branch, fixed by the next one
            old = f"{plan.build - 1:08x}".ljust(40, "e")
            writer.result(
                release, plan.failed_build, "failed", ci - timedelta(minutes=30), f"{plan.build}-0", old
            )
            failures.append((plan, release, plan.failed_build))
        for i, key in enumerate(RESULT_GATES):
            run = f"{plan.build}-{i + 1}"
            if key == plan.flaky:
                writer.result(release, key, "failed", ci + timedelta(minutes=i * 9), f"{run}a")
                failures.append((plan, release, key))
            writer.result(release, key, "passed", ci + timedelta(minutes=i * 9 + 15), run)
        # From CI's first word to the Go: a day or two, depending on the week and product.
        decided = created + timedelta(hours=6 if plan.fate == HOTFIX else 14 + (plan.build * 7) % 30)
        decisions.append(
            Decision(
                release=release,
                outcome="go",
                rationale="All gates green; checked in the Go/No-Go meeting.",
                decided_by=users["pm"],
                decided_at=decided,
                evidence_fingerprint=f"{LABEL}-{plan.build}",
                snapshot={"seeded": True},
            )
        )
        writer.event(decided, "release.decide", release, "pm", {"state": "go", "outcome": "go"})
        start = decided + timedelta(hours=2)
        writer.event(
            start, "release.rollout_start", release, "devops", {"state": "rolling_out", "stage_percent": 1}
        )
        writer.result(release, "smoke", "passed", start + timedelta(minutes=10), f"{plan.build}-smoke")
        at = start
        if plan.fate in (RESUMED, ROLLED_BACK):
            halted = start + timedelta(hours=2, minutes=15)
            reason = (
                "error rate 2.4 % over the 1 % bound" if plan.fate == ROLLED_BACK else "p95 latency 950 ms"
            )
            writer.event(halted, "release.halt", release, "system", {"state": "halted", "reason": reason})
            if plan.fate == ROLLED_BACK:
                back = halted + timedelta(minutes=plan.minutes + 20)
                writer.event(
                    back,
                    "release.roll_back",
                    release,
                    "devops",
                    {"state": "rolled_back", "minutes": plan.minutes},
                )
                rollbacks.append(
                    Rollback(
                        release=release,
                        product=release.product,
                        minutes=plan.minutes,
                        notes="Feature flag off, then the previous build restored; error rate back within bounds.",
                        recorded_by=users["devops"],
                        rolled_back_at=back,
                    )
                )
                release.state, release.state_changed_at, release.rollout_percent = (
                    ReleaseState.ROLLED_BACK,
                    back,
                    1,
                )
                continue
            at = halted + timedelta(minutes=50)
            writer.event(at, "release.rollout_resume", release, "devops", {"state": "rolling_out"})
        for percent in (5, 20):
            at += timedelta(hours=2, minutes=10 + (plan.build * 3) % 50)
            writer.event(at, "release.rollout_advance", release, "devops", {"stage_percent": percent})
        at += timedelta(hours=3)
        writer.event(
            at, "release.rollout_finish", release, "devops", {"state": "released", "stage_percent": 100}
        )
        release.state, release.state_changed_at, release.rollout_percent = ReleaseState.RELEASED, at, 100
    for release in releases.values():
        Release.objects.filter(pk=release.pk).update(
            state=release.state,
            state_changed_at=release.state_changed_at,
            rollout_percent=release.rollout_percent,
            rollout_stage_started_at=release.state_changed_at,
        )
    GateResult.objects.bulk_create(writer.results)
    states_rebuild(r.pk for r in releases.values())  # written around the writer: fold them
    Decision.objects.bulk_create(decisions)
    Rollback.objects.bulk_create(rollbacks)
    _rehearsals(products, weeks, users)
    _defect(releases, created_at, users)
    _reviews(weeks, failures, users, writer)
    AuditEvent.objects.bulk_create(sorted(writer.events, key=lambda e: e.at))
    return [f"wrote {WEEKS} weeks of history: {len(releases)} releases, {len(rollbacks)} rollbacks, reviews"]


def _rehearsals(products: dict[str, Product], weeks: list[Week | None], users: dict[str, User]) -> None:
    rows = []
    for kind, table, who in (
        (RehearsalKind.ROLLBACK, ROLLBACK_REHEARSALS, "devops"),
        (RehearsalKind.RELEASE, RELEASE_REHEARSALS, "qa"),
    ):
        for slug, entries in table.items():
            for k, minutes, passed in entries:
                week = weeks[k]
                assert week is not None
                rows.append(
                    Rehearsal(
                        product=products[slug],
                        kind=kind,
                        performed_on=week.first_day + timedelta(days=3),
                        minutes=minutes,
                        outcome="passed" if passed else "failed",
                        notes="Timed on staging."
                        if passed
                        else "Took longer than planned: see the action item.",
                        recorded_by=users[who],
                    )
                )
    Rehearsal.objects.bulk_create(rows)


def _defect(
    releases: dict[tuple[str, str], Release],
    created_at: dict[tuple[str, str], datetime],
    users: dict[str, User],
) -> None:
    """The critical defect behind the rolled-back iOS release."""
    plan = next(p for p in _plans() if p.product == "ios-app" and p.fate == ROLLED_BACK)
    release = releases[(plan.product, plan.version)]
    reported = created_at[(plan.product, plan.version)] + timedelta(hours=24, minutes=30)
    extra = {"resolution": "Fixed in the next build; the rollout was rolled back meanwhile."}
    Defect.objects.create(
        release=release,
        title="Checkout crashes after the payment sheet closes",
        severity=Severity.CRITICAL,
        state=DefectState.RESOLVED,
        tracker_url="https://tracker.example.com/IOS-451",
        reported_by=users["qa"],
        reported_at=reported,
        resolved_by=users["qa"],
        resolved_at=reported + timedelta(days=2),
        **{k: v for k, v in extra.items() if any(f.name == k for f in Defect._meta.fields)},
    )


def _reviews(
    weeks: list[Week | None],
    failures: list[tuple[Plan, Release, str]],
    users: dict[str, User],
    writer: _Writer,
) -> None:
    """Each past week's review (Thursday 10:00, about 15 minutes) and its action items: a
    fix for one failure of each gate that week, and a prevention change now and then."""
    people = ["pm", "qa", "mobile", "backend", "devops"]
    today = timezone.localdate()
    reviews, items = [], []
    for k, week in enumerate(weeks):
        assert week is not None
        held = _monday(week) + timedelta(days=3, hours=10)
        reviews.append(
            WeeklyReview(
                year=week.year,
                week=week.week,
                attendees=people if k % 3 else people[:4],
                notes={
                    "q1": "Went through the week's failures and halts.",
                    "q2": "Owners agreed; dates set.",
                    "q3": "Rehearsal minutes checked against the targets.",
                    "q4": "One prevention change agreed.",
                },
                started_by=users["pm"],
                started_at=held,
                timer_started_at=held,
                ended_at=held + timedelta(minutes=13 + k % 4),
            )
        )
        seen: set[tuple[str, str]] = set()
        for plan, release, key in failures:
            if plan.week != k or (plan.product, key) in seen:
                continue
            seen.add((plan.product, key))
            gate = writer.gates[key]
            due = (held + timedelta(days=7)).date()
            done = k < WEEKS - 2 and len(seen) % 4 != 0
            owner = users["mobile" if gate.owner_role == "mobile_lead" else "backend"]
            items.append(
                ActionItem(
                    kind=ActionKind.FIX,
                    title=f"Fix “{gate.name}” on {release}",
                    owner=owner,
                    due_on=due,
                    state=ActionState.DONE if done else ActionState.OPEN,
                    product=release.product,
                    gate=gate,
                    failure=next(
                        r
                        for r in writer.results
                        if r.release_id == release.pk and r.gate_id == gate.pk and r.status == "failed"
                    ),
                    created_by=users["pm"],
                    created_at=held + timedelta(minutes=4),
                    done_by=owner if done else None,
                    done_at=datetime.combine(min(due, today), time(15), tzinfo=held.tzinfo) if done else None,
                )
            )
        if k % 3 == 1:
            due = (held + timedelta(days=14)).date()
            done = k < WEEKS - 3
            items.append(
                ActionItem(
                    kind=ActionKind.PREVENTION,
                    title=[
                        "Quarantine flaky e2e tests automatically after two re-runs",
                        "Run the contract tests on every pull request",
                        "Alert on p95 latency at 1 % of users, not only at 5 %",
                        "Rehearse the API rollback with the new migration tool",
                    ][k // 3],
                    owner=users["devops" if k // 3 % 2 else "backend"],
                    due_on=due,
                    state=ActionState.DONE if done else ActionState.OPEN,
                    created_by=users["pm"],
                    created_at=held + timedelta(minutes=12),
                    done_by=users["devops" if k // 3 % 2 else "backend"] if done else None,
                    done_at=datetime.combine(due, time(11), tzinfo=held.tzinfo) if done else None,
                )
            )
    WeeklyReview.objects.bulk_create(reviews, ignore_conflicts=True)  # a week reviewed for real stays
    ActionItem.objects.bulk_create(items)
