"""Feature flags in the admin: what each provider needs, secret variables checked, every
change audited; Kills are read only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from flags.models import Flag

from ..audit.admin_forms import admin_post
from ..releases.factories import ProductFactory

GOOD = {
    "key": "search-v2",
    "provider": "unleash",
    "url": "https://unleash.example",
    "project": "default",
    "environment": "production",
    "token_env": "GONOGO_UNLEASH_TOKEN",
    "active": "on",
}


@pytest.fixture
def superuser_client(client: Client, db: Any) -> Client:
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


def post(client: Client, **changes: str) -> Any:
    product = ProductFactory(slug="ios-app")
    return admin_post(
        client, reverse("admin:flags_flag_add"), {**GOOD, "product": str(product.pk), **changes}
    )


def test_a_good_flag_is_saved_and_audited(superuser_client) -> None:
    response = post(superuser_client)
    assert response.status_code == 302, response.context["adminform"].form.errors
    flag = Flag.objects.get()
    assert AuditEvent.objects.filter(action="admin.create", object_id=str(flag.pk)).exists()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"token_env": "SECRET_KEY"}, "must start with GONOGO_"),
        ({"token_env": ""}, "Unleash needs the variable"),
        ({"provider": "webhook", "token_env": ""}, "A webhook needs the variable"),
        ({"provider": "launchdarkly"}, "Select a valid choice"),
    ],
)
def test_a_wrong_flag_is_refused_with_the_reason(superuser_client, changes, words) -> None:
    response = post(superuser_client, **changes)
    assert response.status_code == 200 and words in response.content.decode()
    assert not Flag.objects.exists()


def test_kills_are_read_only(superuser_client) -> None:
    assert superuser_client.get(reverse("admin:flags_kill_add")).status_code == 403
    assert superuser_client.get(reverse("admin:flags_kill_changelist")).status_code == 200
