"""What the board shows of the App Store's phased release for a release: stored state
only (Apple is never asked while the board renders)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from releases.models import Release, ReleaseState

from .models import (
    AppStoreChange,
    AppStoreChangeStatus,
    AppStorePhasedRelease,
    AppStorePhaseState,
    AppStoreSource,
)

# Apple's fixed schedule: the share of users with automatic updates, per day (1 to 7).
APPLE_SCHEDULE = (1, 2, 5, 10, 20, 50, 100)


@dataclass(frozen=True)
class Step:
    """One day of Apple's schedule or one of the product's stages: `past`, `now`, `later`."""

    label: int
    percent: int
    mark: str


@dataclass(frozen=True)
class AppStorePanel:
    source: AppStoreSource
    phase: AppStorePhasedRelease | None
    schedule: tuple[Step, ...]
    stages: tuple[Step, ...]
    state_label: str
    last_change: AppStoreChange | None
    drift: str
    steps: tuple[str, ...]  # the buttons offered: pause, resume, complete
    hint: str
    last_origin: str = ""  # why the last change was wanted, in words


def _schedule(phase: AppStorePhasedRelease | None) -> tuple[Step, ...]:
    state = phase.state if phase else ""
    day = (phase.current_day or 0) if phase else 0
    steps = []
    for n, percent in enumerate(APPLE_SCHEDULE, start=1):
        if state == AppStorePhaseState.COMPLETE or (day and n < day):
            mark = "past"
        elif day and n == day and state in (AppStorePhaseState.ACTIVE, AppStorePhaseState.PAUSED):
            mark = "now"
        else:
            mark = "later"
        steps.append(Step(n, percent, mark))
    return tuple(steps)


def _stages(release: Release) -> tuple[Step, ...]:
    raw = release.product.rollout_stages
    stages = sorted(
        {
            p
            for p in (raw if isinstance(raw, list) else [])
            if isinstance(p, int) and not isinstance(p, bool) and 0 < p <= 100
        }
    )
    now = release.rollout_percent or 0
    done = release.state == ReleaseState.RELEASED
    return tuple(
        Step(i, p, "past" if done or p < now else "now" if p == now else "later")
        for i, p in enumerate(stages, start=1)
    )


def drift_words(key: str, release: Release, phase: AppStorePhasedRelease) -> str:
    if not key:
        return ""
    state, board_then = key.split("/", 1)
    if board_then != release.state:
        return ""  # the board moved since it was read: a change is on its way, or none is due
    day = phase.current_day or "?"
    if state == AppStorePhaseState.ACTIVE and release.state in (
        ReleaseState.HALTED,
        ReleaseState.ROLLED_BACK,
    ):
        return _(
            "Apple is still releasing the update (day %(day)s of 7) while the board's rollout is stopped: "
            "DevOps pauses it below."
        ) % {"day": day}
    if state == AppStorePhaseState.PAUSED and release.state == ReleaseState.ROLLING_OUT:
        return _(
            "Apple's phased release is paused (day %(day)s of 7) while the board's rollout runs at "
            "%(percent)s %%: DevOps resumes it below, or halts the board's rollout."
        ) % {"day": day, "percent": release.rollout_percent or 0}
    if release.state == ReleaseState.RELEASED:
        return _(
            "The board says fully rolled out; Apple says “%(state)s” (day %(day)s of 7): DevOps completes it below."
        ) % {"state": AppStorePhaseState(state).label, "day": day}
    if state != AppStorePhaseState.COMPLETE:
        return ""
    return _(
        "Apple has released the update to everyone while the board's rollout is “%(board)s”: "
        "Apple cannot take it back."
    ) % {"board": release.get_state_display()}


def origin_words(change: AppStoreChange) -> str:
    if change.origin == "button":
        who = change.requested_by.get_username() if change.requested_by else ""
        return _("by %(who)s on the board") % {"who": who} if who else _("a button on the board")
    return {
        "rollout.halted": _("the board's halt"),
        "rollback.recorded": _("the recorded rollback"),
        "rollout.resumed": _("the board's resume"),
        "rollout.completed": _("the board's last stage"),
    }.get(change.origin, change.origin)


def _offered(phase: AppStorePhasedRelease | None) -> tuple[tuple[str, ...], str]:
    state = phase.state if phase else ""
    if state == AppStorePhaseState.ACTIVE:
        return ("pause", "complete"), ""
    if state == AppStorePhaseState.PAUSED:
        return ("resume", "complete"), _("Apple lets a phased release stay paused for 30 days in all.")
    if state == AppStorePhaseState.COMPLETE:
        return (), _("Apple has released this version to everyone: there is nothing more to change.")
    if state == AppStorePhaseState.INACTIVE:
        return (), _("Apple starts the 7 days when the version is released in App Store Connect.")
    if phase is not None and phase.read_at and not phase.read_error and not phase.phased_release_id:
        return (), _("Phased release is not turned on for this version in App Store Connect.")
    return ("pause", "resume", "complete"), ""


def appstore_for_board(release: Release) -> AppStorePanel | None:
    source = AppStoreSource.objects.filter(product_id=release.product_id, active=True).first()
    if source is None:
        return None
    phase = AppStorePhasedRelease.objects.filter(release=release).first()
    last = (
        AppStoreChange.objects.filter(release=release)
        .exclude(status=AppStoreChangeStatus.REPLACED)
        .select_related("requested_by")
        .first()
    )
    steps, hint = _offered(phase)
    return AppStorePanel(
        source=source,
        phase=phase,
        schedule=_schedule(phase),
        stages=_stages(release),
        state_label=str(AppStorePhaseState(phase.state).label) if phase and phase.state else "",
        last_change=last,
        drift=drift_words(phase.drift_key, release, phase) if phase else "",
        steps=steps,
        hint=hint,
        last_origin=origin_words(last) if last else "",
    )
