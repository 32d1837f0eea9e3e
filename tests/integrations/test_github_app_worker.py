"""End to end through the real broker and a real Celery worker: GitHub asks, the request
waits for the call, the PM/PO calls Go, and the fake GitHub has the approval within
seconds."""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.test import Client

from board.decisions import release_decide
from gonogo.celery import app
from integrations.models import DeploymentRequest, DeployState

from .conftest import REPOSITORY
from .github_app_payloads import requested
from .test_github_app import deliver


def wait_for(check: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_waiting_deployment_is_approved_within_seconds_of_the_go(
    redis_url: str, app_world: Any, client: Client
) -> None:
    fake = app_world.github
    payload = requested(api=fake.url, repository=REPOSITORY, sha=app_world.release.commit_sha, run_id=9001)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert deliver(client, payload).status_code == 202
        wait_for(lambda: DeploymentRequest.objects.filter(state=DeployState.WAITING).exists())
        request = DeploymentRequest.objects.get()
        assert request.state == DeployState.WAITING and not fake.answered()

        started = time.time()
        release_decide(release=app_world.release, outcome="go", actor=app_world.pm)
        wait_for(lambda: bool(fake.answered()), seconds=10)
    (call,) = fake.answered()
    assert call.json()["state"] == "approved"
    assert call.path == f"/repos/{REPOSITORY}/actions/runs/9001/deployment_protection_rule"
    assert call.at - started < 5, f"approved {call.at - started:.1f} s after the Go"
    request.refresh_from_db()
    assert (request.state, request.answer) == (DeployState.ANSWERED, "approved")
