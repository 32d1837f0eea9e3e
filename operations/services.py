"""Recording rehearsals, on-call contacts and the runbook link. Atomic, audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from accounts.models import Role
from audit.services import audit_record
from core.errors import NotAllowed, RuleViolation
from core.validation import is_http_url
from live.services import live_notify
from operations.rollout import minutes_parse
from releases.events import event_emit
from releases.health_words import breach_text, source_label
from releases.lifecycle import release_halt, release_lock
from releases.models import ACTIVE_STATES, Product, Release, ReleaseState

from .health import breaches_of
from .models import HealthSample, OnCallContact, Rehearsal, RehearsalKind, RehearsalOutcome
from .signals import rehearsal_recorded

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


# Who records which rehearsal: QA a release rehearsal, DevOps a rollback rehearsal.
REHEARSAL_RECORDERS = {
    RehearsalKind.RELEASE: Capability.RECORD_RELEASE_REHEARSAL,
    RehearsalKind.ROLLBACK: Capability.RECORD_ROLLBACK_REHEARSAL,
}


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
    """Record a timed release rehearsal (QA of the product) or rollback rehearsal (its
    DevOps) that has happened; sends `rehearsal_recorded` in the same transaction (a
    passed one ticks its programme check: board.programme)."""
    if kind not in RehearsalKind.values:
        raise RuleViolation("kind_invalid", _("Kind must be release or rollback."), field="kind")
    if not can(actor, REHEARSAL_RECORDERS[RehearsalKind(kind)], product):
        message = (
            _("Only QA of %(product)s records its release rehearsals.")
            if kind == RehearsalKind.RELEASE
            else _("Only DevOps of %(product)s records its rollback rehearsals.")
        )
        raise NotAllowed("role_not_held", message % {"product": product.slug}, field="kind")
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
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action="rehearsal.record",
        obj=rehearsal,
        after={"kind": kind, "performed_on": performed_on, "minutes": minutes, "outcome": outcome},
    )
    _announce(product)
    rehearsal_recorded.send(sender=Rehearsal, rehearsal=rehearsal, actor=actor)
    return rehearsal


def _contact_values(name: str, contact: str) -> tuple[str, str]:
    name, contact = (name or "").strip(), (contact or "").strip()
    if not name:
        raise RuleViolation("name_required", _("Give the name of the person on call."), field="name")
    if not contact:
        raise RuleViolation(
            "contact_required",
            _("Say how to reach them: a phone number, chat handle or e-mail."),
            field="contact",
        )
    if len(name) > 150:
        raise RuleViolation("name_too_long", _("A name is at most 150 characters."), field="name")
    if len(contact) > 255:
        raise RuleViolation(
            "contact_too_long", _("How to reach them is at most 255 characters."), field="contact"
        )
    return name, contact


def _contact_state(contact: OnCallContact | None) -> dict[str, str | None] | None:
    if contact is None:
        return None
    reviewed = contact.reviewed_on.isoformat() if contact.reviewed_on else None
    return {"name": contact.name, "contact": contact.contact, "reviewed_on": reviewed}


@transaction.atomic
def oncall_set(
    *,
    product: Product,
    role: str,
    name: str,
    contact: str,
    actor: User | None = None,
    actor_label: str = "",
    reviewed_on: date | None = None,
) -> OnCallContact:
    """Set who is on call for a role on a product (one contact per role): DevOps of the
    product, or the system (`actor_label`: the policy file). `reviewed_on` is when the
    contact was last confirmed; left out, a new or changed contact is reviewed today and
    an unchanged one keeps its date. Nothing changed: nothing recorded."""
    if role not in Role.values:
        raise RuleViolation("role_invalid", _("Unknown role."), field="role")
    if not actor_label and not can(actor, Capability.EDIT_OPERATIONS, product):
        raise NotAllowed(
            "role_not_held",
            _("Only DevOps of %(product)s edits its on-call contacts.") % {"product": product.slug},
        )
    name, contact = _contact_values(name, contact)
    today = timezone.localdate()
    if reviewed_on is not None and reviewed_on > today:
        raise RuleViolation(
            "date_in_future", _("A contact cannot be reviewed on a day still to come."), field="reviewed_on"
        )
    existing = OnCallContact.objects.select_for_update().filter(product=product, role=role).first()
    before = _contact_state(existing)
    if reviewed_on is None:
        unchanged = existing is not None and (existing.name, existing.contact) == (name, contact)
        reviewed_on = existing.reviewed_on if existing is not None and unchanged else today
    contact_obj, _created = OnCallContact.objects.update_or_create(
        product=product, role=role, defaults={"name": name, "contact": contact, "reviewed_on": reviewed_on}
    )
    after = _contact_state(contact_obj)
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


@transaction.atomic
def oncall_review(*, product: Product, role: str, actor: User | None) -> OnCallContact:
    """Confirm a role's contact is still right, unchanged: reviewed today (DevOps)."""
    if not can(actor, Capability.EDIT_OPERATIONS, product):
        raise NotAllowed(
            "role_not_held",
            _("Only DevOps of %(product)s edits its on-call contacts.") % {"product": product.slug},
        )
    existing = OnCallContact.objects.select_for_update().filter(product=product, role=role).first()
    if existing is None:
        raise RuleViolation(
            "oncall_missing", _("There is no contact for this role yet: add one first."), field="role"
        )
    return oncall_set(
        product=product,
        role=role,
        name=existing.name,
        contact=existing.contact,
        actor=actor,
        reviewed_on=timezone.localdate(),
    )


@transaction.atomic
def runbook_set(*, product: Product, url: str, actor: User | None) -> Product:
    """Set the product's runbook link (DevOps of the product): an http or https link,
    audited before → after; the product's open boards refresh."""
    if not can(actor, Capability.EDIT_OPERATIONS, product):
        raise NotAllowed(
            "role_not_held",
            _("Only DevOps of %(product)s sets its runbook link.") % {"product": product.slug},
        )
    url = (url or "").strip()
    if not url:
        raise RuleViolation(
            "runbook_required", _("Give the runbook's link, starting with https:// or http://."), field="url"
        )
    if len(url) > 200 or not is_http_url(url):
        raise RuleViolation(
            "url_invalid",
            _(
                "“%(url)s” is not a link to a page: give one starting with https:// or http:// "
                "(at most 200 characters)."
            )
            % {"url": url[:100]},
            field="url",
        )
    locked = Product.objects.select_for_update().get(pk=product.pk)
    before = locked.runbook_url
    if before != url:
        locked.runbook_url = url
        locked.save(update_fields=["runbook_url"])
        audit_record(
            actor=actor,
            action="product.runbook_set",
            obj=locked,
            before={"runbook_url": before},
            after={"runbook_url": url},
        )
        _announce(locked)
    product.runbook_url = url
    return locked


HEALTH_FIELDS = ("error_rate", "p95_latency_ms", "rate_429", "crash_free_sessions")
SOURCES = ("push", "prometheus", "sentry")


def _health_values_check(values: dict[str, float | None], *, source: str, problems: Sequence[Any]) -> None:
    if source not in SOURCES:
        raise RuleViolation("source_invalid", _("Unknown health source."), field="source")
    if all(v is None for v in values.values()) and not (problems and source != "push"):
        raise RuleViolation(
            "sample_empty",
            _("Send at least one of error_rate, p95_latency_ms, rate_429, crash_free_sessions."),
            field="error_rate",
        )
    for name in ("error_rate", "rate_429", "crash_free_sessions"):
        value = values[name]
        if value is not None and not 0 <= value <= 1:
            raise RuleViolation("rate_out_of_range", _("A rate is a fraction between 0 and 1."), field=name)
    latency = values["p95_latency_ms"]
    if latency is not None and latency < 0:
        raise RuleViolation("latency_negative", _("Latency cannot be negative."), field="p95_latency_ms")


def _newly_out_of_bounds(sample: HealthSample) -> bool:
    """A fully rolled-out release out of bounds: alerted once when it leaves its bounds
    (its source's previous sample was within them), not at every sample after."""
    if sample.release.state != ReleaseState.RELEASED:
        return False
    previous = (
        HealthSample.objects.filter(release_id=sample.release_id, source=sample.source)
        .exclude(pk=sample.pk)
        .order_by("-sampled_at", "-id")
        .values_list("breaches", flat=True)
        .first()
    )
    return not previous


def _breach_reason(breaches: list[dict[str, Any]], source: str) -> str:
    """The halt's reason for the trail and the API, in plain English: "error rate 9.0 % is
    over the bound 1.0 % — Prometheus"."""
    with translation.override("en"):
        return f"{'; '.join(breach_text(b) for b in breaches)} — {source_label(source)}"


@transaction.atomic
def health_sample_record(
    *,
    release: Release,
    error_rate: float | None = None,
    p95_latency_ms: float | None = None,
    rate_429: float | None = None,
    crash_free_sessions: float | None = None,
    source: str = "push",
    problems: Sequence[dict[str, Any]] = (),
    sampled_at: datetime | None = None,
    actor_label: str = "",
) -> HealthSample:
    """Keep one rollout health sample, pushed or read from a monitoring source (whose
    `problems` say what it could not read: the stage is then inconclusive). A value out
    of the product's bounds while the release rolls out halts it in this transaction,
    with the breach as data (metric, value, bound, source, time)."""
    values = {
        "error_rate": error_rate,
        "p95_latency_ms": p95_latency_ms,
        "rate_429": rate_429,
        "crash_free_sessions": crash_free_sessions,
    }
    _health_values_check(values, source=source, problems=problems)
    release_lock(release.pk)
    release.refresh_from_db(fields=["state"])
    breaches = breaches_of(values, release.product)
    now = timezone.now()
    halt = bool(breaches) and release.state == ReleaseState.ROLLING_OUT
    sample = HealthSample.objects.create(
        release=release,
        **values,
        source=source,
        problems=list(problems),
        sampled_at=min(sampled_at, now) if sampled_at else now,
        received_at=now,
        breaches=breaches,
        halted=halt,
    )
    audit_record(
        actor=None,
        actor_label=actor_label or source,
        action="health_sample.record",
        obj=sample,
        after={**values, "source": source, "breaches": breaches, "problems": list(problems)},
        release_id=release.pk,
    )
    if breaches and (release.state == ReleaseState.ROLLING_OUT or _newly_out_of_bounds(sample)):
        event_emit(
            "health.breach",
            release=release,
            data={
                "breaches": breaches,
                "source": source,
                "sampled_at": sample.sampled_at.isoformat(),
                "halted": halt,
                # PagerDuty pages only while the rollout runs (a resume, rollback or the
                # full rollout resolves it); after it, the chat channels are told.
                "state": ReleaseState.HALTED if halt else release.state,
            },
        )
    if halt:
        worst = breaches[0]
        facts = {
            "kind": "breach",
            "metric": worst["metric"],
            "value": worst["value"],
            "bound": worst["bound"],
            "minimum": worst["minimum"],
            "source": source,
            "sampled_at": sample.sampled_at.isoformat(),
            "sample": sample.pk,
            "breaches": breaches,
        }
        halted = release_halt(
            release=release,
            actor_label=actor_label or source,
            reason=_breach_reason(breaches, source),
            facts=facts,
        )
        event_emit("rollout.halted", release=halted, data={"halt": halted.halt, "automatic": True})
    live_notify(release_id=release.pk, change="operations")
    return sample
