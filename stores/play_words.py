"""Google Play's rollout in words, for the board and the alerts: what the board wants on
the track, what Play says, and the difference between them."""

from __future__ import annotations

from django.utils.translation import gettext as _

from releases.models import Release, ReleaseState

from .models import PlayCall, PlayStatus, PlayTrackReading


def version_code_of(release: Release) -> str:
    """The release's versionCode on Play: its build number (docs/google-play.md)."""
    return str(release.build_number)


def board_wants(release: Release) -> tuple[str, float | None] | None:
    """The Play status and percentage the board's rollout means (None: nothing to compare,
    before the rollout, or after the rollback of a completed one)."""
    percent = float(release.rollout_percent or 0)
    if release.state == ReleaseState.ROLLING_OUT:
        return (PlayStatus.COMPLETED, 100.0) if percent >= 100 else (PlayStatus.IN_PROGRESS, percent)
    if release.state == ReleaseState.HALTED:
        return PlayStatus.HALTED, percent
    if release.state == ReleaseState.RELEASED:
        return PlayStatus.COMPLETED, 100.0
    if release.state == ReleaseState.ROLLED_BACK and 0 < percent < 100:
        return PlayStatus.HALTED, percent  # the rollback halted it where it stood
    return None


def _pct(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}"


def state_words(status: str, percent: float | None) -> str:
    """ "5 %", "halted at 5 %", "completed (100 %)"."""
    if status == PlayStatus.IN_PROGRESS:
        return _("%(p)s %%") % {"p": _pct(percent)}
    if status == PlayStatus.HALTED:
        return _("halted at %(p)s %%") % {"p": _pct(percent)}
    if status == PlayStatus.COMPLETED:
        return _("completed (100 %)")
    if status == PlayStatus.DRAFT:
        return _("a draft")
    return status


def play_words(reading: PlayTrackReading, release: Release, track: str) -> str:
    if not reading.status:
        return _("build %(code)s is not on the “%(track)s” track") % {
            "code": version_code_of(release),
            "track": track,
        }
    return state_words(reading.status, reading.percent)


def board_words(release: Release) -> str:
    wanted = board_wants(release)
    return state_words(*wanted) if wanted else release.get_state_display()


def differs(reading: PlayTrackReading, release: Release) -> bool:
    """Whether Play's track, as read, is not what the board says."""
    wanted = board_wants(release)
    if wanted is None or reading.read_at is None:
        return False
    status, percent = wanted
    if reading.status != status:
        return True
    if status == PlayStatus.COMPLETED:
        return False
    return reading.percent is None or abs(reading.percent - (percent or 0)) > 0.01


def drift_key(reading: PlayTrackReading, release: Release) -> str:
    """The difference as a stable key ('' when there is none): announced once."""
    if not differs(reading, release):
        return ""
    wanted = board_wants(release)
    assert wanted is not None
    return f"play={reading.status}:{_pct(reading.percent)} board={wanted[0]}:{_pct(wanted[1])}"[:200]


def step_words(call: PlayCall) -> str:
    """What the step asks of Play: "start at 1 %", "halt at 5 %", "complete (100 %)"."""
    p = _pct(call.percent)
    return {
        "rollout.started": _("start at %(p)s %%"),
        "rollout.advanced": _("advance to %(p)s %%"),
        "rollout.halted": _("halt at %(p)s %%"),
        "rollout.resumed": _("resume at %(p)s %%"),
        "rollout.completed": _("complete (100 %%)"),
    }.get(call.event, call.event) % {"p": p}
