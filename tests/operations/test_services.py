"""operations.services: rehearsals and on-call contacts on record, and health samples that
halt a rollout when they break the product's bounds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from core.errors import RuleViolation
from operations.models import HealthSample, OnCallContact, Rehearsal
from operations.services import health_sample_record, oncall_set, rehearsal_record
from releases.models import Release, ReleaseState

from ..accounts.factories import UserFactory
from ..releases.factories import ProductFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def rehearse(**given: Any) -> Rehearsal:
    """A rehearsal recorded by DevOps (rollback) or QA (release) of every product
    (who may record which: tests/operations/test_operations_edits.py)."""
    values = {"kind": "rollback", "performed_on": TODAY(), "minutes": 9, "outcome": "passed", **given}
    product = values.pop("product", None) or ProductFactory()
    if "actor" not in values:
        values["actor"] = UserFactory(roles=(Role.QA if values["kind"] == "release" else Role.DEVOPS,))
    return rehearsal_record(product=product, **values)


def test_a_rehearsal_is_kept_with_who_recorded_it() -> None:
    qa = UserFactory(roles=(Role.QA,))
    rehearsal = rehearse(kind="release", minutes="12", actor=qa, notes="dry run")
    assert (rehearsal.kind, rehearsal.minutes, rehearsal.recorded_by, rehearsal.notes) == (
        "release",
        12,
        qa,
        "dry run",
    )
    event = AuditEvent.objects.get(action="rehearsal.record")
    assert (event.actor, event.object_id) == (qa, str(rehearsal.pk))
    assert event.after == {
        "kind": "release",
        "performed_on": str(TODAY()),
        "minutes": 12,
        "outcome": "passed",
    }


@pytest.mark.parametrize("minutes", [0, 10080, "7"])
def test_rehearsal_minutes_from_0_to_a_week(minutes: Any) -> None:
    assert rehearse(minutes=minutes).minutes == int(minutes)


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        ({"kind": "deploy"}, "kind_invalid", "kind"),
        ({"outcome": "ok"}, "outcome_invalid", "outcome"),
        ({"performed_on": TODAY() + timedelta(days=1)}, "date_in_future", "performed_on"),
        ({"minutes": 10081}, "minutes_invalid", "minutes"),
        ({"minutes": -1}, "minutes_invalid", "minutes"),
        ({"minutes": "1.5"}, "minutes_invalid", "minutes"),
        ({"minutes": None}, "minutes_invalid", "minutes"),
    ],
)
def test_rehearsal_refusals(given: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        rehearse(**given)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Rehearsal.objects.exists() and not AuditEvent.objects.filter(action="rehearsal.record")


def test_oncall_one_contact_per_role_each_change_on_record() -> None:
    product = ProductFactory()
    devops = UserFactory(roles=(Role.DEVOPS,))
    first = oncall_set(product=product, role=Role.DEVOPS, name="Dana", contact="+82 10 1", actor=devops)
    again = oncall_set(product=product, role=Role.DEVOPS, name="Dana", contact="+82 10 1", actor=devops)
    changed = oncall_set(product=product, role=Role.DEVOPS, name="Eun", contact="@eun", actor_label="policy")
    assert first.pk == again.pk == changed.pk and OnCallContact.objects.get().name == "Eun"
    events = list(AuditEvent.objects.filter(action="oncall.set").order_by("id"))
    assert len(events) == 2  # the same values again change nothing and record nothing
    today = str(TODAY())
    assert (events[0].before, events[0].after) == (
        None,
        {"name": "Dana", "contact": "+82 10 1", "reviewed_on": today},
    )
    assert events[1].before == {"name": "Dana", "contact": "+82 10 1", "reviewed_on": today}
    assert (events[1].after, events[1].actor_label) == (
        {"name": "Eun", "contact": "@eun", "reviewed_on": today},
        "policy",
    )


def test_oncall_unknown_role_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        oncall_set(product=ProductFactory(), role="sre", name="Sam", contact="x")
    assert (refused.value.code, refused.value.field) == ("role_invalid", "role")
    assert not OnCallContact.objects.exists()


def test_operations_changes_refresh_the_active_releases_only(monkeypatch: pytest.MonkeyPatch) -> None:
    told: list[tuple[int | None, str]] = []
    monkeypatch.setattr(
        "operations.services.live_notify", lambda *, release_id, change: told.append((release_id, change))
    )
    product = ProductFactory()
    active = ReleaseFactory(product=product, state="candidate")
    ReleaseFactory(product=product, state="released")
    ReleaseFactory(state="candidate")  # another product's
    oncall_set(product=product, role=Role.QA, name="Quinn", contact="q@example.com", actor_label="policy")
    rehearse(product=product)
    assert told == [(active.pk, "operations"), (active.pk, "operations")]


def rolling_out(**product: Any) -> Release:
    return ReleaseFactory(product=ProductFactory(**product), state="rolling_out", rollout_percent=5)


def sample(release: Release, **values: Any) -> HealthSample:
    given = {"error_rate": None, "p95_latency_ms": None, "rate_429": None, **values}
    return health_sample_record(release=release, actor_label="token:monitoring", **given)


def test_a_sample_at_the_bounds_keeps_the_rollout_going() -> None:
    release = rolling_out()  # bounds: 0.01, 800 ms, 0.005
    kept = sample(release, error_rate=0.01, p95_latency_ms=800, rate_429=0.005)
    assert (kept.breaches, kept.halted) == ([], False)
    assert Release.objects.get(pk=release.pk).state == ReleaseState.ROLLING_OUT
    event = AuditEvent.objects.get(action="health_sample.record")
    assert (event.actor_label, event.release_id, event.after["breaches"]) == (
        "token:monitoring",
        release.pk,
        [],
    )


def test_a_sample_out_of_bounds_halts_the_rollout_saying_which() -> None:
    release = rolling_out(health_p95_latency_ms=500)
    halted = sample(release, error_rate=0.02, p95_latency_ms=900, rate_429=0.001)
    assert halted.halted and halted.breaches == [
        {"metric": "error_rate", "value": 0.02, "bound": 0.01, "minimum": False},
        {"metric": "p95_latency_ms", "value": 900, "bound": 500.0, "minimum": False},
    ]
    assert Release.objects.get(pk=release.pk).state == ReleaseState.HALTED
    halt = AuditEvent.objects.get(action="release.halt", release_id=release.pk)
    assert halt.after["reason"] == (
        "error rate 2.0 % is over the bound 1.0 %; p95 latency 900 ms is over the bound 500 ms — pushed by monitoring"
    )
    assert halt.actor_label == "token:monitoring"


@pytest.mark.parametrize("state", ["candidate", "go", "halted", "released"])
def test_out_of_bounds_outside_a_rollout_is_kept_but_halts_nothing(state: str) -> None:
    release = ReleaseFactory(state=state)
    kept = sample(release, rate_429=0.5)
    assert kept.breaches == [{"metric": "rate_429", "value": 0.5, "bound": 0.005, "minimum": False}]
    assert not kept.halted
    assert Release.objects.get(pk=release.pk).state == state
    assert not AuditEvent.objects.filter(action="release.halt").exists()


def test_a_sample_from_the_future_is_taken_as_now() -> None:
    release = rolling_out()
    before = timezone.now()
    future = sample(release, error_rate=0.0, sampled_at=before + timedelta(hours=2))
    assert before <= future.sampled_at <= timezone.now()
    past = sample(release, error_rate=0.0, sampled_at=before - timedelta(minutes=5))
    assert past.sampled_at == before - timedelta(minutes=5)


@pytest.mark.parametrize(
    ("values", "code", "field"),
    [
        ({}, "sample_empty", "error_rate"),
        ({"error_rate": 1.5}, "rate_out_of_range", "error_rate"),
        ({"rate_429": -0.1}, "rate_out_of_range", "rate_429"),
        ({"p95_latency_ms": -1}, "latency_negative", "p95_latency_ms"),
    ],
)
def test_bad_samples_are_refused(values: dict[str, Any], code: str, field: str) -> None:
    release = rolling_out()
    with pytest.raises(RuleViolation) as refused:
        sample(release, **values)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not HealthSample.objects.exists()
    assert Release.objects.get(pk=release.pk).state == ReleaseState.ROLLING_OUT
