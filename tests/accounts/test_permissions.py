"""accounts.permissions: a global membership counts for every product, a per-product one
for that product only; a superuser may read every board but acts only by the roles held."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts.capabilities import Capability, can, ensure_can, roles_for
from accounts.models import Role

from ..releases.factories import ProductFactory
from .factories import RoleMembershipFactory, UserFactory


# The role questions the capabilities are built on, asked directly.
def has_role(user: Any, roles: Any, product: Any = None) -> bool:
    return bool(roles_for(user, product) & ({roles} if isinstance(roles, str) else set(roles)))


def can_view(user: Any, product: Any = None) -> bool:
    return can(user, Capability.VIEW, product)


def ensure_view(user: Any, product: Any = None) -> None:
    ensure_can(user, Capability.VIEW, product)


def ensure_role(user: Any, role: Any, product: Any = None) -> None:
    if not has_role(user, role, product):
        raise PermissionDenied("This action needs a role you do not hold.")


pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> tuple[Any, Any]:
    return ProductFactory(slug="ios-app"), ProductFactory(slug="api")


def test_a_global_role_counts_for_every_product(products: tuple[Any, Any]) -> None:
    ios, api = products
    user = UserFactory(roles=(Role.QA,))
    assert roles_for(user, ios) == roles_for(user, api) == roles_for(user) == {Role.QA}
    assert has_role(user, Role.QA, ios) and has_role(user, [Role.PM, Role.QA], api)


def test_a_per_product_role_counts_for_that_product_only(products: tuple[Any, Any]) -> None:
    ios, api = products
    user = UserFactory(roles=(Role.DEVOPS,), product=ios)
    assert roles_for(user, ios) == {Role.DEVOPS}
    assert roles_for(user, api) == set()
    assert roles_for(user) == {Role.DEVOPS}  # anywhere
    assert has_role(user, Role.DEVOPS, ios) and not has_role(user, Role.DEVOPS, api)
    assert has_role(user, Role.DEVOPS)  # with no product: held anywhere
    assert roles_for(user, ios.pk) == {Role.DEVOPS}  # a product's id does as well


def test_global_and_per_product_roles_add_up(products: tuple[Any, Any]) -> None:
    ios, api = products
    user = UserFactory(roles=(Role.PM,))
    RoleMembershipFactory(user=user, role=Role.MOBILE_LEAD, product=ios)
    assert roles_for(user, ios) == {Role.PM, Role.MOBILE_LEAD}
    assert roles_for(user, api) == {Role.PM}
    assert not has_role(user, [Role.QA, Role.DEVOPS], ios)


def test_can_view_needs_a_role_on_the_product(products: tuple[Any, Any]) -> None:
    ios, api = products
    user = UserFactory(roles=(Role.QA,), product=ios)
    assert can_view(user, ios) and can_view(user) and not can_view(user, api)
    ensure_view(user, ios)
    with pytest.raises(PermissionDenied):
        ensure_view(user, api)
    assert not can_view(UserFactory())  # no role anywhere


def test_a_superuser_reads_everything_but_acts_only_by_the_roles_held(products: tuple[Any, Any]) -> None:
    ios, api = products
    root = UserFactory(is_superuser=True, is_staff=True)
    assert can_view(root, ios) and can_view(root, api) and can_view(root)
    assert roles_for(root, ios) == set() and not has_role(root, Role.PM, ios)
    with pytest.raises(PermissionDenied):
        ensure_role(root, Role.PM, ios)
    RoleMembershipFactory(user=root, role=Role.PM, product=ios)
    fresh = type(root).objects.get(pk=root.pk)  # roles are read once per user object
    assert has_role(fresh, Role.PM, ios) and not has_role(fresh, Role.PM, api)
    ensure_role(fresh, Role.PM, ios)


def test_an_inactive_superuser_reads_nothing(products: tuple[Any, Any]) -> None:
    ios, _api = products
    assert not can_view(UserFactory(is_superuser=True, is_active=False), ios)


def test_signed_out_holds_no_role(products: tuple[Any, Any]) -> None:
    ios, _api = products
    anonymous = AnonymousUser()
    assert roles_for(anonymous) == set() and roles_for(anonymous, ios) == set()
    assert not has_role(anonymous, Role.values) and not can_view(anonymous, ios)
    with pytest.raises(PermissionDenied):
        ensure_view(anonymous)


def test_roles_are_read_once_per_request_user(
    products: tuple[Any, Any], django_assert_num_queries: Any
) -> None:
    ios, api = products
    user = UserFactory(roles=(Role.QA,), product=ios)
    with django_assert_num_queries(1):
        roles_for(user, ios)
        has_role(user, Role.QA, api)
        can_view(user)
        roles_for(user)
