"""Recording rehearsals and on-call contacts. Atomic, audited."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from audit.services import audit_record
from core.errors import RuleViolation
from live.services import live_notify
from operations.rollout import minutes_parse
from releases.lifecycle import release_halt, release_lock
from releases.models import ACTIVE_STATES, Product, Release, ReleaseState

from .models import HealthSample, OnCallContact, Rehearsal, RehearsalKind, RehearsalOutcome

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _announce(product: Product) -> None:
    """Operations feed the verdict of every active release of the product: lock them (a
    decision in progress sees this change whole) and refresh their boards."""
    for release_id in Release.objects.filter(product=product, state__in=ACTIVE_STATES).values_list(
        "pk", flat=True
    ):
        release_lock(release_id)
        live_notify(release_id=release_id, change="operations")


@transaction.atomic
def rehearsal_record(
    *,
    product: Product,
    kind: str,
    performed_on: date,
    minutes: int,
    outcome: str,
    actor: User | None = None,
    notes: str = "",
) -> Rehearsal:
    """Record a timed release or rollback rehearsal."""
    if kind not in RehearsalKind.values:
        raise RuleViolation("kind_invalid", _("Kind must be release or rollback."), field="kind")
    if outcome not in RehearsalOutcome.values:
        raise RuleViolation("outcome_invalid", _("Outcome must be passed or failed."), field="outcome")
    if performed_on > timezone.localdate():
        raise RuleViolation(
            "date_in_future",
            _("A rehearsal can only be recorded once it has happened."),
            field="performed_on",
        )
    minutes = minutes_parse(minutes)
    rehearsal = Rehearsal.objects.create(
        product=product,
        kind=kind,
        performed_on=performed_on,
        minutes=minutes,
        outcome=outcome,
        notes=notes,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor,
        action="rehearsal.record",
        obj=rehearsal,
        after={"kind": kind, "performed_on": performed_on, "minutes": minutes, "outcome": outcome},
    )
    _announce(product)
    return rehearsal


@transaction.atomic
def oncall_set(
    *, product: Product, role: str, name: str, contact: str, actor: User | None = None, actor_label: str = ""
) -> OnCallContact:
    """Set who is on call for a role on a product (one contact per role)."""
    if role not in Role.values:
        raise RuleViolation("role_invalid", _("Unknown role."), field="role")
    existing = OnCallContact.objects.filter(product=product, role=role).first()
    before = {"name": existing.name, "contact": existing.contact} if existing else None
    contact_obj, _created = OnCallContact.objects.update_or_create(
        product=product, role=role, defaults={"name": name, "contact": contact}
    )
    after = {"name": name, "contact": contact}
    if before != after:
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="oncall.set",
            obj=contact_obj,
            before=before,
            after=after,
        )
        _announce(product)
    return contact_obj


HEALTH_FIELDS = ("error_rate", "p95_latency_ms", "rate_429")


@transaction.atomic
def health_sample_record(
    *,
    release: Release,
    error_rate: float | None,
    p95_latency_ms: float | None,
    rate_429: float | None,
    sampled_at: datetime | None = None,
    actor_label: str = "",
) -> HealthSample:
    """Keep one rollout health sample. A value over the product's bound while the release
    is rolling out halts the rollout, with the broken bounds as the reason."""
    values = {"error_rate": error_rate, "p95_latency_ms": p95_latency_ms, "rate_429": rate_429}
    if all(v is None for v in values.values()):
        raise RuleViolation(
            "sample_empty",
            _("Send at least one of error_rate, p95_latency_ms, rate_429."),
            field="error_rate",
        )
    for name in ("error_rate", "rate_429"):
        value = values[name]
        if value is not None and not 0 <= value <= 1:
            raise RuleViolation("rate_out_of_range", _("A rate is a fraction between 0 and 1."), field=name)
    if p95_latency_ms is not None and p95_latency_ms < 0:
        raise RuleViolation("latency_negative", _("Latency cannot be negative."), field="p95_latency_ms")
    release_lock(release.pk)
    release.refresh_from_db(fields=["state"])
    product = release.product
    bounds = {
        "error_rate": product.health_error_rate,
        "p95_latency_ms": float(product.health_p95_latency_ms),
        "rate_429": product.health_rate_429,
    }
    breaches = [
        {"metric": name, "value": value, "bound": bounds[name]}
        for name, value in values.items()
        if value is not None and value > bounds[name]
    ]
    now = timezone.now()
    halt = bool(breaches) and release.state == ReleaseState.ROLLING_OUT
    sample = HealthSample.objects.create(
        release=release,
        error_rate=error_rate,
        p95_latency_ms=p95_latency_ms,
        rate_429=rate_429,
        sampled_at=min(sampled_at, now) if sampled_at else now,
        received_at=now,
        breaches=breaches,
        halted=halt,
    )
    audit_record(
        actor=None,
        actor_label=actor_label,
        action="health_sample.record",
        obj=sample,
        after={**values, "breaches": breaches},
        release_id=release.pk,
    )
    if halt:
        release_halt(
            release=release, actor_label=actor_label, reason=f"health out of bounds: {sample.breach_text}"
        )
    live_notify(release_id=release.pk, change="operations")
    return sample
