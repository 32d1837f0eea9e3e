"""Products and releases, as rows (no service): for tests that set up state."""

from __future__ import annotations

import factory
from django.utils import timezone

from releases.models import Product, Release


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"product-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    platform = "ios"
    runbook_url = "https://wiki.example.com/runbook"
    # Tests that soak say so (tests/operations/test_soak.py); the rest advance at once,
    # on a sample within bounds (tests/releases/builders.py `healthy`).
    soak_minutes = 0


class ReleaseFactory(factory.django.DjangoModelFactory):
    """A release row made directly (no service: no checklists are copied for it)."""

    class Meta:
        model = Release

    product = factory.SubFactory(ProductFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    build_number = factory.Sequence(lambda n: 100 + n)
    commit_sha = factory.Sequence(lambda n: f"{n:040x}")
    branch = "release/x"
    state = "candidate"
    state_changed_at = factory.LazyFunction(timezone.now)
    created_at = factory.LazyFunction(timezone.now)
