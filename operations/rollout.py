"""The staged rollout after Go (DevOps): start, advance a stage, halt, resume, roll back.

The rollout may only move while the Go decision stands, and only past post-deploy gates
that passed. Those are the board's to say (operations does not read the verdict): each
step takes a `standing` callable, the port `RolloutStanding` below, which the board layer
(`board.rollout`) passes in. Health bounds are operations' own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.errors import Conflict, NotAllowed, RuleViolation
from live.services import live_notify
from releases.lifecycle import ensure_state, release_halt, release_lock_get, transition
from releases.models import Release, ReleaseState

from .models import HealthSample, Rollback

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class Standing:
    """What the board says about a release, read under its row lock: whether the newest
    decision is Go, whether the evidence is the one it was called on (and no rule it stood
    on was weakened), whether the verdict is ready, and the post-deploy gates that have not
    passed, as (key, name)."""

    go_called: bool
    evidence_unchanged: bool
    ready: bool
    post_deploy_unpassed: tuple[tuple[str, str], ...] = ()


# The port: given the locked release, the board's standing of it.
RolloutStanding = Callable[[Release], Standing]


def _ensure_devops(actor: User | None, release: Release) -> None:
    if not can(actor, Capability.ADVANCE_ROLLOUT, release.product):
        raise NotAllowed("devops_only", _("Only DevOps runs the rollout of this product."))


def _ensure_go_in_force(standing: Standing, *, resuming: bool = False) -> None:
    """The newest decision is Go and the verdict is still ready; before the rollout, also on
    unchanged evidence. (Resuming, the evidence has moved on: smoke results and health
    samples arrive during a rollout. What must hold is the Go and a ready verdict.)"""
    if not (standing.go_called and (resuming or standing.evidence_unchanged) and standing.ready):
        raise Conflict(
            "go_not_standing",
            _(
                "The Go decision no longer stands (the evidence changed or a blocker appeared): "
                "the PM/PO decides again first."
            ),
        )


def _ensure_health_in_bounds(release: Release) -> None:
    newest = HealthSample.objects.filter(release=release).order_by("-sampled_at", "-id").first()
    if newest is not None and newest.breaches:
        raise Conflict(
            "health_out_of_bounds",
            _("The newest health sample (%(at)s) is out of bounds: %(what)s. Wait for one within bounds.")
            % {
                "at": timezone.localtime(newest.sampled_at).strftime("%Y-%m-%d %H:%M"),
                "what": newest.breach_text,
            },
        )


@transaction.atomic
def rollout_start(*, release: Release, actor: User | None, standing: RolloutStanding) -> Release:
    """Go → rolling out (DevOps), only while the Go decision stands: decided, not stale,
    verdict still ready. Nothing ships around a failing gate."""
    release = release_lock_get(release)
    _ensure_devops(actor, release)
    ensure_state(
        release,
        ReleaseState.GO,
        _("Only a release called Go can start rolling out; this one is “%(state)s”."),
    )
    _ensure_go_in_force(standing(release))
    release.rollout_percent = rollout_stages(release)[0]
    release.save(update_fields=["rollout_percent"])
    transition(
        release,
        ReleaseState.ROLLING_OUT,
        actor=actor,
        action="release.rollout_start",
        note={"stage_percent": release.rollout_percent},
    )
    return release


@transaction.atomic
def rollout_resume(*, release: Release, actor: User | None, standing: RolloutStanding) -> Release:
    """Halted → rolling out again (DevOps), once health is back within bounds, while the
    decision is Go and the verdict still ready."""
    release = release_lock_get(release)
    _ensure_devops(actor, release)
    ensure_state(
        release, ReleaseState.HALTED, _("Only a halted rollout can be resumed; this release is “%(state)s”.")
    )
    _ensure_go_in_force(standing(release), resuming=True)
    _ensure_health_in_bounds(release)
    transition(release, ReleaseState.ROLLING_OUT, actor=actor, action="release.rollout_resume")
    return release


def rollout_stages(release: Release) -> list[int]:
    """The product's rollout stages in percent, ascending, ending at 100 (entries that are
    not whole percentages between 1 and 100 are left out)."""
    raw = release.product.rollout_stages
    stages = sorted(
        {
            p
            for p in (raw if isinstance(raw, list) else [])
            if isinstance(p, int) and not isinstance(p, bool) and 0 < p <= 100
        }
    )
    return stages if stages and stages[-1] == 100 else [*stages, 100]


def rollout_next(release: Release) -> int:
    """The stage an advance leads to: the first above the current one (100 at the end)."""
    stages = rollout_stages(release)
    current = release.rollout_percent or 0
    return next((p for p in stages if p > current), 100)


@transaction.atomic
def rollout_advance(
    *, release: Release, actor: User | None, standing: RolloutStanding, to: int | None = None
) -> Release:
    """The next stage of the staged rollout (DevOps): 1 % → 5 % → 20 % → 100 % by default.
    Past the first stage only with every smoke gate (after deploy) passed, and never past
    out-of-bounds health. Reaching the last stage, the release is fully rolled out. `to`
    is the stage the person saw on the button: if the rollout moved on meanwhile (a second
    click, a colleague), nothing happens and they are told."""
    release = release_lock_get(release)
    _ensure_devops(actor, release)
    ensure_state(
        release,
        ReleaseState.ROLLING_OUT,
        _("Only a release rolling out can advance to its next stage; this one is “%(state)s”."),
    )
    unpassed = standing(release).post_deploy_unpassed
    if unpassed:
        raise Conflict(
            "post_deploy_gate_not_passed",
            _("“%(gate)s” after deploy has not passed yet.") % {"gate": _(unpassed[0][1])},
            gates=[key for key, _name in unpassed],
        )
    _ensure_health_in_bounds(release)
    following = rollout_next(release)
    if to is not None and to != following:
        raise Conflict(
            "stage_moved",
            _(
                "The rollout is at %(now)s %% already (you asked for %(asked)s %%): look again before advancing."
            )
            % {"now": release.rollout_percent, "asked": to},
        )
    before = release.rollout_percent
    release.rollout_percent = following
    release.save(update_fields=["rollout_percent"])
    if following == 100:
        transition(
            release,
            ReleaseState.RELEASED,
            actor=actor,
            action="release.rollout_finish",
            note={"stage_percent": 100},
        )
        return release
    audit_record(
        actor=actor,
        action="release.rollout_advance",
        obj=release,
        before={"stage_percent": before},
        after={"stage_percent": following},
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="release")
    return release


MAX_MINUTES = 7 * 24 * 60  # a rollback or rehearsal of more than a week is a typo


def minutes_parse(raw: Any) -> int:
    """Whole minutes, 0 to a week, written with ASCII digits."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_MINUTES:
        raise RuleViolation(
            "minutes_invalid",
            _("Give the minutes it took as a whole number from 0 to %(max)s.") % {"max": MAX_MINUTES},
            field="minutes",
        )
    return int(text)


@transaction.atomic
def rollout_halt(*, release: Release, actor: User | None, reason: str) -> Release:
    """A person halts the rollout (DevOps), saying why."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("reason_required", _("Say why the rollout is halted."), field="reason")
    _ensure_devops(actor, release)
    return release_halt(release=release, actor=actor, reason=reason)


@transaction.atomic
def rollout_roll_back(*, release: Release, actor: User | None, minutes: Any, notes: str = "") -> Release:
    """A real rollback (DevOps) of a release rolling out, halted or released, with the
    minutes it took: kept beside the product's rollback target."""
    taken = minutes_parse(minutes)
    release = release_lock_get(release)
    _ensure_devops(actor, release)
    transition(
        release, ReleaseState.ROLLED_BACK, actor=actor, action="release.roll_back", note={"minutes": taken}
    )
    Rollback.objects.create(
        release=release,
        product=release.product,
        minutes=taken,
        notes=(notes or "").strip(),
        recorded_by=actor,
        rolled_back_at=release.state_changed_at,
    )
    return release
