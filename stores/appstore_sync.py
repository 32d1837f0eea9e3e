"""Apple's phased release read back (on a schedule and after each change), kept per
release, and compared with the board: a difference is shown in words and alerted once
(`store.drift`) per new difference."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from live.services import live_notify
from releases.events import event_emit
from releases.models import Release, ReleaseState

from .appstore_client import AscFailure, Phase, phase_get, version_find
from .models import AppStoreChange, AppStoreChangeStatus, AppStorePhasedRelease, AppStoreSource

# Released (or rolled back) this recently, a release is still read: Apple's 7 days, and
# up to 30 days of pauses, may outlast the board's last step.
READ_AFTER_DONE = timedelta(days=10)

# Apple's state beside the board's that disagree (the key says both).
DRIFTS = {
    ("ACTIVE", ReleaseState.HALTED),
    ("ACTIVE", ReleaseState.ROLLED_BACK),
    ("PAUSED", ReleaseState.ROLLING_OUT),
    ("PAUSED", ReleaseState.RELEASED),
    ("ACTIVE", ReleaseState.RELEASED),
    ("COMPLETE", ReleaseState.ROLLING_OUT),
    ("COMPLETE", ReleaseState.HALTED),
}


def drift_key_of(release: Release, state: str) -> str:
    """`STATE/board_state` when Apple's state disagrees with the board's, else ''. While
    a change is on its way, its answer is awaited first (no drift)."""
    if not state or (state, release.state) not in DRIFTS:
        return ""
    waiting = AppStoreChange.objects.filter(release=release, status=AppStoreChangeStatus.PENDING).exists()
    return "" if waiting else f"{state}/{release.state}"


def phase_store(
    *, release: Release, phase: Phase | None, version_id: str = "", read_at: datetime, error: str = ""
) -> AppStorePhasedRelease:
    """Keep what Apple said (in the caller's transaction), and the drift it makes: a new
    difference emits `store.drift` once."""
    row, _created = AppStorePhasedRelease.objects.select_for_update().get_or_create(release=release)
    if (row.read_at is not None and row.read_at > read_at) or AppStoreChange.objects.filter(
        release=release, done_at__gt=read_at
    ).exists():
        return row  # read before a newer answer landed: what Apple says now is already kept
    before = (row.state, row.current_day, row.drift_key, row.read_error)
    if version_id:
        row.version_id = version_id
    row.read_at = read_at
    row.read_error = error[:2000]
    if phase is not None:
        row.phased_release_id = phase.id or row.phased_release_id
        row.state = phase.state if phase.state in ("INACTIVE", "ACTIVE", "PAUSED", "COMPLETE") else ""
        row.current_day = phase.current_day
        row.start_date = phase.start_date
        row.total_pause_days = phase.total_pause_days
    elif not error:
        row.phased_release_id, row.state, row.current_day = "", "", None
    key = drift_key_of(release, row.state) if not error else row.drift_key
    if key != row.drift_key:
        row.drift_key, row.drift_since = key, (read_at if key else None)
        if key:
            event_emit(
                "store.drift",
                release=release,
                data={
                    "store": "app_store",
                    "store_name": "App Store",
                    "theirs": theirs_text(row),
                    "ours": ours_text(release),
                },
            )
    row.save()
    if before != (row.state, row.current_day, row.drift_key, row.read_error):
        audit_record(
            actor=None,
            action="store.appstore_read",
            obj=row,
            before={"state": before[0], "day": before[1], "drift": before[2]},
            after={
                "state": row.state,
                "day": row.current_day,
                "drift": row.drift_key,
                "error": row.read_error,
            },
            release_id=release.pk,
            actor_label="App Store Connect",
        )
    live_notify(release_id=release.pk, change="store")
    return row


def theirs_text(row: AppStorePhasedRelease) -> str:
    """Apple's state for an alert (English, like Apple's own words)."""
    day = f" (day {row.current_day} of 7)" if row.current_day else ""
    return {
        "ACTIVE": "releasing in phases",
        "PAUSED": "paused",
        "COMPLETE": "released to everyone",
        "INACTIVE": "not started",
    }.get(row.state, row.state) + day


def ours_text(release: Release) -> str:
    if release.state == ReleaseState.ROLLING_OUT:
        return f"rolling out at {release.rollout_percent or 0} %"
    return str(release.state).replace("_", " ")


def appstore_read(*, release_id: int) -> str:
    """Read the release's phased release from App Store Connect and keep it: `read`,
    `failed` (the reason kept, shown on the board) or `skipped` (no source)."""
    release = Release.objects.select_related("product").filter(pk=release_id).first()
    if release is None:
        return "skipped"
    source = AppStoreSource.objects.filter(product_id=release.product_id, active=True).first()
    if source is None:
        return "skipped"
    known = AppStorePhasedRelease.objects.filter(release=release).first()
    version_id = known.version_id if known else ""
    now = timezone.now()
    try:
        version_id = version_id or version_find(source, release.version) or ""
        if not version_id:
            error = f"App Store Connect has no iOS version {release.version} of the app {source.app_id}."
            with transaction.atomic():
                phase_store(release=release, phase=None, read_at=now, error=error)
            return "failed"
        phase = phase_get(source, version_id)
    except AscFailure as failure:
        with transaction.atomic():
            phase_store(release=release, phase=None, read_at=now, error=failure.message)
        return "failed"
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release.pk)
        phase_store(release=release, phase=phase, version_id=version_id, read_at=now)
    return "read"


def reads_due(*, now: datetime | None = None) -> list[int]:
    """The releases the beat reads back: rolling out or halted, or released or rolled back
    within READ_AFTER_DONE, of products with an App Store source switched on."""
    now = now or timezone.now()
    products = AppStoreSource.objects.filter(active=True).values("product_id")
    live = Release.objects.filter(
        product_id__in=products, state__in=[ReleaseState.ROLLING_OUT, ReleaseState.HALTED]
    )
    done = Release.objects.filter(
        product_id__in=products,
        state__in=[ReleaseState.RELEASED, ReleaseState.ROLLED_BACK],
        state_changed_at__gte=now - READ_AFTER_DONE,
    )
    return sorted({*live.values_list("pk", flat=True), *done.values_list("pk", flat=True)})
