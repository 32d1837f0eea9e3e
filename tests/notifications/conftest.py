"""Fixtures for the alert tests: fake channel ends, the channels pointing at them, and
the Celery task's queueing captured (the test runs each attempt itself, on time)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from notifications import tasks
from notifications.models import Channel, Delivery
from notifications.services import delivery_send

from .channel_servers import FakePagerDuty, FakeSlack, FakeWebhookReceiver

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"


@dataclass
class Queued:
    """The task messages the code queued: (delivery id, countdown seconds)."""

    calls: list[tuple[int, float]] = field(default_factory=list)

    def ids(self) -> list[int]:
        return [pk for pk, _c in self.calls]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Queued:
    """`notifications.send` is queued, not run: the test sends each attempt itself."""
    seen = Queued()

    def apply_async(args: Any = None, countdown: float | None = None, **kwargs: Any) -> None:
        seen.calls.append((int(args[0]), float(countdown or 0)))

    monkeypatch.setattr(tasks.delivery_send_task, "apply_async", apply_async)
    return seen


@pytest.fixture
def send(django_capture_on_commit_callbacks: Any) -> Callable[..., str]:
    """Run one attempt as the task would, its after-commit work (the retry's queueing,
    the test's signal) included; `due=True`: at the delivery's next time, as the
    countdown would."""

    def run(delivery: Delivery, *, due: bool = False, now: Any = None) -> str:
        delivery.refresh_from_db()
        if due:
            now = max(timezone.now(), delivery.next_attempt_at or timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            return delivery_send(delivery_id=delivery.pk, now=now)

    return run


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    monkeypatch.setenv("GONOGO_TEST_SLACK_URL", server.url)
    yield server
    server.stop()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWebhookReceiver]:
    server = FakeWebhookReceiver(WEBHOOK_SECRET).start()
    monkeypatch.setenv("GONOGO_TEST_HOOK_URL", server.url)
    monkeypatch.setenv("GONOGO_TEST_HOOK_SECRET", WEBHOOK_SECRET)
    yield server
    server.stop()


@pytest.fixture
def pagerduty(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePagerDuty]:
    server = FakePagerDuty(ROUTING_KEY).start()
    monkeypatch.setenv("GONOGO_TEST_PD_URL", server.url)
    monkeypatch.setenv("GONOGO_TEST_PD_KEY", ROUTING_KEY)
    yield server
    server.stop()


def slack_channel(slug: str = "ops-slack", **extra: Any) -> Channel:
    return Channel.objects.create(
        **{"slug": slug, "kind": "slack", "url_env": "GONOGO_TEST_SLACK_URL", **extra}
    )


def webhook_channel(slug: str = "hooks", **extra: Any) -> Channel:
    values = {"kind": "webhook", "url_env": "GONOGO_TEST_HOOK_URL", "secret_env": "GONOGO_TEST_HOOK_SECRET"}
    return Channel.objects.create(slug=slug, **{**values, **extra})


def pagerduty_channel(slug: str = "oncall", **extra: Any) -> Channel:
    values = {"kind": "pagerduty", "routing_key_env": "GONOGO_TEST_PD_KEY", "url_env": "GONOGO_TEST_PD_URL"}
    return Channel.objects.create(slug=slug, **{**values, **extra})


class Inbox:
    """An SMTP server's received messages (aiosmtpd)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1; the default mailer sends to it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), loop=asyncio.new_event_loop())
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "use_tls": False, "timeout": 5},
        }
    }
    yield inbox
    controller.stop()
