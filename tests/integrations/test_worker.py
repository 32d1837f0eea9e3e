"""A delivery goes through the real broker and a real Celery worker: stored by the web
request, processed by the worker after commit."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.test import Client

from gates.selectors import gate_current_status
from gonogo.celery import app
from integrations.models import Delivery

FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "fixtures/ci-payloads/github/workflow_job.completed.success.with-organization.json"
)


@pytest.mark.django_db(transaction=True)
def test_worker_applies_a_stored_delivery(redis_url: str, ci_world: Any, client: Client) -> None:
    body = FIXTURE.read_bytes()
    signature = "sha256=" + hmac.new(b"It's a Secret to Everybody", body, hashlib.sha256).hexdigest()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        response = client.post(
            "/api/v1/webhooks/github/gh",
            body,
            content_type="application/json",
            HTTP_X_GITHUB_EVENT="workflow_job",
            HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
            HTTP_X_HUB_SIGNATURE_256=signature,
        )
        assert response.status_code == 202
        deadline = time.monotonic() + 20
        while Delivery.objects.get().state == "received" and time.monotonic() < deadline:
            time.sleep(0.1)
    assert Delivery.objects.get().state == "applied", Delivery.objects.get().outcome
    assert gate_current_status(release=ci_world.release, gate=ci_world.gates["typecheck"]) == "passed"
    assert json.loads(bytes(Delivery.objects.get().body)) == json.loads(body)
