"""Fixtures of the App Store tests (tests/stores/conftest.py, tests/browser): the fake App
Store Connect started and pointed at, task messages captured, attempts run as the task
would, and an iOS release rolling out with an App Store source."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from .appstore_servers import APP_ID, ISSUER_ID, KEY_ID, PRIVATE_PEM, FakeAppStoreConnect


@dataclass
class Queued:
    """Task messages the code asc_queued, not run: ("change", id, countdown) or ("read", id, 0)."""

    calls: list[tuple[str, int, float]] = field(default_factory=list)

    def changes(self) -> list[int]:
        return [pk for kind, pk, _c in self.calls if kind == "change"]

    def reads(self) -> list[int]:
        return [pk for kind, pk, _c in self.calls if kind == "read"]


@pytest.fixture
def asc(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeAppStoreConnect]:
    from stores.appstore_client import tokens_forget

    fake = FakeAppStoreConnect().start()
    settings.GONOGO_APPSTORE_API_URL = fake.url
    settings.GONOGO_APPSTORE_TIMEOUT_SECONDS = 0.5
    settings.GONOGO_APPSTORE_RETRY_BASE_SECONDS = 2.0
    settings.GONOGO_APPSTORE_MAX_ATTEMPTS = 4
    monkeypatch.setenv("GONOGO_TEST_ASC_KEY", PRIVATE_PEM)
    tokens_forget()
    yield fake
    fake.stop()
    tokens_forget()


@pytest.fixture
def asc_queued(monkeypatch: pytest.MonkeyPatch) -> Queued:
    from stores import appstore_tasks

    seen = Queued()

    def change(args: Any = None, countdown: float | None = None, **kwargs: Any) -> None:
        seen.calls.append(("change", int(args[0]), float(countdown or 0)))

    def read(args: Any = None, countdown: float | None = None, **kwargs: Any) -> None:
        seen.calls.append(("read", int(args[0]), 0.0))

    monkeypatch.setattr(appstore_tasks.appstore_change_task, "apply_async", change)
    monkeypatch.setattr(appstore_tasks.appstore_read_task, "apply_async", read)
    return seen


@pytest.fixture
def store_events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The `store.*` events emitted, as (name, data)."""
    from releases.events import release_event

    seen: list[tuple[str, dict[str, Any]]] = []

    def receive(sender: str, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if sender.startswith("store."):
            seen.append((sender, dict(data or {})))

    release_event.connect(receive, dispatch_uid="tests.appstore.store_events")
    yield seen
    release_event.disconnect(dispatch_uid="tests.appstore.store_events")


@pytest.fixture
def send(django_capture_on_commit_callbacks: Any) -> Callable[..., str]:
    """One attempt at a change as the task runs it (its after-commit work included);
    `due=True`: at its next time, as the countdown would."""
    from django.utils import timezone

    from stores.appstore_services import appstore_change_send
    from stores.models import AppStoreChange

    def run(change: AppStoreChange, *, due: bool = False) -> str:
        change.refresh_from_db()
        now = max(timezone.now(), change.next_attempt_at or timezone.now()) if due else None
        with django_capture_on_commit_callbacks(execute=True):
            return appstore_change_send(change_id=change.pk, now=now)

    return run


@pytest.fixture
def read_back(django_capture_on_commit_callbacks: Any) -> Callable[..., str]:
    from stores.appstore_sync import appstore_read

    def run(release: Any) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            return appstore_read(release_id=release.pk)

    return run


@pytest.fixture
def ios(
    make_user: Any, asc: FakeAppStoreConnect, asc_queued: Queued, django_capture_on_commit_callbacks: Any
) -> Any:
    """A release called Go and rolling out, its product with an App Store source; the fake
    has its version with phased release ACTIVE on day 1."""
    from board.decisions import release_decide
    from board.rollout import release_rollout_start
    from stores.models import AppStoreSource

    from ..releases.builders import build_world

    w = build_world(make_user, ready=True)
    w.product.platform = "ios"
    w.product.save(update_fields=["platform"])
    w.source = AppStoreSource.objects.create(
        product=w.product,
        issuer_id=ISSUER_ID,
        key_id=KEY_ID,
        private_key_env="GONOGO_TEST_ASC_KEY",
        app_id=APP_ID,
    )
    w.phase = asc.add_version("1.0.0", state="ACTIVE", day=1)
    release_decide(release=w.release, outcome="go", actor=w.pm)
    with django_capture_on_commit_callbacks(execute=True):
        release_rollout_start(release=w.release, actor=w.devops)
    w.release.refresh_from_db()
    return w
