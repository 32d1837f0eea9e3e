"""Health sources in the admin: the token's variable is checked by the model's clean(),
the queries and the interval as the policy file checks them; each change is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from operations.models import HealthSource

from ..audit.admin_forms import admin_post
from ..releases.factories import ProductFactory

GOOD = {
    "kind": "prometheus",
    "url": "https://prometheus.example",
    "token_env": "GONOGO_PROM_TOKEN",
    "interval_seconds": "60",
    "queries": '{"error_rate": "sum(rate(x{version=\\"{version}\\"}[5m]))"}',
    "release_template": "{product}@{version}+{build}",
    "active": "on",
}


@pytest.fixture
def superuser_client(client: Client, db: Any) -> Client:
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


def post(client: Client, **changes: str) -> Any:
    product = ProductFactory(slug="api")
    return admin_post(
        client, reverse("admin:operations_healthsource_add"), {**GOOD, "product": str(product.pk), **changes}
    )


def test_a_good_source_is_saved_and_audited(superuser_client):
    response = post(superuser_client)
    assert response.status_code == 302, response.context["adminform"].form.errors
    source = HealthSource.objects.get()
    assert source.queries == {"error_rate": 'sum(rate(x{version="{version}"}[5m]))'}
    assert AuditEvent.objects.filter(action="admin.create", object_id=str(source.pk)).exists()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("token_env", "SECRET_KEY", "must start with GONOGO_"),
        ("token_env", "GONOGO_DB_APP_PASSWORD", "server's own settings"),
        ("queries", '{"cpu": "up"}', "Unknown metric cpu"),
        ("queries", '["up"]', "A table of metric"),
        ("interval_seconds", "5", "at least 10 seconds"),
    ],
)
def test_mistakes_are_refused_under_their_field(superuser_client, field, value, words):
    response = post(superuser_client, **{field: value})
    assert response.status_code == 200
    assert words in " ".join(response.context["adminform"].form.errors[field])
    assert not HealthSource.objects.exists()
