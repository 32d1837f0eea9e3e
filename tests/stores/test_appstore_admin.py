"""App Store Connect sources in the admin: audited, the key's variable checked."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from stores.models import AppStoreSource

from ..releases.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client: Client) -> Client:
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


def form(product: Any, **changes: Any) -> dict[str, Any]:
    return {
        "product": product.pk,
        "issuer_id": "57246542-96fe-1a63-e053-0824d011072a",
        "key_id": "2X9R4HXF34",
        "private_key_env": "GONOGO_ASC_KEY",
        "app_id": "1234567890",
        "active": "on",
        **changes,
    }


def test_adding_a_source_is_on_the_audit_trail(root: Client) -> None:
    product = ProductFactory(slug="ios")
    response = root.post(reverse("admin:stores_appstoresource_add"), form(product))
    assert response.status_code == 302
    source = AppStoreSource.objects.get(product=product)
    event = AuditEvent.objects.get(action="admin.create", object_type="stores.appstoresource")
    assert event.object_id == str(source.pk) and event.after["private_key_env"] == "GONOGO_ASC_KEY"


def test_the_key_variable_must_be_a_gonogo_secret(root: Client) -> None:
    product = ProductFactory(slug="ios")
    response = root.post(
        reverse("admin:stores_appstoresource_add"), form(product, private_key_env="SECRET_KEY")
    )
    assert response.status_code == 200 and "must start with GONOGO_" in response.content.decode()
    assert not AppStoreSource.objects.exists()


def test_the_change_log_is_read_only(root: Client) -> None:
    assert root.get(reverse("admin:stores_appstorechange_changelist")).status_code == 200
    assert root.get(reverse("admin:stores_appstorechange_add")).status_code == 403
