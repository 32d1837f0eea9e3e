"""The staged rollout after Go (DevOps): start, advance a stage, halt, resume, roll back.

The rollout may only move while the Go decision stands, and only past post-deploy gates
that passed. Those are the board's to say (operations does not read the verdict): each
step takes a `standing` callable, the port `RolloutStanding` below, which the board layer
(`board.rollout`) passes in. Health bounds are operations' own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.errors import Conflict, NotAllowed, RuleViolation
from core.when import when_text
from live.services import live_notify
from releases.events import event_emit
from releases.health_words import breach_text, source_label
from releases.lifecycle import ensure_state, release_halt, release_lock_get, transition
from releases.models import Release, ReleaseState

from .health import StageHealth, health_shown, soak_until, stage_health
from .models import Rollback
from .monitoring import problem_text

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
    post_deploy_failed: tuple[tuple[str, str], ...] = ()


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


def _at(moment: datetime | None) -> str:
    return when_text(moment) if moment else "—"


def _health_refusal(health: StageHealth, *, resuming: bool) -> Conflict | None:
    """Why the stage's health does not allow the step (None: it does), saying when it may."""
    if health.in_bounds:
        return None
    if health.status == "breach":
        last = next(s for s in health.newest.values() if s.breaches)
        return Conflict(
            "health_out_of_bounds",
            _("The newest health sample (%(at)s) is out of bounds: %(what)s. Wait for one within bounds.")
            % {
                "at": _at(last.sampled_at),
                "what": "; ".join(breach_text(b, source=last.source) for b in last.breaches),
            },
        )
    if health.status == "inconclusive":
        last = next(s for s in health.newest.values() if s.problems)
        return Conflict(
            "health_inconclusive",
            _(
                "Health is inconclusive: %(why)s (%(at)s). A stage moves only on a sample within "
                "bounds; the next sample is due at %(next)s."
            )
            % {
                "why": " ".join(problem_text({"source": last.source, **p}) for p in last.problems),
                "at": _at(last.sampled_at),
                "next": _at(health.next_sample_at()),
            },
        )
    since = _("the halt") if resuming else _("the stage began")
    if health.sources:
        return Conflict(
            "health_no_sample",
            _("No health sample from %(sources)s since %(since)s (%(at)s); the next is due at %(next)s.")
            % {
                "sources": ", ".join(source_label(k) for k in health.missing),
                "since": since,
                "at": _at(health.since),
                "next": _at(health.next_sample_at()),
            },
        )
    return Conflict(
        "health_no_sample",
        _(
            "No health sample since %(since)s (%(at)s): monitoring must send one within bounds "
            "(POST …/health), or the product needs a monitoring source."
        )
        % {"since": since, "at": _at(health.since)},
    )


def halted_since(release: Release) -> datetime:
    return datetime.fromisoformat(release.halt["at"]) if release.halt else release.state_changed_at


def live_health(release: Release) -> StageHealth | None:
    """The stage health said of a release after Go (the dashboard, the API): while it
    rolls out, its stage's samples; halted, those since the halt, or while none has come
    in those that stood at it (`health_shown`: a breach halt stays a breach). None before
    Go or after the rollout."""
    if release.state == ReleaseState.ROLLING_OUT:
        return stage_health(release)
    if release.state == ReleaseState.HALTED:
        return health_shown(release, stage_health(release, since=halted_since(release)))
    return None


def resume_blocker(release: Release, health: StageHealth | None = None) -> Conflict | None:
    """Why a halted rollout may not resume yet (None: it may): it needs a sample within
    bounds from every source, taken since the halt."""
    return _health_refusal(health or stage_health(release, since=halted_since(release)), resuming=True)


def advance_blocker(
    release: Release, standing: Standing, *, now: datetime | None = None, health: StageHealth | None = None
) -> Conflict | None:
    """Why the current stage may not advance yet, the first missing condition (None: it
    may): smoke after deploy passed, the soak time over, health in bounds on a sample
    taken since the stage began."""
    unpassed = standing.post_deploy_unpassed
    if unpassed:
        return Conflict(
            "post_deploy_gate_not_passed",
            # The gate's name says it runs after deploy ("Smoke test after deploy"): not again.
            _("“%(gate)s” has not passed yet: the rollout advances once it has.")
            % {"gate": _(unpassed[0][1])},
            gates=[key for key, _name in unpassed],
        )
    until = soak_until(release)
    if until is not None and (now or timezone.now()) < until:
        return Conflict(
            "soak_not_done",
            _(
                "Stage %(percent)s %% soaks for %(minutes)s min, until %(until)s: it may advance "
                "after that, with a sample within bounds."
            )
            % {
                "percent": release.rollout_percent,
                "minutes": release.product.soak_minutes,
                "until": _at(until),
            },
            soak_until=until.isoformat(),
        )
    return _health_refusal(health or stage_health(release), resuming=False)


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
    release.rollout_stage_started_at = timezone.now()
    release.save(update_fields=["rollout_percent", "rollout_stage_started_at"])
    transition(
        release,
        ReleaseState.ROLLING_OUT,
        actor=actor,
        action="release.rollout_start",
        note={"stage_percent": release.rollout_percent},
    )
    event_emit(
        "rollout.started",
        release=release,
        actor=actor,
        data={"stage_percent": release.rollout_percent, "by": _who(actor)},
    )
    return release


@transaction.atomic
def rollout_resume(*, release: Release, actor: User | None, standing: RolloutStanding) -> Release:
    """Halted → rolling out again (DevOps), on a sample within bounds taken since the
    halt, while the decision is Go and the verdict still ready. The stage soaks again."""
    release = release_lock_get(release)
    _ensure_devops(actor, release)
    ensure_state(
        release, ReleaseState.HALTED, _("Only a halted rollout can be resumed; this release is “%(state)s”.")
    )
    now_standing = standing(release)
    _ensure_go_in_force(now_standing, resuming=True)
    if now_standing.post_deploy_failed:
        raise Conflict(
            "post_deploy_gate_failed",
            _("“%(gate)s” after deploy has failed: it must pass again before the rollout resumes.")
            % {"gate": _(now_standing.post_deploy_failed[0][1] or now_standing.post_deploy_failed[0][0])},
            gates=[key for key, _name in now_standing.post_deploy_failed],
        )
    refusal = resume_blocker(release)
    if refusal is not None:
        raise refusal
    release.halt = None
    release.rollout_stage_started_at = timezone.now()
    release.save(update_fields=["halt", "rollout_stage_started_at"])
    transition(release, ReleaseState.ROLLING_OUT, actor=actor, action="release.rollout_resume")
    event_emit(
        "rollout.resumed",
        release=release,
        actor=actor,
        data={"by": _who(actor), "stage_percent": release.rollout_percent},
    )
    return release


def _who(actor: User | None) -> str:
    return actor.get_username() if actor is not None and actor.is_authenticated else "system"


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
    *,
    release: Release,
    actor: User | None,
    standing: RolloutStanding,
    to: int | None = None,
    system: bool = False,
) -> Release:
    """The next stage of the staged rollout (DevOps): 1 % → 5 % → 20 % → 100 % by default,
    once the stage has soaked, its health is within bounds on a sample taken since it
    began, and (past the first stage) every smoke gate after deploy has passed. Reaching
    the last stage, the release is fully rolled out. `to` is the stage the person saw on
    the button: if the rollout moved on meanwhile, nothing happens and they are told.
    `system`: the product's auto-advance (no person; recorded as done by the system)."""
    release = release_lock_get(release)
    if not system:
        _ensure_devops(actor, release)
    ensure_state(
        release,
        ReleaseState.ROLLING_OUT,
        _("Only a release rolling out can advance to its next stage; this one is “%(state)s”."),
    )
    following = rollout_next(release)
    if to is not None and to != following:
        raise Conflict(
            "stage_moved",
            _(
                "The rollout is at %(now)s %% already (you asked for %(asked)s %%): look again before advancing."
            )
            % {"now": release.rollout_percent, "asked": to},
        )
    refusal = advance_blocker(release, standing(release))
    if refusal is not None:
        raise refusal
    before = release.rollout_percent
    label = "system" if system else ""
    release.rollout_percent = following
    release.rollout_stage_started_at = timezone.now()
    release.save(update_fields=["rollout_percent", "rollout_stage_started_at"])
    if following == 100:
        transition(
            release,
            ReleaseState.RELEASED,
            actor=actor,
            actor_label=label,
            action="release.rollout_finish",
            note={"stage_percent": 100, "from_percent": before},
        )
        event_emit("rollout.completed", release=release, actor=actor, data={"by": _who(actor)})
        return release
    audit_record(
        actor=actor,
        actor_label=label,
        action="release.rollout_advance",
        obj=release,
        before={"stage_percent": before},
        after={"stage_percent": following},
        release_id=release.pk,
    )
    event_emit(
        "rollout.advanced",
        release=release,
        actor=actor,
        data={"from_percent": before, "stage_percent": following, "by": _who(actor)},
    )
    live_notify(release_id=release.pk, change="release")
    return release


def rollout_auto_advance(*, release: Release, standing: RolloutStanding) -> bool:
    """Advance by itself when the product says so and the stage may advance (soaked, in
    bounds, smoke passed). True when it advanced. Never raises for a stage not ready."""
    if not release.product.auto_advance or release.state != ReleaseState.ROLLING_OUT:
        return False
    until = soak_until(release)
    if until is not None and timezone.now() < until:
        return False  # the cheap check first: no board is read for a stage still soaking
    try:
        rollout_advance(release=release, actor=None, standing=standing, system=True)
    except (Conflict, NotAllowed):
        return False
    return True


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
    halted = release_halt(release=release, actor=actor, reason=reason, facts={"kind": "person"})
    event_emit("rollout.halted", release=halted, actor=actor, data={"halt": halted.halt, "automatic": False})
    return halted


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
    event_emit(
        "rollback.recorded",
        release=release,
        actor=actor,
        data={"minutes": taken, "target_minutes": release.product.rollback_target_minutes, "by": _who(actor)},
    )
    return release
