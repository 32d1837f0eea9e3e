"""The demo integration's `demo-secret` is a development default only (issue 11, item 9):
with DEBUG off and GONOGO_DEMO_GITHUB_SECRET unset, its webhooks are refused with 401,
saying which variable to set."""

from __future__ import annotations

import hashlib
import hmac
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/github/demo-github"


def post_ping(client: Client, secret: str) -> Any:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="ping",
        HTTP_X_GITHUB_DELIVERY="demo-1",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )


@pytest.fixture
def demo_integration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONOGO_DEMO_GITHUB_SECRET", raising=False)
    call_command("seed_demo", stdout=StringIO())


def test_without_debug_demo_secret_is_refused_saying_what_to_set(
    client: Client, demo_integration: None, settings: Any
) -> None:
    assert settings.GONOGO_SECRET_DEFAULTS == {  # DEBUG off
        "GONOGO_DEMO_GITHUB_SECRET": "",
        "GONOGO_DEMO_UNLEASH_TOKEN": "",
    }
    response = post_ping(client, "demo-secret")
    assert response.status_code == 401
    assert response.json()["code"] == "secret_missing"
    assert "GONOGO_DEMO_GITHUB_SECRET" not in response.json()["detail"]  # named in the log only
    assert "administrator must set" in response.json()["detail"]


def test_with_the_variable_set_the_demo_integration_takes_deliveries(
    client: Client, demo_integration: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GONOGO_DEMO_GITHUB_SECRET", "a-real-secret-of-our-own")
    assert post_ping(client, "demo-secret").json()["code"] == "signature_invalid"
    assert post_ping(client, "a-real-secret-of-our-own").status_code == 200


def test_with_debug_on_demo_secret_still_works(client: Client, demo_integration: None, settings: Any) -> None:
    settings.GONOGO_SECRET_DEFAULTS = {"GONOGO_DEMO_GITHUB_SECRET": "demo-secret"}  # DEBUG=1 (make run)
    assert post_ping(client, "demo-secret").status_code == 200
