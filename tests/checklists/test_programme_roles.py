"""Programme setup checks are approved only by someone holding the check's role for every
product the programme covers (issue 11, item 9): a PM/PO of one product does not approve,
for all of them, that the programme's criteria are agreed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from checklists.models import Checklist, ChecklistItem, ChecklistTemplate
from checklists.services import checklist_item_tick
from core.errors import NotAllowed
from releases.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> list[Product]:
    return [
        Product.objects.create(slug="ios-app", name="iOS", platform="ios"),
        Product.objects.create(slug="android-app", name="Android", platform="android"),
    ]


def programme_item(template_products: list[Product] | None = None) -> ChecklistItem:
    template = ChecklistTemplate.objects.create(key="programme", name="Programme", kind="programme")
    if template_products:
        template.products.set(template_products)
    checklist = Checklist.objects.create(
        template=template, kind="programme", name="Programme", created_at=timezone.now()
    )
    return ChecklistItem.objects.create(
        checklist=checklist, section="Week 1", title="Criteria approved", owner_role=Role.PM, position=1
    )


def approve(user: Any, item: ChecklistItem) -> Any:
    client = Client()
    client.force_login(user)
    url = reverse("checklists:programme_approve", kwargs={"pk": item.pk})
    return client.post(url, {"state": "passed", "revision": item.revision})


def test_a_role_on_one_product_only_is_refused(products: list[Product], make_user: Any) -> None:
    item = programme_item()
    pm_of_ios = make_user(Role.PM, product=products[0])
    assert approve(pm_of_ios, item).status_code == 403
    with pytest.raises(NotAllowed):
        checklist_item_tick(item=item, state="passed", actor=pm_of_ios)
    item.refresh_from_db()
    assert item.state == "open"


def test_the_role_on_every_covered_product_approves(products: list[Product], make_user: Any) -> None:
    item = programme_item()
    pm_of_both = make_user(Role.PM, product=products[0])
    pm_of_both.role_memberships.create(role=Role.PM, product=products[1])
    assert approve(pm_of_both, item).status_code == 302
    item.refresh_from_db()
    assert (item.state, item.ticked_by) == ("passed", pm_of_both)


def test_a_global_role_approves_and_another_role_does_not(products: list[Product], make_user: Any) -> None:
    item = programme_item()
    assert approve(make_user(Role.QA), item).status_code == 403  # every product, wrong role
    assert approve(make_user(Role.PM), item).status_code == 302


def test_a_programme_for_some_products_needs_the_role_on_those(
    products: list[Product], make_user: Any
) -> None:
    item = programme_item(template_products=[products[0]])
    assert approve(make_user(Role.PM, product=products[1]), item).status_code == 403
    assert approve(make_user(Role.PM, product=products[0]), item).status_code == 302


def test_the_dashboard_offers_approve_only_to_those_who_may(products: list[Product], make_user: Any) -> None:
    item = programme_item()
    client = Client()
    client.force_login(make_user(Role.PM, product=products[0]))
    page = client.get(reverse("board:dashboard")).content.decode()
    assert "Criteria approved" in page
    assert reverse("checklists:programme_approve", kwargs={"pk": item.pk}) not in page
    client.force_login(make_user(Role.PM))
    page = client.get(reverse("board:dashboard")).content.decode()
    assert reverse("checklists:programme_approve", kwargs={"pk": item.pk}) in page
