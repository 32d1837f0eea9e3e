"""Local CI servers for the polling tests, each closed when its test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .ci_server import CI, PagedCI


@pytest.fixture
def ci() -> Iterator[Callable[..., CI]]:
    servers: list[CI] = []

    def start(**kw: Any) -> CI:
        servers.append(CI(**kw))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def paged() -> Iterator[Callable[..., PagedCI]]:
    servers: list[PagedCI] = []

    def start(**kw: Any) -> PagedCI:
        servers.append(PagedCI(**kw))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


# The GitHub App (tests/integrations/test_github_app*.py): a fake GitHub API, the App's
# environment pointing at it, and a product whose repository the App is installed on.

APP_SECRET = "app-webhook-secret-for-tests"
REPOSITORY = "acme/shop"
INSTALLATION = 77


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from integrations import github_app

    from .github_app_server import APP_ID, FakeGitHub, rsa_key_pem

    pem, public = rsa_key_pem()
    fake = FakeGitHub(public)
    monkeypatch.setenv("GONOGO_GITHUB_APP_ID", APP_ID)
    monkeypatch.setenv("GONOGO_GITHUB_APP_PRIVATE_KEY", pem)
    monkeypatch.setenv("GONOGO_GITHUB_APP_WEBHOOK_SECRET", APP_SECRET)
    monkeypatch.setenv("GONOGO_GITHUB_API_URL", fake.url)
    monkeypatch.setattr(github_app, "TIMEOUT", 1.0)
    github_app.tokens_forget()
    yield fake
    github_app.tokens_forget()
    fake.close()


@pytest.fixture
def app_world(make_user: Any, github: Any) -> Any:
    """A release ready but not decided, its product's GitHub integration on REPOSITORY,
    the App installed there."""
    from django.utils import timezone

    from integrations.models import AppInstallation

    from ..releases.builders import build_world
    from .factories import IntegrationFactory

    world = build_world(make_user)
    world.integration = IntegrationFactory(product=world.product, repository=REPOSITORY)
    AppInstallation.objects.create(
        repository=REPOSITORY, installation_id=INSTALLATION, updated_at=timezone.now()
    )
    world.github = github
    return world
