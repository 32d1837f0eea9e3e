"""Changes to Apple's phased release: wanted by a rollout step or a DevOps button, stored
in that transaction, sent after commit by Celery, retried, every answer on record.

`appstore_change_want` stores the row (the caller's transaction); `appstore_change_send`
is one attempt (the task `stores.appstore_change`): claimed under a row lock, sent
outside any transaction, recorded. No answer, 429 and 5xx are tried again with backoff
(full jitter, `apply_async(countdown=…)`); any other 4xx is Apple refusing, shown in
Apple's words. After the last failed attempt `store.failed` is emitted. A newer change
of the same release replaces an older one still waiting: the board's last word wins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.backoff import full_jitter
from core.errors import Conflict, NotAllowed, RuleViolation
from live.services import live_notify
from releases.events import event_emit
from releases.models import Release

from . import appstore_tasks
from .appstore_client import AscFailure, Phase, phase_get, phase_patch, version_find
from .appstore_sync import phase_store
from .models import (
    AppStoreChange,
    AppStoreChangeAttempt,
    AppStoreChangeStatus,
    AppStorePhasedRelease,
    AppStorePhaseState,
    AppStoreSource,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

CLAIM = timedelta(seconds=120)  # longer than a request's timeout
SWEEP_GRACE = timedelta(seconds=30)
MAX_DELAY_SECONDS = 3600.0
# The buttons, and the state each asks Apple for.
STEPS = {
    "pause": AppStorePhaseState.PAUSED,
    "resume": AppStorePhaseState.ACTIVE,
    "complete": AppStorePhaseState.COMPLETE,
}
STEP_OF: dict[str, str] = {str(state): step for step, state in STEPS.items()}


def source_of(release: Release) -> AppStoreSource | None:
    """The product's App Store Connect source, when it has one switched on."""
    return AppStoreSource.objects.filter(product_id=release.product_id, active=True).first()


def retry_delay(attempt: int, *, retry_after: float | None = None) -> float:
    return full_jitter(
        attempt,
        base=settings.GONOGO_APPSTORE_RETRY_BASE_SECONDS,
        cap=MAX_DELAY_SECONDS,
        retry_after=retry_after,
    )


def changes_enqueue(ids: Iterable[int], *, countdown: float = 0) -> int:
    queued = 0
    for pk in ids:
        try:
            if countdown > 0:
                appstore_tasks.appstore_change_task.apply_async(args=(pk,), countdown=countdown)
            else:
                appstore_tasks.appstore_change_task.apply_async(args=(pk,))
            queued += 1
        except Exception:  # the broker: the sweep queues it again
            log.warning("App Store change %s not queued; the sweep will queue it", pk, exc_info=True)
    return queued


def appstore_change_want(
    *, release: Release, wanted: str, origin: str, actor: Any = None, reason: str = ""
) -> AppStoreChange:
    """Store the change in the caller's transaction (older waiting ones are replaced) and
    queue it after commit. Callers check who may; this only records it."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("appstore_change_want must run inside transaction.atomic()")
    now = timezone.now()
    user = actor if getattr(actor, "is_authenticated", False) else None
    AppStoreChange.objects.filter(release=release, status=AppStoreChangeStatus.PENDING).update(
        status=AppStoreChangeStatus.REPLACED, next_attempt_at=None
    )
    change = AppStoreChange.objects.create(
        release=release,
        wanted=wanted,
        origin=origin,
        reason=reason[:500],
        requested_by=user,
        created_at=now,
        next_attempt_at=now,
    )
    audit_record(
        actor=actor,
        action="store.appstore_change",
        obj=change,
        after={"wanted": wanted, "origin": origin, "reason": change.reason},
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="store")
    pk = change.pk
    transaction.on_commit(lambda: changes_enqueue([pk]), robust=True)
    return change


@transaction.atomic
def appstore_step(*, release: Release, step: str, actor: User | None, reason: str = "") -> AppStoreChange:
    """A DevOps button: pause, resume or complete Apple's phased release. Apple says
    whether it may (it refuses some moves: its words are shown)."""
    if not can(actor, Capability.ADVANCE_ROLLOUT, release.product):
        raise NotAllowed("devops_only", _("Only DevOps pauses, resumes or completes Apple's phased release."))
    if step not in STEPS:
        raise RuleViolation("step_invalid", _("Choose pause, resume or complete."), field="step")
    release = Release.objects.select_for_update().select_related("product").get(pk=release.pk)
    if source_of(release) is None:
        raise Conflict(
            "appstore_not_configured",
            _("This product has no App Store Connect source switched on: an admin adds it first."),
        )
    return appstore_change_want(
        release=release, wanted=STEPS[step], origin="button", actor=actor, reason=reason.strip()
    )


@dataclass(frozen=True)
class Outcome:
    ok: bool
    answer: str
    status_code: int | None = None
    retry: bool = False
    retry_after: float | None = None
    duration_ms: int = 0
    phase: Phase | None = None
    version_id: str = ""


def _claim(change_id: int, now: datetime) -> tuple[AppStoreChange | None, str]:
    with transaction.atomic():
        change = (
            AppStoreChange.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("release__product")
            .filter(pk=change_id)
            .first()
        )
        if change is None:
            return None, "busy"
        if change.status != AppStoreChangeStatus.PENDING:
            return None, change.status
        if change.next_attempt_at and change.next_attempt_at > now:
            return None, "not_due"
        busy = (
            AppStoreChange.objects.filter(release_id=change.release_id, claimed_until__gt=now)
            .exclude(pk=change.pk)
            .exists()
        )
        if busy:  # an older change is being sent right now: after it
            change.next_attempt_at = now + timedelta(seconds=5)
            change.save(update_fields=["next_attempt_at"])
            transaction.on_commit(lambda: changes_enqueue([change_id], countdown=5), robust=True)
            return None, "waiting"
        change.attempts += 1
        change.next_attempt_at = now + CLAIM
        change.claimed_until = now + CLAIM
        change.save(update_fields=["attempts", "next_attempt_at", "claimed_until"])
        return change, "claimed"


def _send(change: AppStoreChange) -> Outcome:
    """Find the version's phased release (once), then ask Apple for the state."""
    release = change.release
    source = source_of(release)
    if source is None:
        return Outcome(False, _("The product's App Store Connect source was switched off."))
    known = AppStorePhasedRelease.objects.filter(release=release).first()
    version_id = known.version_id if known else ""
    phase_id = known.phased_release_id if known else ""
    try:
        if not phase_id:
            version_id = version_id or version_find(source, release.version) or ""
            if not version_id:
                return Outcome(
                    False,
                    _("App Store Connect has no iOS version %(version)s of the app %(app)s.")
                    % {"version": release.version, "app": source.app_id},
                )
            found = phase_get(source, version_id)
            if found is None or not found.id:
                return Outcome(
                    False,
                    _("Phased release is not turned on for version %(version)s in App Store Connect.")
                    % {"version": release.version},
                    version_id=version_id,
                )
            phase_id = found.id
        phase = phase_patch(source, phase_id, change.wanted)
    except AscFailure as failure:
        return Outcome(
            False,
            failure.message,
            status_code=failure.status,
            retry=failure.retry,
            retry_after=failure.retry_after,
            duration_ms=failure.duration_ms,
            version_id=version_id,
        )
    return Outcome(
        True, phase.state if phase else change.wanted, status_code=200, phase=phase, version_id=version_id
    )


def appstore_change_send(*, change_id: int, now: datetime | None = None) -> str:
    """One attempt at a change, if it is waiting and due: `done`, `retry`, `refused`,
    `failed`, or why nothing was done (`busy`, `not_due`, `waiting`, a final status)."""
    now = now or timezone.now()
    change, state = _claim(change_id, now)
    if change is None:
        return state
    outcome = _send(change)  # outside any transaction: no lock is held
    return _record(change, outcome)


def _record(change: AppStoreChange, outcome: Outcome) -> str:
    done_at = timezone.now()
    with transaction.atomic():
        row = (
            AppStoreChange.objects.select_for_update(of=("self",)).select_related("release").get(pk=change.pk)
        )
        release = row.release
        AppStoreChangeAttempt.objects.create(
            change=row,
            number=row.attempts,
            at=done_at,
            ok=outcome.ok,
            status_code=outcome.status_code,
            answer=outcome.answer[:2000],
            duration_ms=outcome.duration_ms,
        )
        row.claimed_until = None
        row.status_code, row.answer = outcome.status_code, outcome.answer[:2000]
        if row.status == AppStoreChangeStatus.REPLACED:
            result = "replaced"
        elif outcome.ok:
            row.status, row.done_at, row.next_attempt_at = AppStoreChangeStatus.DONE, done_at, None
            result = "done"
        elif outcome.retry and row.attempts < settings.GONOGO_APPSTORE_MAX_ATTEMPTS:
            delay = retry_delay(row.attempts, retry_after=outcome.retry_after)
            row.next_attempt_at = done_at + timedelta(seconds=delay)
            pk = row.pk
            transaction.on_commit(lambda: changes_enqueue([pk], countdown=max(delay, 0.01)), robust=True)
            result = "retry"
        else:
            refused = outcome.status_code is not None and 400 <= outcome.status_code < 500
            row.status = AppStoreChangeStatus.REFUSED if refused else AppStoreChangeStatus.FAILED
            row.done_at, row.next_attempt_at = done_at, None
            result = str(row.status)
            event_emit(
                "store.failed",
                release=release,
                data={
                    "store": "app_store",
                    "store_name": "App Store",
                    "step": STEP_OF.get(row.wanted, row.wanted),
                    "error": outcome.answer,
                    "status": outcome.status_code,
                    "attempts": row.attempts,
                },
            )
        row.save(
            update_fields=["status", "status_code", "answer", "done_at", "next_attempt_at", "claimed_until"]
        )
        if outcome.phase is not None:
            phase_store(release=release, phase=outcome.phase, version_id=outcome.version_id, read_at=done_at)
        elif outcome.version_id:
            AppStorePhasedRelease.objects.update_or_create(
                release=release, defaults={"version_id": outcome.version_id}
            )
        audit_record(
            actor=None,
            action="store.appstore_answer",
            obj=row,
            after={
                "attempt": row.attempts,
                "result": result,
                "status_code": outcome.status_code,
                "answer": outcome.answer[:500],
            },
            release_id=release.pk,
            actor_label="App Store Connect",
        )
        live_notify(release_id=release.pk, change="store")
    if result != "retry":
        appstore_tasks.read_soon(release.pk)  # Apple's state as it now is, on the board
    return result


def changes_due_requeue(*, now: datetime | None = None) -> int:
    """Beat: queue again every waiting change well past its time (its message was lost,
    or its worker died: the claim lapsed). Sending is idempotent."""
    now = now or timezone.now()
    due = list(
        AppStoreChange.objects.filter(
            status=AppStoreChangeStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    return changes_enqueue(due)
