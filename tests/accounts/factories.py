"""Users and their roles."""

from __future__ import annotations

from typing import Any

import factory
from django.conf import settings

from accounts.models import MembershipSource, Role, RoleMembership


class UserFactory(factory.django.DjangoModelFactory):
    """A user who signs in with the password "pw". `roles=(...)` gives them roles, for
    every product, or with `product=…` for that one only."""

    class Meta:
        model = settings.AUTH_USER_MODEL

    username = factory.Sequence(lambda n: f"user-{n}")
    password = "pw"

    @classmethod
    def _create(
        cls, model_class: Any, *args: Any, roles: Any = (), product: Any = None, **kwargs: Any
    ) -> Any:
        user = cls._get_manager(model_class).create_user(*args, **kwargs)
        for role in roles:
            RoleMembershipFactory(user=user, role=role, product=product)
        return user


class RoleMembershipFactory(factory.django.DjangoModelFactory):
    """A role held by hand; `product=None` (the default) means every product."""

    class Meta:
        model = RoleMembership

    user = factory.SubFactory(UserFactory)
    role = Role.QA
    product = None
    source = MembershipSource.MANUAL
