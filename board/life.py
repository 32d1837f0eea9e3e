"""Where a release is in its life, in words, for the board's banner: the verdict before
the call; after it, who called it and when, the rollout's stage, why it halted, how long
the rollback took. Never "the PM/PO may call Go" once a decision stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit.models import AuditEvent
from operations.models import Rollback
from operations.rollout import rollout_stages
from releases.models import ReleaseState

from .selectors import ReleaseBoard

# The audit action that moved a release into each state (its actor and note are shown).
ENTERED_BY: dict[str, tuple[str, ...]] = {
    ReleaseState.ROLLING_OUT: ("release.rollout_start", "release.rollout_resume"),
    ReleaseState.HALTED: ("release.halt",),
    ReleaseState.RELEASED: ("release.rollout_finish",),
    ReleaseState.ROLLED_BACK: ("release.roll_back",),
    ReleaseState.CANCELLED: ("release.cancel",),
}


@dataclass(frozen=True)
class ReleaseLife:
    """The banner's facts. `phase` is `verdict` while the call is still to be made (a
    draft, a candidate, or a Go that no longer stands); else the release's state."""

    phase: str
    since: datetime
    by: str = ""
    reason: str = ""
    stage: int = 0  # 1-based index of the current stage, when rolling out or halted
    stages: tuple[int, ...] = ()
    percent: int | None = None
    rollback: Rollback | None = None

    @property
    def stage_count(self) -> int:
        return len(self.stages)


def _entered(release_id: int, state: str) -> AuditEvent | None:
    actions = ENTERED_BY.get(state)
    if not actions:
        return None
    return AuditEvent.objects.filter(release_id=release_id, action__in=actions).order_by("-at", "-id").first()


def release_life(board: ReleaseBoard) -> ReleaseLife:
    """At most two queries, and none while the verdict is what the banner shows."""
    release = board.release
    state = release.state
    if state in (ReleaseState.DRAFT, ReleaseState.CANDIDATE) or (
        state == ReleaseState.GO and not board.go_stands
    ):
        return ReleaseLife(phase="verdict", since=release.state_changed_at)
    if state in (ReleaseState.GO, ReleaseState.NO_GO):
        decision = board.decision
        return ReleaseLife(
            phase=state,
            since=decision.decided_at if decision else release.state_changed_at,
            by=decision.decided_by.get_username() if decision else "",
            reason=decision.rationale if decision else "",
        )
    event = _entered(release.pk, state)
    after: dict[str, Any] = (event.after or {}) if event else {}
    stages = tuple(rollout_stages(release))
    percent = release.rollout_percent
    stage = stages.index(percent) + 1 if percent in stages else 0
    return ReleaseLife(
        phase=state,
        since=release.state_changed_at,
        by=event.actor_label if event else "",
        reason=str(after.get("reason", "")),
        stage=stage,
        stages=stages,
        percent=percent,
        rollback=Rollback.objects.filter(release=release).first()
        if state == ReleaseState.ROLLED_BACK
        else None,
    )
