"""Shared fixtures. Tests use the real database (PostgreSQL in CI) and a real Redis.

Set GONOGO_REQUIRE_SERVICES=1 (CI does) to turn every "needs PostgreSQL/Redis" skip into
a failure: in CI, a test that could not reach its service has not passed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from accounts.models import Role

from .accounts.factories import UserFactory

REQUIRE_SERVICES = os.environ.get("GONOGO_REQUIRE_SERVICES", "") not in ("", "0", "false")


def service_missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (GONOGO_REQUIRE_SERVICES is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """Hashing a password the production way costs about a second on a small machine, and
    most tests make several users: tests hash with MD5. Nothing here tests the hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def postgres(db: Any) -> None:
    """Use in tests that need PostgreSQL itself (triggers, row locks across connections)."""
    if connection.vendor != "postgresql":
        service_missing("needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture
def postgres_tx(transactional_db: Any) -> None:
    if connection.vendor != "postgresql":
        service_missing("needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        service_missing("needs Redis: set REDIS_URL=redis://…")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing(f"needs Redis at {url}: {exc}")
    return url


_flushing = {"on": False}


def _maintenance(on: bool) -> None:
    _flushing["on"] = on
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('gonogo.maintenance', %s, false)", ["on" if on else "off"])


@receiver(connection_created)
def _maintenance_on_reconnect(sender: Any, connection: Any, **kwargs: Any) -> None:
    # A test that closed its connection leaves the flush a new one: keep it in maintenance.
    if _flushing["on"] and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('gonogo.maintenance', 'on', false)")


@pytest.fixture(autouse=True)
def _evidence_guards(request: pytest.FixtureRequest) -> Any:
    """On PostgreSQL the audit trail and the evidence tables refuse UPDATE, DELETE and
    TRUNCATE (audit migration 0003), except in an owner's session with
    `gonogo.maintenance = 'on'`. pytest-django flushes the database with TRUNCATE after
    each transactional test, so only for that flush does the suite turn maintenance on;
    every test itself runs with the guards in force (a code path that updates or deletes
    evidence fails here as it would in production)."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if connection.vendor != "postgresql" or not (marker or names & {"db", "transactional_db", "live_server"}):
        yield
        return
    transactional = bool(names & {"transactional_db", "live_server"}) or bool(
        marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    _maintenance(False)
    yield
    if transactional:
        _maintenance(True)  # the flush that follows is the suite's, not the code's


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    """make_user("qa") → a user holding QA for every product; product=… limits it."""
    counter = {"n": 0}

    def make(*roles: str, product: Any = None, username: str | None = None, **extra: Any) -> Any:
        counter["n"] += 1
        name = username or f"{'-'.join(roles) or 'nobody'}-{counter['n']}"
        return UserFactory(username=name, roles=roles, product=product, **extra)

    return make


@pytest.fixture
def pm(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.PM)


@pytest.fixture
def qa(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.QA)


@pytest.fixture
def demo(db: Any) -> None:
    from demo.seed import seed_demo

    seed_demo()


DEMO_COMMIT = "3484a3fb816e0859fd6e1cea078d76385ff50625"  # head_sha of the workflow fixtures


@pytest.fixture
def ci_world(db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """ios-app with four CI gates, release 2.4.0 (build 1240) at the fixtures' commit, a
    GitHub and a GitLab integration with secrets in the environment, and an API token
    factory: `ci_world.token("results", "verdict")` → raw bearer token."""
    from types import SimpleNamespace

    from board.lifecycle import release_create

    from .gates.factories import GateFactory
    from .integrations.factories import ApiTokenFactory, IntegrationFactory
    from .releases.factories import ProductFactory

    monkeypatch.setenv("GONOGO_TEST_GITHUB_SECRET", "It's a Secret to Everybody")
    monkeypatch.setenv("GONOGO_TEST_GITLAB_SECRET", "gitlab-token-123")
    product = ProductFactory(slug="ios-app", name="iOS app", platform="ios", runbook_url="")
    other = ProductFactory(slug="api", name="API", platform="backend", runbook_url="")
    gates = {}
    for i, key in enumerate(["typecheck", "contract", "e2e-regression", "smoke"]):
        gates[key] = GateFactory(
            key=key, name=key.title(), owner_role=Role.BACKEND_LEAD, position=i, waivable=False
        )
    gates["allowed"] = GateFactory(
        key="perf",
        name="Perf",
        owner_role=Role.BACKEND_LEAD,
        position=9,
        waivable=False,
        allow_failure_passes=True,
    )
    release = release_create(
        product=product,
        version="2.4.0",
        build=1240,
        commit=DEMO_COMMIT,
        branch="release/2.4.0",
        state="candidate",
    )
    patterns = {
        "lint*": "typecheck",
        "pact*": "contract",
        "e2e*": "e2e-regression",
        "smoke*": "smoke",
        "perf*": "perf",
    }
    github = IntegrationFactory(
        slug="gh",
        provider="github",
        product=product,
        secret_env="GONOGO_TEST_GITHUB_SECRET",
        gate_patterns=patterns,
    )
    gitlab = IntegrationFactory(
        slug="gl",
        provider="gitlab",
        product=product,
        secret_env="GONOGO_TEST_GITLAB_SECRET",
        gate_patterns=patterns,
    )

    def token(*scopes: str, product_: Any = None) -> str:
        return ApiTokenFactory(product=product_ or product, scopes=scopes or ("results", "verdict")).raw

    return SimpleNamespace(
        product=product, other=other, gates=gates, release=release, github=github, gitlab=gitlab, token=token
    )


@pytest.fixture
def celery_eager() -> Any:
    """Run tasks in-process when queued (with django_capture_on_commit_callbacks)."""
    from gonogo.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_panel_cache() -> None:
    """Test databases reuse release ids: no panel cached by an earlier test may be served
    (a new global version makes every earlier entry unreachable; core/panel_cache.py)."""
    from core import panel_cache

    panel_cache._link["down_until"] = 0.0  # a test that pointed Redis away left it "down"
    panel_cache.versions_bump({None})


@pytest.fixture(autouse=True)
def _fresh_integration_cache() -> Any:
    """Each test makes its own integrations: the web process cache must not outlive it."""
    from api import webhooks as views

    views._cache.clear()
    yield
    views._cache.clear()


@pytest.fixture
def provider(settings: Any) -> Any:
    """A local OpenID Connect provider (tests/accounts/oidc_provider.py), and the app
    pointed at it by discovery: for the sign-on tests and the browser journey."""
    from tests.accounts.oidc_provider import OIDCProvider

    idp = OIDCProvider().start()
    settings.GONOGO_OIDC_ENABLED = True
    settings.GONOGO_OIDC_ISSUER = idp.issuer
    settings.GONOGO_OIDC_PROVIDER_NAME = "Local IdP"
    settings.OIDC_RP_CLIENT_ID = idp.client_id
    settings.OIDC_RP_CLIENT_SECRET = idp.client_secret
    yield idp
    idp.stop()
