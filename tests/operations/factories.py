"""On-call contacts, rehearsals and health samples, as rows (no service)."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Role
from operations.models import (
    HealthSample,
    OnCallContact,
    Rehearsal,
    RehearsalKind,
    RehearsalOutcome,
)

from ..releases.factories import ProductFactory, ReleaseFactory


class OnCallContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OnCallContact
        django_get_or_create = ("product", "role")

    product = factory.SubFactory(ProductFactory)
    role = Role.DEVOPS
    name = factory.LazyAttribute(lambda o: f"{o.role} person")
    contact = "+82 10"
    reviewed_on = factory.LazyFunction(timezone.localdate)


class RehearsalFactory(factory.django.DjangoModelFactory):
    """A rollback rehearsal that passed in 9 minutes, three days ago."""

    class Meta:
        model = Rehearsal

    product = factory.SubFactory(ProductFactory)
    kind = RehearsalKind.ROLLBACK
    performed_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=3))
    minutes = 9
    outcome = RehearsalOutcome.PASSED


class HealthSampleFactory(factory.django.DjangoModelFactory):
    """A sample within the default bounds, taken now."""

    class Meta:
        model = HealthSample

    release = factory.SubFactory(ReleaseFactory)
    error_rate = 0.001
    p95_latency_ms = 300.0
    rate_429 = 0.0
    sampled_at = factory.LazyFunction(timezone.now)
    received_at = factory.LazyAttribute(lambda o: o.sampled_at)
    breaches = factory.LazyFunction(list)
    halted = False
