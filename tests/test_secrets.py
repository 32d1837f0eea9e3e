"""Secrets come only from GONOGO_* variables that are not the server's own (issue 11,
finding 4): refused in the admin and in the policy, and never read when a row names one."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from core.secrets import env_name_problem, secret_from_env
from integrations.models import Integration
from integrations.polling import releases_poll
from notifications.models import Channel
from releases.models import Product

from .audit.admin_forms import admin_post
from .integrations.ci_payloads import CHECKS, STATUS, check_run, check_runs, combined, setup
from .integrations.ci_server import CI

SERVER_KEY = "the-server-key-that-must-never-leave"


@pytest.mark.parametrize(
    "name",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "GONOGO_VAR_DIR",
        "GONOGO_REQUIRE_SERVICES",
        "GONOGO_BENCH",
        "GONOGO_DEMO_PASSWORD",
        "GONOGO_OIDC_RP_CLIENT_SECRET",
        "GONOGO_",
        "gonogo_lower",
        "GONOGO_X Y",
    ],
)
def test_server_settings_and_other_names_are_refused(name: str) -> None:
    problem = env_name_problem(name)
    assert problem and "GONOGO_" in problem and "server's own settings" in problem


@pytest.mark.parametrize(
    "name",
    [
        "",
        "GONOGO_GH_IOS_SECRET",
        "GONOGO_DEMO_GITHUB_SECRET",
        "GONOGO_DEMO_UNLEASH_TOKEN",
        "GONOGO_SLACK_OPS_URL",
    ],
)
def test_project_secret_names_are_allowed(name: str) -> None:
    assert env_name_problem(name) is None


def test_every_gonogo_name_the_settings_read_is_refused() -> None:
    settings_text = (Path(__file__).resolve().parents[1] / "gonogo" / "settings.py").read_text()
    import re

    demo_secrets = {"GONOGO_DEMO_GITHUB_SECRET", "GONOGO_DEMO_UNLEASH_TOKEN"}  # GONOGO_SECRET_DEFAULTS
    names = set(re.findall(r"\bGONOGO_[A-Z0-9_]+\b", settings_text)) - demo_secrets
    assert names, "the settings read GONOGO_ variables"
    assert all(env_name_problem(n) for n in names), [n for n in names if not env_name_problem(n)]


@pytest.fixture
def superuser_client(client: Client, db: Any) -> Client:
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.mark.parametrize("field", ["secret_env", "api_token_env"])
def test_admin_refuses_an_integration_naming_secret_key(superuser_client: Client, field: str) -> None:
    product = Product.objects.create(slug="ios-app", name="iOS", platform="ios")
    integration = Integration.objects.create(slug="gh", provider="github", product=product)
    url = reverse("admin:integrations_integration_change", args=[integration.pk])

    response = admin_post(superuser_client, url, {field: "SECRET_KEY"})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "must start with GONOGO_ and not be one of the server's own settings" in errors[field][0]
    integration.refresh_from_db()
    assert getattr(integration, field) == ""


def test_admin_refuses_a_channel_naming_a_server_setting(superuser_client: Client) -> None:
    response = admin_post(
        superuser_client,
        reverse("admin:notifications_channel_add"),
        {"slug": "ops", "kind": "webhook", "url_env": "GONOGO_VAR_DIR"},
    )
    assert response.status_code == 200
    assert "server's own settings" in response.context["adminform"].form.errors["url_env"][0]
    assert not Channel.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('[[integrations]]\nslug = "gh"\nprovider = "github"\nproduct = "ios-app"\nsecret_env = "SECRET_KEY"\n',
         "integrations[0].secret_env"),
        ('[[integrations]]\nslug = "gh"\nprovider = "github"\nproduct = "ios-app"\napi_token_env = "GONOGO_VAR_DIR"\n',
         "integrations[0].api_token_env"),
        ('[[channels]]\nslug = "ops"\nkind = "webhook"\nurl_env = "DATABASE_URL"\n', "channels[0].url_env"),
    ],
)  # fmt: skip
def test_policy_refuses_a_server_setting_naming_file_and_key(tmp_path: Path, table: str, key: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[[products]]\nslug = "ios-app"\nname = "iOS"\nplatform = "ios"\n\n' + table)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("apply_policy", str(path), "--check", stdout=StringIO(), stderr=err)
    assert f"{path}" in err.getvalue() and key in err.getvalue()
    assert "must start with GONOGO_ and not be one of the server's own settings" in err.getvalue()
    assert not Product.objects.exists()


def test_a_stored_bad_name_reads_no_secret_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SECRET_KEY", SERVER_KEY)
    with caplog.at_level(logging.WARNING, logger="core.secrets"):
        assert secret_from_env("SECRET_KEY", owner="integration gh") == ""
    assert "integration gh: secret not read from SECRET_KEY" in caplog.text


@pytest.fixture
def listener() -> Any:
    servers: list[CI] = []

    def start() -> CI:
        servers.append(CI())
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.django_db
def test_a_row_forced_to_name_secret_key_never_sends_the_key(
    listener: Callable[[], CI], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The attack of finding 4: a row pointing api_token_env at SECRET_KEY and api_url at
    a listener. Forced into the database past every check, it still sends no key."""
    monkeypatch.setenv("SECRET_KEY", SERVER_KEY)
    server = listener()
    server.reply(CHECKS, check_runs(check_run()))
    server.reply(STATUS, combined())
    s = setup(server, "github")
    Integration.objects.filter(pk=s.integration.pk).update(
        api_token_env="SECRET_KEY", secret_env="SECRET_KEY"
    )

    with caplog.at_level(logging.WARNING, logger="core.secrets"):
        releases_poll()

    assert server.seen, "the listener was asked"
    for seen in server.seen:
        assert SERVER_KEY not in json.dumps(seen.headers) and "authorization" not in seen.headers
    assert "secret not read from SECRET_KEY" in caplog.text


@pytest.mark.django_db
def test_a_webhook_signed_with_the_server_key_is_refused(
    client: Client, ci_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", SERVER_KEY)
    Integration.objects.filter(pk=ci_world.github.pk).update(secret_env="SECRET_KEY")
    body = json.dumps({"zen": "hi", "hook_id": 1}).encode()
    signature = "sha256=" + hmac.new(SERVER_KEY.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(
        "/api/v1/webhooks/github/gh",
        body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="ping",
        HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
        HTTP_X_HUB_SIGNATURE_256=signature,
    )
    assert response.status_code == 401
