"""Recording one gate result (the writer is gates/recording.py) and running the waiver
process. Atomic, audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.marks import announce_once
from audit.services import audit_record
from core.errors import Conflict, NotAllowed, RuleViolation
from core.validation import ci_link
from gates.selectors import WAIVABLE_STATUSES, gate_current_status
from live.services import live_notify
from releases.events import event_emit
from releases.lifecycle import release_lock
from releases.models import Release

from .grouping import gate_result_record_grouped
from .models import Gate, ResultSource, Waiver, WaiverState
from .recording import Recorded, ResultEntry, gate_results_record, result_check

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def gate_result_record(
    *,
    release: Release,
    gate: Gate,
    status: str,
    source: str = ResultSource.API,
    commit: str = "",
    url: str = "",
    summary: str = "",
    run_id: str = "",
    run_attempt: int = 1,
    observed_at: datetime | None = None,
    check_name: str = "",
    actor: User | None = None,
    actor_label: str = "",
    grouped: bool = False,
) -> Recorded:
    """Record one observation of a gate: `gate_results_record` with one entry, against
    `commit` exactly ('' = the release's current commit). Here a link that is not http(s)
    is refused, not dropped, and the run id is trimmed. `grouped`: written together with
    the results of the same release other requests are recording at the same moment
    (gates.grouping; the results API)."""
    result_check(gate=gate, status=status)
    entry = ResultEntry(
        release=release,
        gate=gate,
        status=status,
        source=source,
        commit=commit or "",
        url=ci_link((url or "")[:1000], field="url"),
        summary=summary or "",
        check_name=check_name or "",
        run_id=(run_id or "").strip(),
        run_attempt=run_attempt,
        observed_at=observed_at,
        actor=actor,
        actor_label=actor_label or "",
    )
    return gate_result_record_grouped(entry) if grouped else gate_results_record(entries=[entry])[0]


def _waiver_snapshot(waiver: Waiver) -> dict[str, Any]:
    return {
        "state": waiver.state,
        "gate": waiver.gate.key,
        "build": waiver.build_number,
        "commit": waiver.commit_sha,
        "expires_at": waiver.expires_at,
        "decided_by": waiver.decided_by_id,
    }


@transaction.atomic
def waiver_request(
    *,
    release: Release,
    gate: Gate,
    actor: User | None,
    reason: str,
    risk: str,
    mitigation: str,
    expires_at: datetime | None = None,
) -> Waiver:
    """A lead or QA asks to pass a failing waivable gate, saying why, the risk and the
    mitigation. Expiry defaults to 72 hours and may be at most 7 days away."""
    if not can(actor, Capability.ASK_WAIVER, release.product):
        raise NotAllowed("role_not_held", _("Only QA or a lead can ask for a waiver."))
    if not gate.waivable:
        raise RuleViolation(
            "gate_not_waivable", _("“%(gate)s” may not be waived.") % {"gate": gate.name}, field="gate"
        )
    if gate_current_status(release=release, gate=gate) not in WAIVABLE_STATUSES:
        raise Conflict(
            "gate_not_failing",
            _("“%(gate)s” has not failed for this build: a waiver is only for a gate that failed.")
            % {"gate": gate.name},
        )
    required = {
        "reason": (reason, _("A waiver needs a reason.")),
        "risk": (risk, _("A waiver needs the risk it takes.")),
        "mitigation": (mitigation, _("A waiver needs a mitigation.")),
    }
    for name, (value, message) in required.items():
        if not (value or "").strip():
            raise RuleViolation("field_required", message, field=name)
    now = timezone.now()
    expires_at = expires_at or now + timedelta(hours=settings.GONOGO_WAIVER_DEFAULT_HOURS)
    if expires_at <= now:
        raise RuleViolation("expiry_past", _("The expiry must be in the future."), field="expires_at")
    if expires_at > now + timedelta(days=settings.GONOGO_WAIVER_MAX_DAYS):
        raise RuleViolation(
            "expiry_too_far",
            _("A waiver may last at most %(days)s days.") % {"days": settings.GONOGO_WAIVER_MAX_DAYS},
            field="expires_at",
        )
    release_lock(release.pk)
    build_number, commit_sha = (
        Release.objects.filter(pk=release.pk).values_list("build_number", "commit_sha").get()
    )
    waiver = Waiver.objects.create(
        release=release,
        gate=gate,
        build_number=build_number,
        commit_sha=commit_sha,
        reason=reason.strip(),
        risk=risk.strip(),
        mitigation=mitigation.strip(),
        requested_by=actor,
        requested_at=now,
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        action="waiver.request",
        obj=waiver,
        after=_waiver_snapshot(waiver),
        release_id=release.pk,
    )
    event_emit(
        "waiver.requested",
        release=release,
        actor=actor,
        data={
            "gate": gate.key,
            "gate_name": gate.name,
            "by": actor.get_username(),
            "reason": waiver.reason,
            "expires_at": expires_at.isoformat(),
        },
    )
    live_notify(release_id=release.pk, change="waiver")
    return waiver


def _decide(waiver: Waiver, *, actor: User | None, state: str, note: str, action: str) -> Waiver:
    waiver = (
        Waiver.objects.select_for_update(of=("self",))
        .select_related("gate", "release__product")
        .get(pk=waiver.pk)
    )
    release_lock(waiver.release_id)
    if not can(actor, Capability.APPROVE_WAIVER, waiver.release.product):
        raise NotAllowed("role_not_held", _("Only a PM/PO can approve or reject a waiver."))
    if waiver.requested_by_id == actor.pk:
        raise NotAllowed("own_waiver", _("You asked for this waiver; another PM/PO must decide it."))
    if waiver.state != WaiverState.REQUESTED:
        raise Conflict(
            "waiver_already_decided",
            _("This waiver is already %(state)s.") % {"state": WaiverState(waiver.state).label},
        )
    if waiver.expires_at <= timezone.now():
        raise Conflict("waiver_expired", _("This waiver request has expired. Ask again."))
    if state == WaiverState.APPROVED:
        _ensure_current_build(waiver)
    before = _waiver_snapshot(waiver)
    waiver.state = state
    waiver.decided_by = actor
    waiver.decided_at = timezone.now()
    waiver.decision_note = (note or "").strip()
    waiver.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action=action,
        obj=waiver,
        before=before,
        after=_waiver_snapshot(waiver),
        release_id=waiver.release_id,
    )
    live_notify(release_id=waiver.release_id, change="waiver")
    return waiver


@transaction.atomic
def waiver_approve(*, waiver: Waiver, actor: User | None, note: str = "") -> Waiver:
    """A PM/PO who did not ask approves; the gate counts as waived until expiry."""
    return _decide(waiver, actor=actor, state=WaiverState.APPROVED, note=note, action="waiver.approve")


def _ensure_current_build(waiver: Waiver) -> Release:
    release = Release.objects.get(pk=waiver.release_id)
    if not waiver.is_for_build_of(release):
        raise Conflict(
            "waiver_for_earlier_build",
            _(
                "This waiver was asked for build %(asked)s; the release is now at build %(now)s. "
                "Ask again for the new build, or carry an approved waiver over."
            )
            % {"asked": waiver.build_number, "now": release.build_number},
        )
    return release


@transaction.atomic
def waiver_carry_over(*, waiver: Waiver, actor: User | None, note: str = "") -> Waiver:
    """A PM/PO carries an approved, unexpired waiver of an earlier build over to the
    release's current build and commit, on record: a new approved waiver with the same
    reason, risk, mitigation, asker and expiry (never later), pointing at the one it came
    from, and the PM/PO's written reason why it still holds. The PM/PO must not be its
    asker, and the gate must still be waivable."""
    waiver = (
        Waiver.objects.select_for_update(of=("self",))
        .select_related("gate", "release__product", "requested_by")
        .get(pk=waiver.pk)
    )
    release_lock(waiver.release_id)
    release = Release.objects.select_related("product").get(pk=waiver.release_id)
    if not can(actor, Capability.CARRY_OVER_WAIVER, release.product):
        raise NotAllowed("role_not_held", _("Only a PM/PO can carry a waiver over."))
    if not (note or "").strip():
        raise RuleViolation(
            "field_required",
            _("Say why the waiver still holds for the new build: a waiver is always written."),
            field="note",
        )
    if waiver.requested_by_id == actor.pk:
        raise NotAllowed("own_waiver", _("You asked for this waiver; another PM/PO must carry it over."))
    if waiver.state != WaiverState.APPROVED:
        raise Conflict("waiver_not_approved", _("Only an approved waiver can be carried over."))
    now = timezone.now()
    if waiver.expires_at <= now:
        raise Conflict("waiver_expired", _("This waiver has expired. Ask again."))
    if waiver.is_for_build_of(release):
        raise Conflict("waiver_already_current", _("This waiver is already for the current build."))
    if not waiver.gate.waivable:
        raise RuleViolation(
            "gate_not_waivable", _("“%(gate)s” may not be waived.") % {"gate": waiver.gate.name}, field="gate"
        )
    current = Waiver.objects.filter(
        release=release,
        gate=waiver.gate,
        build_number=release.build_number,
        state__in=(WaiverState.REQUESTED, WaiverState.APPROVED),
        expires_at__gt=now,
    )
    if any(w.is_for_build_of(release) for w in current):
        raise Conflict(
            "waiver_exists_for_build",
            _("“%(gate)s” already has a waiver asked or approved for this build.")
            % {"gate": waiver.gate.name},
        )
    carried = Waiver.objects.create(
        release=release,
        gate=waiver.gate,
        build_number=release.build_number,
        commit_sha=release.commit_sha,
        carried_from=waiver,
        reason=waiver.reason,
        risk=waiver.risk,
        mitigation=waiver.mitigation,
        state=WaiverState.APPROVED,
        requested_by=waiver.requested_by,
        requested_at=now,
        expires_at=waiver.expires_at,
        decided_by=actor,
        decided_at=now,
        # The reason only: the board says "carried over" in each reader's language.
        decision_note=note.strip(),
    )
    audit_record(
        actor=actor,
        action="waiver.carry_over",
        obj=carried,
        before=_waiver_snapshot(waiver) | {"id": waiver.pk},
        after=_waiver_snapshot(carried),
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="waiver")
    return carried


@transaction.atomic
def waiver_reject(*, waiver: Waiver, actor: User | None, note: str = "") -> Waiver:
    return _decide(waiver, actor=actor, state=WaiverState.REJECTED, note=note, action="waiver.reject")


@transaction.atomic
def waiver_revoke(*, waiver: Waiver, actor: User | None, note: str = "") -> Waiver:
    """A PM/PO withdraws an approved waiver; the gate blocks again at once."""
    waiver = (
        Waiver.objects.select_for_update(of=("self",))
        .select_related("gate", "release__product")
        .get(pk=waiver.pk)
    )
    release_lock(waiver.release_id)
    if not can(actor, Capability.REVOKE_WAIVER, waiver.release.product):
        raise NotAllowed("role_not_held", _("Only a PM/PO can revoke a waiver."))
    if waiver.state != WaiverState.APPROVED:
        raise Conflict("waiver_not_approved", _("Only an approved waiver can be revoked."))
    before = _waiver_snapshot(waiver)
    waiver.state = WaiverState.REVOKED
    waiver.revoked_by = actor
    waiver.revoked_at = timezone.now()
    if note:
        waiver.decision_note = f"{waiver.decision_note}\n{note}".strip()
    waiver.save(update_fields=["state", "revoked_by", "revoked_at", "decision_note"])
    audit_record(
        actor=actor,
        action="waiver.revoke",
        obj=waiver,
        before=before,
        after=_waiver_snapshot(waiver),
        release_id=waiver.release_id,
    )
    live_notify(release_id=waiver.release_id, change="waiver")
    return waiver


def waivers_expire_announce(*, now: datetime | None = None) -> list[int]:
    """Announce approved waivers whose expiry has passed, once each (audit event
    `waiver.expired`). The verdict does not wait for this: expiry is enforced by time."""
    now = now or timezone.now()
    announced = []
    candidates = Waiver.objects.filter(
        state=WaiverState.APPROVED, expires_at__lte=now, expiry_announced_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in candidates:
        with transaction.atomic():
            waiver = (
                Waiver.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("gate", "release__product")
                .filter(pk=pk, expiry_announced_at__isnull=True)
                .first()
            )
            if waiver is None:
                continue
            waiver.expiry_announced_at = now
            waiver.save(update_fields=["expiry_announced_at"])
            audit_record(
                actor=None,
                actor_label="system",
                action="waiver.expired",
                obj=waiver,
                after={"gate": waiver.gate.key, "expired_at": waiver.expires_at},
                release_id=waiver.release_id,
            )
            live_notify(release_id=waiver.release_id, change="waiver")
            announced.append(waiver.pk)
    return announced


EXPIRING_WITHIN = timedelta(hours=24)


def waivers_expiring_announce(*, now: datetime | None = None) -> list[int]:
    """Announce approved waivers that expire within 24 hours, once each: the event
    `waiver.expiring`, with the audit event `waiver.expiring` as the mark that it was."""
    now = now or timezone.now()

    def announce(waiver: Waiver) -> dict[str, Any]:
        event_emit(
            "waiver.expiring",
            release=waiver.release,
            data={
                "gate": waiver.gate.key,
                "gate_name": waiver.gate.name,
                "expires_at": waiver.expires_at.isoformat(),
            },
        )
        return {"gate": waiver.gate.key, "expires_at": waiver.expires_at}

    expiring = Waiver.objects.filter(
        state=WaiverState.APPROVED, expires_at__gt=now, expires_at__lte=now + EXPIRING_WITHIN
    ).select_related("gate", "release__product")
    return announce_once(expiring, action="waiver.expiring", announce=announce)
