"""The rollout as the board shows it after Go: the stage, its soak, its health against
each bound with the last samples and their source, the smoke gates, what the next step
needs, why it halted, and for a finished rollout a summary of its stages.

Read only by the banner and the operations panel (lazily, docs/board.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from operations.health import StageHealth, bounds_of, health_shown, soak_until, stage_health
from operations.models import HealthSample
from operations.monitoring import problem_text
from operations.rollout import advance_blocker, halted_since, resume_blocker
from releases.health_words import METRICS, breach_text, source_label, value_text
from releases.models import ReleaseState

from .rollout import standing_of
from .selectors import ReleaseBoard

RECENT = 5  # samples listed under the bounds
STAGE_ACTIONS = ("release.rollout_start", "release.rollout_advance", "release.rollout_finish")


@dataclass(frozen=True)
class BoundRow:
    metric: str
    label: str
    bound: str  # "≤ 1.0 %", "≥ 99.5 %"
    value: str  # the newest value, or "—"
    status: str  # ok | bad | unknown
    source: str = ""
    sampled_at: datetime | None = None


@dataclass(frozen=True)
class StageRow:
    """One stage of a finished (or running) rollout: when it began and ended, who moved
    it, and what its health samples said."""

    percent: int
    began: datetime
    ended: datetime | None
    by: str
    samples: int
    breaches: int
    worst: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RolloutPanel:
    state: str
    began: datetime | None = None
    soak_until: datetime | None = None
    health: StageHealth | None = None
    bounds: list[BoundRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    recent: list[HealthSample] = field(default_factory=list)
    smoke: list[tuple[str, str]] = field(default_factory=list)  # (gate name, status)
    blocker: str = ""  # why the stage may not advance now (rolling out), or resume (halted)
    halt_why: list[str] = field(default_factory=list)
    halt: dict[str, Any] = field(default_factory=dict)
    stages: list[StageRow] = field(default_factory=list)

    @property
    def soak_left_minutes(self) -> int:
        if self.soak_until is None:
            return 0
        left = (self.soak_until - timezone.now()).total_seconds()
        return max(0, int(left // 60) + (1 if left % 60 else 0))

    @property
    def soaked(self) -> bool:
        return self.soak_until is None or timezone.now() >= self.soak_until

    @property
    def may_advance(self) -> bool:
        return self.state == ReleaseState.ROLLING_OUT and not self.blocker


def _bound_text(metric: str, bound: float, minimum: bool) -> str:
    return f"{'≥' if minimum else '≤'} {value_text(metric, bound)}"


def _bound_rows(board: ReleaseBoard, health: StageHealth) -> list[BoundRow]:
    rows = []
    newest = sorted(health.newest.values(), key=lambda s: (s.sampled_at, s.pk), reverse=True)
    for metric, (bound, minimum) in bounds_of(board.release.product).items():
        sample = next((s for s in newest if getattr(s, metric) is not None), None)
        value = getattr(sample, metric) if sample else None
        if value is None:
            status = "unknown"
        else:
            status = "bad" if (value < bound if minimum else value > bound) else "ok"
        rows.append(
            BoundRow(
                metric=metric,
                label=str(METRICS[metric][0]),
                bound=_bound_text(metric, bound, minimum),
                value=value_text(metric, value),
                status=status,
                source=source_label(sample.source) if sample else "",
                sampled_at=sample.sampled_at if sample else None,
            )
        )
    return rows


def halt_words(halt: dict[str, Any]) -> list[str]:
    """Why the rollout halted, in the active language."""
    kind = halt.get("kind", "person")
    if kind == "breach":
        breaches = halt.get("breaches") or [halt]
        return [breach_text(b, source=halt.get("source", ""), at=halt.get("sampled_at")) for b in breaches]
    if kind == "smoke":
        name = halt.get("gate_name") or halt.get("gate") or "?"
        text = _("The smoke test “%(gate)s” failed after deploy.") % {"gate": _(name)}
        return [f"{text} {halt['summary']}" if halt.get("summary") else text]
    return [str(halt.get("reason", ""))]


def _stages(board: ReleaseBoard) -> list[StageRow]:
    """The stages so far, from the audit trail (one query) and the samples of each
    stage's window (one aggregate query per stage: a rollout has a handful)."""
    release = board.release
    events = list(
        AuditEvent.objects.filter(release_id=release.pk, action__in=STAGE_ACTIONS)
        .order_by("at", "id")
        .values_list("at", "actor_label", "after")
    )
    rows = []
    for i, (at, by, after) in enumerate(events):
        percent = (after or {}).get("stage_percent")
        if percent is None:
            continue
        ended = events[i + 1][0] if i + 1 < len(events) else None
        window = HealthSample.objects.filter(release=release, sampled_at__gte=at)
        if ended is not None:
            window = window.filter(sampled_at__lt=ended)
        agg = window.aggregate(
            n=Count("id"),
            bad=Count("id", filter=~Q(breaches=[])),
            error_rate=Max("error_rate"),
            p95_latency_ms=Max("p95_latency_ms"),
            rate_429=Max("rate_429"),
            crash_free_sessions=Min("crash_free_sessions"),
        )
        worst = [
            f"{METRICS[m][0]} {value_text(m, agg[m])}"
            for m in ("error_rate", "p95_latency_ms", "rate_429", "crash_free_sessions")
            if agg[m] is not None
        ]
        who = _("system") if by == "system" else by
        rows.append(StageRow(percent, at, ended, who, agg["n"], agg["bad"], worst))
    return rows


def rollout_panel(board: ReleaseBoard) -> RolloutPanel:
    release = board.release
    state = release.state
    if state not in (
        ReleaseState.ROLLING_OUT,
        ReleaseState.HALTED,
        ReleaseState.RELEASED,
        ReleaseState.ROLLED_BACK,
    ):
        return RolloutPanel(state=state)
    if state in (ReleaseState.RELEASED, ReleaseState.ROLLED_BACK):
        return RolloutPanel(state=state, stages=_stages(board), halt=release.halt or {})
    halt = release.halt or {}
    health = stage_health(release, since=halted_since(release) if state == ReleaseState.HALTED else None)
    standing = standing_of(board)
    if state == ReleaseState.ROLLING_OUT:
        refusal = advance_blocker(release, standing, health=health)
    else:
        refusal = resume_blocker(release, health)
    if state == ReleaseState.HALTED:
        health = health_shown(release, health)
    problems = [problem_text({"source": s.source, **p}) for s in health.newest.values() for p in s.problems]
    return RolloutPanel(
        state=state,
        began=release.rollout_stage_started_at,
        soak_until=soak_until(release) if state == ReleaseState.ROLLING_OUT else None,
        health=health,
        bounds=_bound_rows(board, health),
        problems=problems,
        recent=list(HealthSample.objects.filter(release=release).order_by("-sampled_at", "-id")[:RECENT]),
        smoke=[(row.gate.name, row.display_status) for row in board.gates if row.gate.phase == "post_deploy"],
        blocker=str(refusal) if refusal is not None else "",
        halt_why=halt_words(halt) if state == ReleaseState.HALTED else [],
        halt=halt,
    )
