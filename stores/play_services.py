"""Google Play's track driven by the rollout (docs/google-play.md).

`play_event_receive` listens to the rollout's events (connected in StoresConfig.ready).
In the event's own transaction it stores the wanted state of the release on Play's
track as a `PlayCall` (older steps still waiting are replaced: the newest wanted state
is what the track must show) and queues it after commit. `play_step_run` sends one
attempt: claimed under the release's row locks so the steps of one release never run
at once nor out of order, sent outside any transaction, then recorded (every answer on
the row and the audit trail), retried with backoff on no answer, a 5xx or a 429, and
`store.failed` emitted after the last attempt or on a final refusal (400, 401, 403, 404).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.backoff import full_jitter
from core.errors import Conflict, NotAllowed
from live.services import live_notify
from releases.events import event_emit
from releases.models import Release

from . import play_tasks
from .models import PlayCall, PlayCallState, PlaySource, PlayStatus
from .play_client import PlayError, Publisher, key_load, release_body
from .play_words import step_words, version_code_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

ACTOR = "google-play"
STORE = {"store": "google_play", "store_name": "Google Play"}
# A step being sent is held this long (longer than its requests' timeouts together);
# a worker that dies meanwhile leaves it to the sweep after that.
CLAIM = timedelta(seconds=180)
SWEEP_GRACE = timedelta(seconds=30)
WAIT_SECONDS = 2.0  # a step waiting for the release's earlier one looks again this soon
MAX_DELAY_SECONDS = 1800.0
# A rollback recorded on the board halts Play's rollout where it stood (Play cannot take
# back a completed one: nothing is sent then).
EVENTS = (
    "rollout.started",
    "rollout.advanced",
    "rollout.halted",
    "rollout.resumed",
    "rollout.completed",
    "rollback.recorded",
)
HALTING = ("rollout.halted", "rollback.recorded")


def play_source_of(release: Release) -> PlaySource | None:
    return PlaySource.objects.filter(product_id=release.product_id, active=True).first()


def _wanted(event: str, release: Release, data: dict[str, Any]) -> tuple[str, float | None]:
    """The Play status and user fraction a rollout event asks for."""
    if event == "rollout.completed":
        return PlayStatus.COMPLETED, None
    percent = data.get("stage_percent") if event not in HALTING else None
    percent = percent if isinstance(percent, int | float) else release.rollout_percent or 0
    if percent >= 100:
        return PlayStatus.COMPLETED, None
    status = PlayStatus.HALTED if event in HALTING else PlayStatus.IN_PROGRESS
    return status, round(float(percent) / 100, 4)


def play_event_receive(
    sender: str,
    *,
    release: Release | None = None,
    data: dict[str, Any] | None = None,
    actor: Any = None,
    **kwargs: Any,
) -> PlayCall | None:
    """A rollout step on the board: the same step for Play's track, stored now, sent after
    commit. Other events, and products without an active Play source, are left alone."""
    if sender not in EVENTS or release is None:
        return None
    if sender == "rollback.recorded" and (release.rollout_percent or 0) >= 100:
        return None  # completed on Play: it cannot be halted (docs/google-play.md)
    source = play_source_of(release)
    if source is None:
        return None
    status, fraction = _wanted(sender, release, dict(data or {}))
    return call_store(
        release=release, source=source, event=sender, status=status, fraction=fraction, actor=actor
    )


@transaction.atomic
def call_store(
    *,
    release: Release,
    source: PlaySource,
    event: str,
    status: str,
    fraction: float | None,
    actor: Any,
) -> PlayCall:
    """Store a step in the caller's transaction; steps of the release still waiting are
    replaced by it (a halt never waits behind, nor is overtaken by, an older advance)."""
    now = timezone.now()
    PlayCall.objects.filter(release=release, state=PlayCallState.PENDING).update(
        state=PlayCallState.SUPERSEDED, next_attempt_at=None
    )
    user = actor if getattr(actor, "is_authenticated", False) else None
    call = PlayCall.objects.create(
        release=release,
        source=source,
        event=event,
        status=status,
        user_fraction=fraction,
        version_code=version_code_of(release),
        created_at=now,
        next_attempt_at=now,
        requested_by=user,
    )
    audit_record(
        actor=actor,
        actor_label="" if user else ACTOR,
        action="play.step_request",
        obj=call,
        after=_facts(call),
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="store")
    calls_enqueue_on_commit([call.pk])
    return call


def _facts(call: PlayCall) -> dict[str, Any]:
    return {
        "package": call.source.package_name,
        "track": call.source.track,
        "event": call.event,
        "status": call.status,
        "user_fraction": call.user_fraction,
        "version_code": call.version_code,
    }


def calls_enqueue_on_commit(ids: list[int]) -> None:
    transaction.on_commit(lambda: calls_enqueue(ids), robust=True)


def calls_enqueue(ids: Iterable[int], *, countdown: float = 0) -> int:
    queued = 0
    for pk in ids:
        try:
            if countdown > 0:
                play_tasks.play_step_task.apply_async(args=(pk,), countdown=countdown)
            else:
                play_tasks.play_step_task.apply_async(args=(pk,))
            queued += 1
        except Exception:  # the broker: the sweep queues it again later
            log.warning("Google Play step %s not queued; the sweep will queue it", pk, exc_info=True)
    return queued


def retry_delay(attempt: int) -> float:
    """Full jitter: a random wait up to base * 2^(attempt-1) seconds (at most 30 min)."""
    base = float(getattr(settings, "GONOGO_PLAY_RETRY_BASE_SECONDS", 15.0))
    return full_jitter(attempt, base=base, cap=MAX_DELAY_SECONDS)


def max_attempts() -> int:
    return max(1, int(getattr(settings, "GONOGO_PLAY_MAX_ATTEMPTS", 6)))


def _claim(call_id: int, now: datetime) -> tuple[PlayCall | None, str]:
    release_id = PlayCall.objects.filter(pk=call_id).values_list("release_id", flat=True).first()
    if release_id is None:
        return None, "gone"
    with transaction.atomic():
        # Every step of the release, locked in one order: one claim at a time per release.
        calls = list(PlayCall.objects.select_for_update().filter(release_id=release_id).order_by("pk"))
        call = next((c for c in calls if c.pk == call_id), None)
        if call is None or call.state != PlayCallState.PENDING:
            return None, call.state if call is not None else "gone"
        if call.next_attempt_at and call.next_attempt_at > now:
            return None, "not_due"
        if any(c.pk > call.pk and c.state != PlayCallState.SUPERSEDED for c in calls):
            call.state, call.next_attempt_at = PlayCallState.SUPERSEDED, None
            call.save(update_fields=["state", "next_attempt_at"])
            return None, "superseded"
        busy = [
            c
            for c in calls
            if c.pk < call.pk and c.state == PlayCallState.RUNNING and (c.next_attempt_at or now) > now
        ]
        if busy:  # an earlier step is being sent: this one goes after its answer
            call.next_attempt_at = now + timedelta(seconds=WAIT_SECONDS)
            call.save(update_fields=["next_attempt_at"])
            transaction.on_commit(lambda: calls_enqueue([call_id], countdown=WAIT_SECONDS), robust=True)
            return None, "waiting"
        source = PlaySource.objects.get(pk=call.source_id)
        if not source.active:
            call.state, call.next_attempt_at = PlayCallState.FAILED, None
            call.last_error = "the Google Play source was switched off before the step was sent"
            call.save(update_fields=["state", "next_attempt_at", "last_error"])
            return None, "failed"
        call.state = PlayCallState.RUNNING
        call.attempts += 1
        call.next_attempt_at = now + CLAIM
        call.save(update_fields=["state", "attempts", "next_attempt_at"])
        call.source = source
        return call, "claimed"


def play_step_run(*, call_id: int, now: datetime | None = None) -> str:
    """One attempt at a step, if it is waiting and due. Returns `done`, `retry`, `failed`,
    or why nothing was sent (`not_due`, `waiting`, `superseded`, `done` already, …)."""
    now = now or timezone.now()
    call, state = _claim(call_id, now)
    if call is None:
        return state
    error: PlayError | None = None
    try:  # outside any transaction: no lock is held while Google answers
        key = key_load(call.source.key_env, owner=f"Google Play {call.source.package_name}")
        body = release_body(
            version_code=call.version_code, status=call.status, user_fraction=call.user_fraction
        )
        Publisher(key, call.source.package_name).track_set(call.source.track, body)
    except PlayError as exc:
        error = exc
    return _record(call.pk, error)


def _record(call_id: int, error: PlayError | None) -> str:
    done_at = timezone.now()
    with transaction.atomic():
        row = (
            PlayCall.objects.select_for_update().select_related("source", "release__product").get(pk=call_id)
        )
        entry = {
            "attempt": row.attempts,
            "at": done_at.isoformat(),
            "ok": error is None,
            "status": error.status if error else 200,
            "message": error.message if error else "",
        }
        row.answers = [*row.answers, entry]
        newer = (
            PlayCall.objects.filter(release_id=row.release_id, pk__gt=row.pk)
            .exclude(state=PlayCallState.SUPERSEDED)
            .exists()
        )
        if error is None:
            row.state, row.done_at, row.next_attempt_at, row.last_error = (
                PlayCallState.DONE,
                done_at,
                None,
                "",
            )
            result = "done"
        elif error.retry and newer:
            row.state, row.next_attempt_at, row.last_error = PlayCallState.SUPERSEDED, None, error.message
            result = "superseded"
        elif error.retry and row.attempts < max_attempts():
            delay = retry_delay(row.attempts)
            row.state, row.last_error = PlayCallState.PENDING, error.message
            row.next_attempt_at = done_at + timedelta(seconds=delay)
            transaction.on_commit(lambda: calls_enqueue([call_id], countdown=max(delay, 0.01)), robust=True)
            result = "retry"
        else:
            row.state, row.next_attempt_at, row.last_error = PlayCallState.FAILED, None, error.message
            result = "failed"
        row.save(update_fields=["state", "done_at", "next_attempt_at", "last_error", "answers"])
        audit_record(
            actor=None,
            actor_label=ACTOR,
            action="play.step_answer",
            obj=row,
            before={"attempt": row.attempts},
            after={**_facts(row), **entry, "result": result},
            release_id=row.release_id,
        )
        if result == "failed":
            with translation.override(row.release.product.language):
                step = step_words(row)
            event_emit(
                "store.failed",
                release=row.release,
                data={**STORE, "step": step, "error": row.last_error, "attempts": row.attempts},
            )
        live_notify(release_id=row.release_id, change="store")
    return result


def calls_due_requeue(*, now: datetime | None = None) -> int:
    """Beat: queue again the steps whose message was lost, and free the ones whose worker
    died while sending (their claim lapsed): sending a step twice sets the same track."""
    now = now or timezone.now()
    lapsed = PlayCall.objects.filter(state=PlayCallState.RUNNING, next_attempt_at__lte=now)
    lapsed.update(state=PlayCallState.PENDING, next_attempt_at=now - SWEEP_GRACE)
    due = list(
        PlayCall.objects.filter(state=PlayCallState.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    return calls_enqueue(due)


def newest_call(release: Release) -> PlayCall | None:
    return (
        PlayCall.objects.filter(release=release)
        .exclude(state=PlayCallState.SUPERSEDED)
        .select_related("source")
        .order_by("-pk")
        .first()
    )


@transaction.atomic
def play_step_retry(*, release: Release, actor: User | None) -> PlayCall:
    """DevOps sends the refused step again (a new step with the same wanted state), once
    what Google refused is fixed (the key, the permission in Play Console, the build)."""
    if not can(actor, Capability.ADVANCE_ROLLOUT, release.product):
        raise NotAllowed("devops_only", _("Only DevOps runs the rollout of this product on Google Play."))
    release = Release.objects.select_for_update().get(pk=release.pk)
    last = newest_call(release)
    if last is None or last.state != PlayCallState.FAILED:
        raise Conflict(
            "play_nothing_to_retry",
            _("Google Play's last step was not refused: there is nothing to retry."),
        )
    source = play_source_of(release)
    if source is None:
        raise Conflict(
            "play_source_off",
            _("This product has no active Google Play source: an admin switches it on first."),
        )
    call = call_store(
        release=release,
        source=source,
        event=last.event,
        status=last.status,
        fraction=last.user_fraction,
        actor=actor,
    )
    audit_record(
        actor=actor, action="play.step_retry", obj=call, before={"refused": last.pk}, release_id=release.pk
    )
    return call
