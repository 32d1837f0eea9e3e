"""Fixtures for the flag tests: a fake Unleash and a kill receiver, flags pointing at
them, and the Celery task's queueing captured (the test runs each attempt itself)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from flags import tasks
from flags.models import Flag, Kill
from flags.services import kill_attempt

from .flag_servers import FakeKillReceiver, FakeUnleash

TOKEN = "*:production.2b9e8c4f7a1d4e6b9c0f3a5d7e9b1c3d"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Queued:
    calls: list[tuple[int, float]] = field(default_factory=list)

    def ids(self) -> list[int]:
        return [pk for pk, _c in self.calls]


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Queued:
    """`flags.kill` is queued, not run: the test runs each attempt itself."""
    seen = Queued()

    def apply_async(args: Any = None, countdown: float | None = None, **kwargs: Any) -> None:
        seen.calls.append((int(args[0]), float(countdown or 0)))

    monkeypatch.setattr(tasks.kill_send_task, "apply_async", apply_async)
    return seen


@pytest.fixture
def attempt(django_capture_on_commit_callbacks: Any) -> Callable[..., str]:
    """Run one attempt as the task would (its after-commit work included); by default at
    the Kill's next time, as the countdown would."""

    def run(kill: Kill) -> str:
        kill.refresh_from_db()
        now = max(timezone.now(), kill.next_attempt_at or timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            return kill_attempt(kill_id=kill.pk, now=now)

    return run


@pytest.fixture
def unleash(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeUnleash]:
    server = FakeUnleash(TOKEN).add("search-v2", development=True, production=True).start()
    monkeypatch.setenv("GONOGO_TEST_UNLEASH_TOKEN", TOKEN)
    settings.GONOGO_FLAG_TIMEOUT_SECONDS = 0.5
    yield server
    server.stop()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKillReceiver]:
    server = FakeKillReceiver(secret=SECRET, enabled={"new-checkout": True}).start()
    monkeypatch.setenv("GONOGO_TEST_FLAG_SECRET", SECRET)
    yield server
    server.stop()


def unleash_flag(product: Any, server: FakeUnleash, key: str = "search-v2", **extra: Any) -> Flag:
    values = {
        "provider": "unleash",
        "url": server.url,
        "project": "default",
        "environment": "production",
        "token_env": "GONOGO_TEST_UNLEASH_TOKEN",
        **extra,
    }
    return Flag.objects.create(product=product, key=key, **values)


def webhook_flag(product: Any, server: FakeKillReceiver, key: str = "new-checkout") -> Flag:
    return Flag.objects.create(
        product=product,
        key=key,
        provider="webhook",
        url=server.url + "/flags/kill",
        environment="production",
        secret_env="GONOGO_TEST_FLAG_SECRET",
    )
