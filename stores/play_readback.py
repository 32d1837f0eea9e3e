"""Google Play's track read back (docs/google-play.md): after each step and on the beat's
schedule for releases rolling out or halted. What Play says is stored (never read while
a board renders); a difference from the board is shown on the board and announced once
per new difference (`store.drift`). While a step is still on its way, Play is expected to
differ: nothing is announced then."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.errors import Conflict, NotAllowed
from live.services import live_notify
from releases.events import event_emit
from releases.models import Release, ReleaseState

from . import play_tasks
from .models import PlayCall, PlayCallState, PlaySource, PlayTrackReading
from .play_client import PlayError, Publisher, key_load, release_find
from .play_services import STORE, play_source_of
from .play_words import board_words, drift_key, play_words, version_code_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

READ_EVERY = timedelta(minutes=5)


def steps_under_way(release: Release) -> bool:
    return PlayCall.objects.filter(
        release=release, state__in=(PlayCallState.PENDING, PlayCallState.RUNNING)
    ).exists()


def play_track_read(*, release: Release) -> PlayTrackReading | None:
    """Read the release on its product's Play track now and store what Play says (or why
    it could not be read). None when the product has no active Play source."""
    source = play_source_of(release)
    if source is None:
        return None
    status, fraction, error = "", None, ""
    started = timezone.now()
    try:
        key = key_load(source.key_env, owner=f"Google Play {source.package_name}")
        track = Publisher(key, source.package_name).track_get(source.track)
        found = release_find(track, version_code_of(release))
        if found is not None:
            status = str(found.get("status") or "")
            raw = found.get("userFraction")
            fraction = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    except PlayError as exc:
        error = exc.message
    return _reading_store(
        release_id=release.pk, source=source, status=status, fraction=fraction, error=error, started=started
    )


@transaction.atomic
def _reading_store(
    *,
    release_id: int,
    source: PlaySource,
    status: str,
    fraction: float | None,
    error: str,
    started: datetime,
) -> PlayTrackReading:
    release = Release.objects.select_for_update().select_related("product").get(pk=release_id)
    reading, _created = PlayTrackReading.objects.select_for_update().get_or_create(release=release)
    if (reading.read_at is not None and reading.read_at > started) or PlayCall.objects.filter(
        release=release, done_at__gt=started
    ).exists():
        return reading  # read before a step's answer or a newer read landed: not what Play says now
    now = timezone.now()
    if error:
        reading.error, reading.error_at = error, now
        reading.save(update_fields=["error", "error_at"])
        audit_record(
            actor=None,
            actor_label="google-play",
            action="play.read_failed",
            obj=reading,
            after={"error": error},
            release_id=release.pk,
        )
        live_notify(release_id=release.pk, change="store")
        return reading
    reading.status, reading.user_fraction, reading.read_at, reading.error = status, fraction, now, ""
    key = drift_key(reading, release)
    if key and key != reading.drift and not steps_under_way(release):
        with translation.override(release.product.language):
            theirs, ours = play_words(reading, release, source.track), board_words(release)
        event_emit("store.drift", release=release, data={**STORE, "theirs": theirs, "ours": ours})
        audit_record(
            actor=None,
            actor_label="google-play",
            action="play.drift",
            obj=reading,
            after={"theirs": theirs, "ours": ours, "key": key},
            release_id=release.pk,
        )
        reading.drift = key
    elif not key:
        reading.drift = ""
    reading.save(update_fields=["status", "user_fraction", "read_at", "error", "drift"])
    live_notify(release_id=release.pk, change="store")
    return reading


def play_read_request(*, release: Release, actor: User | None) -> PlayTrackReading | None:
    """DevOps reads Play's track now ("Read Play now"): the request is on the audit trail,
    then the track is read in this request (outside any transaction), so the panel that
    answers shows what Play said (a read queued for a worker could land before the answer
    and be painted over by it)."""
    with transaction.atomic():
        if not can(actor, Capability.ADVANCE_ROLLOUT, release.product):
            raise NotAllowed("devops_only", _("Only DevOps runs the rollout of this product on Google Play."))
        source = play_source_of(release)
        if source is None:
            raise Conflict(
                "play_source_off",
                _("This product has no active Google Play source: an admin switches it on first."),
            )
        audit_record(
            actor=actor,
            action="play.read_request",
            obj=source,
            after={"package": source.package_name, "track": source.track},
            release_id=release.pk,
        )
    return play_track_read(release=release)


def reads_enqueue(ids: list[int]) -> int:
    queued = 0
    for pk in ids:
        try:
            play_tasks.play_read_task.apply_async(args=(pk,))
            queued += 1
        except Exception:
            log.warning("Google Play read of release %s not queued", pk, exc_info=True)
    return queued


def reads_due(*, now: datetime | None = None) -> list[int]:
    """Releases rolling out or halted with an active Play source, not read in READ_EVERY."""
    now = now or timezone.now()
    products = PlaySource.objects.filter(active=True).values_list("product_id", flat=True)
    releases = Release.objects.filter(
        product_id__in=list(products), state__in=(ReleaseState.ROLLING_OUT, ReleaseState.HALTED)
    )
    # Read lately, or failed lately (a key Google refuses is not asked again every minute).
    recent = set(
        PlayTrackReading.objects.filter(release__in=releases)
        .filter(Q(read_at__gt=now - READ_EVERY) | Q(error_at__gt=now - READ_EVERY))
        .values_list("release_id", flat=True)
    )
    return [pk for pk in releases.order_by("pk").values_list("pk", flat=True) if pk not in recent]
