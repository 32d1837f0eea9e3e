"""Fixtures of the store tests. App Store Connect's are in tests/stores/appstore_fixtures.py
(imported below). Google Play's: a test service account key (RSA, made once), the fake token
endpoint and Android Publisher started per test, a product with a Play source pointing
at them, and the Celery tasks' queueing captured (each test runs the attempts itself)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from board.decisions import release_decide
from stores import play_tasks
from stores.models import PlayCall, PlaySource
from stores.play_client import tokens_forget
from stores.play_services import play_step_run

from ..releases.builders import build_world
from .play_servers import FakeGoogleToken, FakePlay

CLIENT_EMAIL = "gonogo-release@acme-play.iam.gserviceaccount.com"
KEY_ID = "4f3a1c0d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49"
PACKAGE = "com.acme.shop"


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_json(private: rsa.RSAPrivateKey, token_uri: str, *, key_id: str = KEY_ID) -> str:
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "acme-play",
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": CLIENT_EMAIL,
            "client_id": "109876543210987654321",
            "token_uri": token_uri,
        }
    )


@dataclass
class Google:
    token: FakeGoogleToken
    play: FakePlay


@pytest.fixture
def google(rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Google]:
    token = FakeGoogleToken(public_key=rsa_key.public_key(), client_email=CLIENT_EMAIL, key_id=KEY_ID).start()
    play = FakePlay(token, package=PACKAGE, version_codes=[]).start()
    monkeypatch.setenv("GONOGO_TEST_PLAY_KEY", key_json(rsa_key, token.token_uri))
    settings.GONOGO_PLAY_API_URL = play.url
    settings.GONOGO_PLAY_TIMEOUT_SECONDS = 2
    settings.GONOGO_PLAY_MAX_ATTEMPTS = 3
    tokens_forget()
    yield Google(token, play)
    tokens_forget()
    token.stop()
    play.stop()


@dataclass
class Queued:
    steps: list[tuple[int, float]] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Queued:
    seen = Queued()

    def step(args: Any = None, countdown: float | None = None, **kwargs: Any) -> None:
        seen.steps.append((int(args[0]), float(countdown or 0)))

    def read(args: Any = None, **kwargs: Any) -> None:
        seen.reads.append(int(args[0]))

    monkeypatch.setattr(play_tasks.play_step_task, "apply_async", step)
    monkeypatch.setattr(play_tasks.play_read_task, "apply_async", read)
    return seen


@pytest.fixture
def world(make_user: Any, google: Google, queued: Queued) -> Any:
    """A release called Go, its product on Google Play (its build uploaded: `w.code`)."""
    w = build_world(make_user, ready=True)
    w.code = str(w.release.build_number)
    google.play.uploaded.add(w.code)
    w.source = PlaySource.objects.create(
        product=w.product, package_name=PACKAGE, key_env="GONOGO_TEST_PLAY_KEY"
    )
    release_decide(release=w.release, outcome="go", actor=w.pm)
    w.google, w.queued = google, queued
    return w


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any) -> Callable[..., str]:
    """One attempt at a step as the task runs it (its after-commit work included);
    `due=True`: at the step's next time, as the countdown would."""

    def attempt(call: PlayCall, *, due: bool = False) -> str:
        call.refresh_from_db()
        now = max(timezone.now(), call.next_attempt_at or timezone.now()) if due else None
        with django_capture_on_commit_callbacks(execute=True):
            return play_step_run(call_id=call.pk, now=now)

    return attempt


from .appstore_fixtures import asc, asc_queued, ios, read_back, send, store_events  # noqa: E402, F401
