"""Recording rehearsals and on-call contacts. Atomic, audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from audit.services import audit_record
from gonogo.errors import RuleViolation
from live.services import live_notify
from releases.models import ACTIVE_STATES, Product, Release
from releases.services import release_lock

from .models import OnCallContact, Rehearsal, RehearsalKind, RehearsalOutcome


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
    actor: Any = None,
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
    if minutes < 0:
        raise RuleViolation("minutes_invalid", _("Minutes cannot be negative."), field="minutes")
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
    *, product: Product, role: str, name: str, contact: str, actor: Any = None, actor_label: str = ""
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
