"""The GitHub receiver: signatures, duplicates and redeliveries, and the bodies it refuses
(too big, not JSON, odd) without a 500. How deliveries become gate results:
test_webhook_results.py; GitLab: test_webhooks_gitlab.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from gates.models import GateResult
from integrations.models import Delivery

from .senders import GITHUB_SECRET, URL_GH, fixture, post_github, sign

pytestmark = pytest.mark.usefixtures("celery_eager")


def test_github_test_vector() -> None:
    """GitHub's documented example: secret and body give this signature."""
    assert sign(b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"HTTP_X_HUB_SIGNATURE_256": None}, "missing header"),
        ({"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "0" * 64}, "wrong signature"),
        ({"HTTP_X_HUB_SIGNATURE_256": "sha1=abc"}, "wrong scheme"),
        ({"secret": "another secret"}, "wrong secret"),
        ({"tamper": True}, "tampered body"),
    ],
)
def test_signature_refusals_store_nothing(
    client: Client, ci_world: Any, headers: dict[str, Any], why: str
) -> None:
    body = json.dumps(fixture("github/workflow_job.completed.success.with-organization.json")).encode()
    signature = sign(body, headers.get("secret", GITHUB_SECRET))
    if headers.get("tamper"):
        body = body.replace(b'"success"', b'"failure"', 1)
    final = {
        "HTTP_X_GITHUB_EVENT": "workflow_job",
        "HTTP_X_GITHUB_DELIVERY": "d-1",
        "HTTP_X_HUB_SIGNATURE_256": signature,
    }
    if "HTTP_X_HUB_SIGNATURE_256" in headers:
        if headers["HTTP_X_HUB_SIGNATURE_256"] is None:
            del final["HTTP_X_HUB_SIGNATURE_256"]
        else:
            final["HTTP_X_HUB_SIGNATURE_256"] = headers["HTTP_X_HUB_SIGNATURE_256"]
    response = client.post(URL_GH, body, content_type="application/json", **final)
    assert response.status_code == 401, why
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert not Delivery.objects.exists()
    assert not GateResult.objects.exists()


def test_unset_secret_refuses_everything(
    client: Client, ci_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GONOGO_TEST_GITHUB_SECRET")
    assert post_github(client, "ping", fixture("github/ping.json")).status_code == 401


def test_ping_answers_200_and_changes_nothing(client: Client, ci_world: Any) -> None:
    response = post_github(client, "ping", fixture("github/ping.json"))
    assert response.status_code == 200
    assert not GateResult.objects.exists()


def test_redelivery_changes_nothing(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = fixture("github/workflow_job.completed.success.with-organization.json")
    with django_capture_on_commit_callbacks(execute=True):
        first = post_github(client, "workflow_job", payload, delivery="same-id")
        again = post_github(client, "workflow_job", payload, delivery="same-id")
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert Delivery.objects.count() == 1
    assert GateResult.objects.count() == 1


def test_same_run_under_a_new_delivery_id_is_recorded_once(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = fixture("github/workflow_job.completed.success.with-organization.json")
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "workflow_job", payload)
        post_github(client, "workflow_job", payload)
    assert GateResult.objects.count() == 1
    assert list(Delivery.objects.values_list("state", flat=True)) == ["ignored", "applied"]


def test_body_over_one_mebibyte_is_413(client: Client, ci_world: Any) -> None:
    body = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = post_github(client, "workflow_job", body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert not Delivery.objects.exists()


def test_not_json_is_a_clear_400(client: Client, ci_world: Any) -> None:
    response = post_github(client, "workflow_job", b"not json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_unknown_integration_is_404(client: Client, ci_world: Any) -> None:
    response = client.post("/api/v1/webhooks/github/nope", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_integration"


@pytest.mark.parametrize(
    ("event", "change"),
    [
        ("status", {"branches": 5}),
        (
            "workflow_job",
            {
                "workflow_job": {
                    "name": "lint",
                    "status": "completed",
                    "conclusion": "success",
                    "run_attempt": 10**20,
                    "head_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625",
                    "started_at": "0001-01-01T00:00:00+01:00",
                }
            },
        ),
        ("workflow_job", {"workflow_job": ["not", "an", "object"]}),
    ],
)
def test_odd_payloads_never_break_processing(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any, event: str, change: dict[str, Any]
) -> None:
    """Signed but odd bodies are stored, processed without an exception, and say what happened."""
    payload = {
        **fixture("github/status.json" if event == "status" else "github/workflow_job.in_progress.json"),
        **change,
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert post_github(client, event, payload).status_code == 202
    delivery = Delivery.objects.get()
    assert delivery.state in ("applied", "ignored", "failed")
    assert delivery.outcome


def test_huge_numbers_and_deep_nesting_are_400_not_500(client: Client, ci_world: Any) -> None:
    assert post_github(client, "workflow_job", b'{"n": ' + b"9" * 5000 + b"}").status_code == 400
    assert post_github(client, "workflow_job", b"[" * 100000 + b"]" * 100000).status_code == 400


def test_the_integration_is_read_once_per_process_not_per_delivery(client: Client, ci_world: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post_github(client, "ping", fixture("github/ping.json"))
    with CaptureQueriesContext(connection) as queries:
        assert post_github(client, "ping", fixture("github/ping.json")).status_code == 200
    assert not [q for q in queries.captured_queries if "integrations_integration" in q["sql"]]
