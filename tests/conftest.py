"""Shared fixtures. Tests use the real database (PostgreSQL in CI) and a real Redis.

Set GONOGO_REQUIRE_SERVICES=1 (CI does) to turn every "needs PostgreSQL/Redis" skip into
a failure: in CI, a test that could not reach its service has not passed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.models import Role, RoleMembership

REQUIRE_SERVICES = os.environ.get("GONOGO_REQUIRE_SERVICES", "") not in ("", "0", "false")


def service_missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (GONOGO_REQUIRE_SERVICES is set, so this is a failure, not a skip)")
    pytest.skip(reason)


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


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    """make_user("qa") → a user holding QA for every product; product=… limits it."""
    counter = {"n": 0}

    def make(*roles: str, product: Any = None, username: str | None = None, **extra: Any) -> Any:
        counter["n"] += 1
        name = username or f"{'-'.join(roles) or 'nobody'}-{counter['n']}"
        user = get_user_model().objects.create_user(username=name, password="pw", **extra)
        for role in roles:
            RoleMembership.objects.create(user=user, role=role, product=product)
        return user

    return make


@pytest.fixture
def pm(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.PM)


@pytest.fixture
def qa(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.QA)


@pytest.fixture
def demo(db: Any) -> None:
    from releases.demo import seed_demo

    seed_demo()
