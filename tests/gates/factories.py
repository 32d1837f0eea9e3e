from __future__ import annotations

import factory

from gates.models import Gate


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
