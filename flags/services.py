"""Writes of the flags app: a Kill (asked, sent, retried, its outcome), and which
releases ship a flag (docs/flags.md).

`flag_kill` stores the Kill in the asker's transaction (audited, the boards told) and
queues `flags.kill` after commit. `kill_attempt` is what that task runs: it claims the
Kill under a row lock, calls the provider outside any transaction, reads the state back,
then records the attempt: done (`flag.killed`), another attempt later (exponential
backoff, `apply_async(countdown=…)`), or failed once out of attempts or refused for
good (`flag.kill_failed`, which pages on-call). Run twice, it sends once.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.errors import Conflict, NotAllowed, RuleViolation
from live.services import live_notify
from releases.events import event_emit
from releases.models import Release, ReleaseState

from . import tasks
from .models import Flag, FlagShip, FlagState, Kill, KillStatus
from .providers import Outcome, flag_off, flag_read

log = logging.getLogger(__name__)

# While one worker sends, the Kill is claimed for this long (longer than a request's
# timeout); a worker that dies meanwhile leaves it to the sweep after that.
CLAIM = timedelta(seconds=60)
SWEEP_GRACE = timedelta(seconds=30)
REASON_LIMIT = 500
# The releases whose boards show a product's flags, told when a flag changes.
SHOWN_STATES = (
    ReleaseState.DRAFT,
    ReleaseState.CANDIDATE,
    ReleaseState.GO,
    ReleaseState.NO_GO,
    ReleaseState.ROLLING_OUT,
    ReleaseState.HALTED,
    ReleaseState.RELEASED,
)


def max_attempts() -> int:
    return max(1, int(getattr(settings, "GONOGO_FLAG_KILL_ATTEMPTS", 5)))


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt` (1, 2, …): base * 2^(attempt-1),
    with up to a quarter of jitter. With the default base of 8 s, five attempts span
    about two minutes (8 + 16 + 32 + 64 s)."""
    base = float(getattr(settings, "GONOGO_FLAG_RETRY_BASE_SECONDS", 8.0))
    delay = base * 2 ** max(0, attempt - 1)
    return delay + random.uniform(0, delay / 4)


def flag_boards_notify(flag: Flag, *, also: Iterable[int | None] = ()) -> None:
    """Refresh the flags panel of every board that shows `flag` (its product's releases)."""
    ids = set(
        Release.objects.filter(product_id=flag.product_id, state__in=SHOWN_STATES).values_list(
            "pk", flat=True
        )[:50]
    )
    ids.update(pk for pk in also if pk is not None)
    for pk in sorted(ids):
        live_notify(release_id=pk, change="flag")


def _kills_enqueue(ids: Iterable[int], *, countdown: float = 0) -> int:
    queued = 0
    for pk in ids:
        try:
            if countdown > 0:
                tasks.kill_send_task.apply_async(args=(pk,), countdown=countdown)
            else:
                tasks.kill_send_task.apply_async(args=(pk,))
            queued += 1
        except Exception:  # the broker: the sweep queues it again later
            log.warning("flag kill %s not queued; the sweep will queue it", pk, exc_info=True)
    return queued


@transaction.atomic
def flag_kill(*, flag: Flag, release: Release | None, actor: Any, reason: str) -> Kill:
    """DevOps or a PM/PO asks to switch `flag` off at its provider, saying why. The Kill is
    stored and sent after commit (retried until it is off, or it says it could not)."""
    if not can(actor, Capability.KILL_FLAG, flag.product_id):
        raise NotAllowed("role_not_held", _("Only DevOps or a PM/PO of this product may switch a flag off."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise RuleViolation("reason_required", _("Say why the flag is switched off."), field="reason")
    if len(reason) > REASON_LIMIT:
        raise RuleViolation(
            "reason_too_long",
            _("Keep the reason under %(n)s characters.") % {"n": REASON_LIMIT},
            field="reason",
        )
    flag = Flag.objects.select_for_update().select_related("product").get(pk=flag.pk)
    if release is not None and release.product_id != flag.product_id:
        raise RuleViolation("flag_other_product", _("This flag belongs to another product."))
    if not flag.active:
        raise Conflict(
            "flag_inactive", _("This flag is switched off in Go/No-Go: DevOps switches it on in the admin.")
        )
    if flag.kills.filter(status=KillStatus.PENDING).exists():
        raise Conflict(
            "kill_pending", _("A Kill of this flag is already under way: its outcome shows here shortly.")
        )
    now = timezone.now()
    kill = Kill.objects.create(
        flag=flag,
        release=release,
        reason=reason,
        by=actor,
        by_label=actor.get_username()[:150],
        message_id=f"msg_{uuid.uuid4().hex}",
        created_at=now,
        next_attempt_at=now,
    )
    audit_record(
        actor=actor,
        action="flag.kill",
        obj=flag,
        after={"kill": kill.pk, "reason": reason, "provider": flag.provider, "environment": flag.environment},
        release_id=release.pk if release is not None else None,
    )
    flag_boards_notify(flag, also=[kill.release_id])
    transaction.on_commit(lambda: _kills_enqueue([kill.pk]), robust=True)
    return kill


def _claim(kill_id: int, now: datetime) -> tuple[Kill | None, str]:
    with transaction.atomic():
        kill = (
            Kill.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("flag__product", "release")
            .filter(pk=kill_id)
            .first()
        )
        if kill is None:
            return None, "busy"
        if kill.status != KillStatus.PENDING:
            return None, kill.status
        if kill.next_attempt_at and kill.next_attempt_at > now:
            return None, "not_due"
        kill.attempts += 1
        kill.next_attempt_at = now + CLAIM
        kill.save(update_fields=["attempts", "next_attempt_at"])
        return kill, "claimed"


def kill_attempt(*, kill_id: int, now: datetime | None = None) -> str:
    """One attempt at `kill_id` if it is pending and due: `done`, `retry`, `failed`, or
    why nothing was done (`busy`, `not_due`, `done`/`failed` already)."""
    now = now or timezone.now()
    kill, state = _claim(kill_id, now)
    if kill is None:
        return state
    outcome = flag_off(kill.flag, kill)  # outside any transaction: no lock is held
    if outcome.ok:
        # Read back: trust what the provider says now over its answer to the POST.
        read = flag_read(kill.flag)
        if read is not None and read.state != FlagState.UNKNOWN:
            outcome = _with_read(outcome, read.state)
        elif outcome.state is None:
            outcome = _with_read(outcome, FlagState.OFF)
        elif outcome.state == FlagState.ON:
            # Its own answer (a webhook's {"enabled": true}) says it is still on.
            outcome = _with_read(outcome, FlagState.ON)
    return _record(kill, outcome)


def _with_read(outcome: Outcome, state: str) -> Outcome:
    if state == FlagState.ON:
        return Outcome(
            ok=False,
            status_code=outcome.status_code,
            answer=outcome.answer,
            error="the provider accepted the request but still reports the flag on",
            state=state,
        )
    return Outcome(ok=True, status_code=outcome.status_code, answer=outcome.answer, state=state)


def _record(kill: Kill, outcome: Outcome) -> str:
    done_at = timezone.now()
    with transaction.atomic():
        row = (
            Kill.objects.select_for_update(of=("self",))
            .select_related("flag__product", "release")
            .get(pk=kill.pk)
        )
        flag = Flag.objects.select_for_update().get(pk=row.flag_id)
        row.log = [
            *row.log,
            {
                "n": row.attempts,
                "at": done_at.isoformat(),
                "status_code": outcome.status_code,
                "error": outcome.error,
            },
        ]
        row.status_code, row.answer, row.error = outcome.status_code, outcome.answer, outcome.error
        if outcome.state is not None:
            flag.state, flag.state_read_at, flag.state_error = outcome.state, done_at, ""
            flag.save(update_fields=["state", "state_read_at", "state_error"])
        facts = {
            "flag": flag.key,
            "product": flag.product.slug,
            "environment": flag.environment,
            "provider": flag.provider,
            "reason": row.reason,
            "by": row.by_label,
            "attempts": row.attempts,
        }
        if outcome.ok:
            row.status, row.done_at, row.next_attempt_at = KillStatus.DONE, done_at, None
            result = "done"
            audit_record(
                actor=row.by,
                action="flag.killed",
                obj=flag,
                after={"kill": row.pk, **facts},
                release_id=row.release_id,
            )
            event_emit("flag.killed", release=row.release, product=flag.product, data=facts, actor=row.by)
        elif outcome.retry and row.attempts < max_attempts():
            delay = retry_delay(row.attempts)
            row.next_attempt_at = done_at + timedelta(seconds=delay)
            transaction.on_commit(lambda: _kills_enqueue([row.pk], countdown=max(delay, 0.01)), robust=True)
            result = "retry"
        else:
            row.status, row.done_at, row.next_attempt_at = KillStatus.FAILED, done_at, None
            result = "failed"
            failed = {**facts, "error": outcome.error, "status_code": outcome.status_code}
            audit_record(
                actor=row.by,
                action="flag.kill_failed",
                obj=flag,
                after={"kill": row.pk, **failed},
                release_id=row.release_id,
            )
            event_emit(
                "flag.kill_failed", release=row.release, product=flag.product, data=failed, actor=row.by
            )
        row.save(
            update_fields=["status", "done_at", "next_attempt_at", "status_code", "answer", "error", "log"]
        )
        flag_boards_notify(flag, also=[row.release_id])
    return result


def kills_due_requeue(*, now: datetime | None = None) -> int:
    """Beat: queue again every pending Kill well past its time (its message was lost, or
    the worker sending it died and its claim lapsed). Sending is idempotent."""
    now = now or timezone.now()
    due = list(
        Kill.objects.filter(status=KillStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:200]
    )
    return _kills_enqueue(due)


@transaction.atomic
def flag_ship_set(*, flag: Flag, release: Release, ships: bool, actor: Any) -> FlagShip:
    """DevOps or a PM/PO says whether `release` ships `flag` (attach or detach)."""
    if not can(actor, Capability.MANAGE_FLAGS, flag.product_id):
        raise NotAllowed(
            "role_not_held", _("Only DevOps or a PM/PO of this product may attach or detach a flag.")
        )
    if release.product_id != flag.product_id:
        raise RuleViolation("flag_other_product", _("This flag belongs to another product."))
    row = FlagShip.objects.select_for_update().filter(flag=flag, release=release).first()
    before = row.ships if row is not None else None
    if row is None:
        row = FlagShip.objects.create(flag=flag, release=release, ships=ships, by=actor, at=timezone.now())
    elif row.ships != ships:
        row.ships, row.by, row.at = ships, actor, timezone.now()
        row.save(update_fields=["ships", "by", "at"])
    if before != ships:
        audit_record(
            actor=actor,
            action="flag.attach" if ships else "flag.detach",
            obj=flag,
            before={"ships": before},
            after={"ships": ships, "release": release.version},
            release_id=release.pk,
        )
        live_notify(release_id=release.pk, change="flag")
    return row


def flags_attach_default(release: Release) -> int:
    """Attach every active flag of the release's product that has no say yet about this
    release (a flag detached by hand stays detached). Runs in the caller's transaction."""
    flag_ids = list(
        Flag.objects.filter(product_id=release.product_id, active=True).values_list("pk", flat=True)
    )
    if not flag_ids:
        return 0
    now = timezone.now()
    made = FlagShip.objects.bulk_create(
        [FlagShip(flag_id=pk, release=release, ships=True, at=now) for pk in flag_ids], ignore_conflicts=True
    )
    return len(made)


def flag_state_store(*, flag_id: int, state: str, error: str = "", started: datetime | None = None) -> bool:
    """Store a state read back (read from `started` on); the boards are told when it
    changed. True if it did. A read older than what is stored (a Kill's read-back landed
    meanwhile) is dropped."""
    with transaction.atomic():
        flag = Flag.objects.select_for_update().filter(pk=flag_id).first()
        if flag is None:
            return False
        if started is not None and flag.state_read_at is not None and flag.state_read_at > started:
            return False
        changed = (flag.state, flag.state_error) != (state, error)
        flag.state, flag.state_error, flag.state_read_at = state, error, timezone.now()
        flag.save(update_fields=["state", "state_error", "state_read_at"])
        if changed:
            audit_record(
                actor=None,
                actor_label="flag read-back",
                action="flag.state",
                obj=flag,
                after={"state": state, "error": error},
            )
            flag_boards_notify(flag)
    return changed
