"""Gates, their results and waivers, as rows (no service)."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Role
from gates.models import Gate, GateResult, ResultSource, ResultStatus, Waiver, WaiverState

from ..accounts.factories import UserFactory
from ..releases.factories import ReleaseFactory


class GateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Gate
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"gate-{n}")
    name = factory.LazyAttribute(lambda o: o.key.title())
    phase = "pre_release"
    blocking = True
    waivable = True
    owner_role = "backend_lead"


class GateResultFactory(factory.django.DjangoModelFactory):
    """A result reported for the release's current commit, observed now."""

    class Meta:
        model = GateResult

    release = factory.SubFactory(ReleaseFactory)
    gate = factory.SubFactory(GateFactory)
    commit_sha = factory.LazyAttribute(lambda o: o.release.commit_sha)
    status = ResultStatus.PASSED
    source = ResultSource.API
    run_id = factory.Sequence(lambda n: f"run-{n}")
    observed_at = factory.LazyFunction(timezone.now)
    received_at = factory.LazyAttribute(lambda o: o.observed_at)


class WaiverFactory(factory.django.DjangoModelFactory):
    """A waiver asked by a QA for the release's current build, open for a day."""

    class Meta:
        model = Waiver

    release = factory.SubFactory(ReleaseFactory)
    gate = factory.SubFactory(GateFactory)
    build_number = factory.LazyAttribute(lambda o: o.release.build_number)
    commit_sha = factory.LazyAttribute(lambda o: o.release.commit_sha)
    reason = "Known flake"
    risk = "Low"
    mitigation = "Watch the crash rate"
    state = WaiverState.REQUESTED
    requested_by = factory.SubFactory(UserFactory, roles=(Role.QA,))
    requested_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.requested_at + timedelta(days=1))
