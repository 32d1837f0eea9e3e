"""accounts.capabilities: who may do what. `HOLDERS` is exactly the table documented here
and in docs/concepts.md; a global membership counts for every product, a per-product one
for that product only; a superuser reads everything but acts only through roles held."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts.capabilities import HOLDERS, Capability, acting_roles, can, ensure_can, may_do, roles_for
from accounts.models import Role

from ..releases.factories import ProductFactory
from .factories import RoleMembershipFactory

C = Capability
# Role by role, what each may do: the documented table (docs/concepts.md, "Who may do what").
DOCUMENTED: dict[Role, set[Capability]] = {
    Role.PM: {
        C.VIEW,
        C.SIGN_OFF,
        C.DECIDE,
        C.CANCEL,
        C.PROMOTE,
        C.RUN_MEETING,
        C.APPROVE_WAIVER,
        C.REVOKE_WAIVER,
        C.CARRY_OVER_WAIVER,
        C.TICK_OWN_ITEM,
        C.UPDATE_CHECKLIST_FROM_TEMPLATE,
        C.APPROVE_PROGRAMME_ITEM,
        C.EDIT_REVIEW,
        C.EDIT_ATTENDED_REVIEW,
        C.CLOSE_ACTION_ITEM,
        C.MANAGE_ALERTS,
        C.KILL_FLAG,
        C.MANAGE_FLAGS,
        C.ASK_IN_SLACK,
    },
    Role.QA: {
        C.VIEW,
        C.SIGN_OFF,
        C.ASK_WAIVER,
        C.TICK_ANY_ITEM,
        C.TICK_OWN_ITEM,
        C.UNDO_TICK,
        C.REPORT_DEFECT,
        C.RESOLVE_DEFECT,
        C.UPDATE_CHECKLIST_FROM_TEMPLATE,
        C.APPROVE_PROGRAMME_ITEM,
        C.RECORD_RELEASE_REHEARSAL,
        C.EDIT_ATTENDED_REVIEW,
    },
    Role.MOBILE_LEAD: {
        C.VIEW,
        C.SIGN_OFF,
        C.ASK_WAIVER,
        C.TICK_OWN_ITEM,
        C.UNDO_TICK,
        C.REPORT_DEFECT,
        C.RESOLVE_DEFECT,
        C.APPROVE_PROGRAMME_ITEM,
        C.EDIT_ATTENDED_REVIEW,
    },
    Role.BACKEND_LEAD: {
        C.VIEW,
        C.SIGN_OFF,
        C.ASK_WAIVER,
        C.TICK_OWN_ITEM,
        C.UNDO_TICK,
        C.REPORT_DEFECT,
        C.RESOLVE_DEFECT,
        C.APPROVE_PROGRAMME_ITEM,
        C.EDIT_ATTENDED_REVIEW,
    },
    Role.DEVOPS: {
        C.VIEW,
        C.SIGN_OFF,
        C.TICK_OWN_ITEM,
        C.UNDO_TICK,
        C.APPROVE_PROGRAMME_ITEM,
        C.ADVANCE_ROLLOUT,
        C.RECORD_ROLLBACK_REHEARSAL,
        C.EDIT_OPERATIONS,
        C.EDIT_ATTENDED_REVIEW,
        C.MANAGE_ALERTS,
        C.KILL_FLAG,
        C.MANAGE_FLAGS,
    },
}
DOC_COLUMNS = [Role.PM, Role.QA, Role.MOBILE_LEAD, Role.BACKEND_LEAD, Role.DEVOPS]
ALL_ROLE_SETS = [set(s) for n in range(len(Role)) for s in itertools.combinations(Role, n + 1)]


def may(capability: Capability, *, acting_as: str | None = None) -> set[str]:
    """The roles that may do `capability` (acting in role `acting_as` only, where it is done
    in one role: a sign-off, an item's owner role). tests/test_views.py's matrix uses it."""
    roles = {str(role) for role in HOLDERS[capability]}
    return roles & {acting_as} if acting_as is not None else roles


@pytest.mark.parametrize("capability", list(Capability))
def test_each_capability_is_held_by_exactly_the_documented_roles(capability: Capability) -> None:
    assert HOLDERS[capability] == {role for role, allowed in DOCUMENTED.items() if capability in allowed}
    assert may(capability) == {role.value for role in HOLDERS[capability]}
    assert HOLDERS[capability], "a capability nobody holds is dead code"


def test_the_table_covers_every_capability_and_nothing_else() -> None:
    assert set(HOLDERS) == set(Capability)
    assert set(DOCUMENTED) == set(Role)


def test_docs_concepts_shows_the_same_table() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "concepts.md").read_text(encoding="utf-8")
    section = text.split("### Who may do what", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| `([a-z_]+)` \|(.*)\|\s*$", line)
        if match:
            cells = [cell.strip() for cell in match.group(2).split("|")][1:]  # after "What"
            rows[match.group(1)] = {
                role for role, cell in zip(DOC_COLUMNS, cells, strict=True) if cell == "✓"
            }
    assert rows == {capability.value: set(HOLDERS[capability]) for capability in Capability}


@pytest.mark.django_db
def test_per_product_roles_count_on_that_product_only(make_user: Any) -> None:
    """Every role set, held for one product: each capability exactly where a role holds it."""
    ios, api = ProductFactory(slug="ios-app"), ProductFactory(slug="api")
    for roles in ALL_ROLE_SETS:
        user = make_user(*roles, product=ios)
        for capability in Capability:
            expected = bool(roles & HOLDERS[capability])
            assert can(user, capability, ios) is expected, (roles, capability)
            assert can(user, capability) is expected, (roles, capability)  # anywhere
            assert can(user, capability, ios.pk) is expected  # a product's id does as well
            assert not can(user, capability, api), (roles, capability)
        assert may_do(user, ios) == {c.value: bool(roles & HOLDERS[c]) for c in Capability}


@pytest.mark.django_db
def test_global_roles_count_for_every_product(make_user: Any) -> None:
    ios, api = ProductFactory(slug="ios-app"), ProductFactory(slug="api")
    for roles in ALL_ROLE_SETS:
        user = make_user(*roles)
        for capability in Capability:
            expected = bool(roles & HOLDERS[capability])
            assert can(user, capability, ios) is can(user, capability, api) is expected, (roles, capability)


@pytest.mark.django_db
def test_global_and_per_product_roles_add_up(make_user: Any) -> None:
    ios, api = ProductFactory(slug="ios-app"), ProductFactory(slug="api")
    user = make_user(Role.QA)
    RoleMembershipFactory(user=user, role=Role.DEVOPS, product=ios)
    assert roles_for(user, ios) == {Role.QA, Role.DEVOPS} and roles_for(user, api) == {Role.QA}
    assert can(user, C.ADVANCE_ROLLOUT, ios) and not can(user, C.ADVANCE_ROLLOUT, api)
    assert can(user, C.REPORT_DEFECT, ios) and can(user, C.REPORT_DEFECT, api)
    assert acting_roles(user, C.UNDO_TICK, ios) == {Role.QA, Role.DEVOPS}
    assert acting_roles(user, C.UNDO_TICK, api) == {Role.QA}


@pytest.mark.django_db
def test_role_narrows_to_acting_in_that_role(make_user: Any) -> None:
    """A sign-off or an owned item is done in one role: that role, held, and a holder."""
    ios, api = ProductFactory(slug="ios-app"), ProductFactory(slug="api")
    user = make_user(Role.QA, Role.DEVOPS, product=ios)
    assert can(user, C.SIGN_OFF, ios, role=Role.QA) and can(user, C.SIGN_OFF, ios, role=Role.DEVOPS)
    assert not can(user, C.SIGN_OFF, ios, role=Role.PM)  # not held
    assert not can(user, C.SIGN_OFF, api, role=Role.QA)  # not held for this product
    assert not can(user, C.SIGN_OFF, ios, role="")
    assert may(C.SIGN_OFF, acting_as=Role.QA) == {"qa"} and may(C.DECIDE, acting_as=Role.QA) == set()
    assert not can(user, C.TICK_ANY_ITEM, ios, role=Role.DEVOPS)  # held, but not a holder
    assert can(user, C.TICK_OWN_ITEM, ios, role=Role.DEVOPS)


@pytest.mark.django_db
def test_a_superuser_reads_everything_but_acts_only_by_the_roles_held(make_user: Any) -> None:
    ios, api = ProductFactory(slug="ios-app"), ProductFactory(slug="api")
    root = make_user(is_superuser=True, is_staff=True)
    assert can(root, C.VIEW, ios) and can(root, C.VIEW, api) and can(root, C.VIEW)
    assert not any(can(root, capability, ios) for capability in Capability if capability != C.VIEW)
    with pytest.raises(PermissionDenied, match=r"^This action needs a role you do not hold\.$"):
        ensure_can(root, C.DECIDE, ios)
    RoleMembershipFactory(user=root, role=Role.PM, product=ios)
    fresh = type(root).objects.get(pk=root.pk)  # roles are read once per user object
    assert can(fresh, C.DECIDE, ios) and not can(fresh, C.DECIDE, api)
    ensure_can(fresh, C.DECIDE, ios)


@pytest.mark.django_db
def test_an_inactive_superuser_reads_nothing(make_user: Any) -> None:
    ios = ProductFactory(slug="ios-app")
    assert not can(make_user(is_superuser=True, is_active=False), C.VIEW, ios)


@pytest.mark.django_db
def test_nobody_signed_out_or_without_a_role_may_do_anything(make_user: Any) -> None:
    ios = ProductFactory(slug="ios-app")
    for someone in (AnonymousUser(), None, make_user()):
        assert not any(can(someone, capability, ios) for capability in Capability)
        assert not any(can(someone, capability) for capability in Capability)
        with pytest.raises(PermissionDenied, match=r"^You hold no role on this product\.$"):
            ensure_can(someone, C.VIEW, ios)


@pytest.mark.django_db
def test_roles_are_read_once_per_request_user(make_user: Any, django_assert_num_queries: Any) -> None:
    ios, api = ProductFactory(slug="ios-app"), ProductFactory(slug="api")
    user = make_user(Role.QA, product=ios)
    with django_assert_num_queries(1):
        may_do(user, ios)
        may_do(user, api)
        can(user, C.VIEW)
        acting_roles(user, C.SIGN_OFF, ios)
