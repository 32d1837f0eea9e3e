"""The GitLab receiver: its token, its duplicates, pipeline and job hooks, allow_failure."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from integrations.models import Delivery

from .senders import fixture, gitlab_pipeline, post_gitlab, status_of

pytestmark = pytest.mark.usefixtures("celery_eager")


def test_gitlab_pipeline_hook_maps_jobs(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_gitlab(client, "Pipeline Hook", gitlab_pipeline(ci_world), HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 202
    assert status_of(ci_world, "e2e-regression") == "passed"


@pytest.mark.parametrize("token", ["wrong", ""])
def test_gitlab_wrong_or_missing_token_is_401(client: Client, ci_world: Any, token: str) -> None:
    assert post_gitlab(client, "Pipeline Hook", gitlab_pipeline(ci_world), token=token).status_code == 401
    assert not Delivery.objects.exists()


def test_gitlab_idempotency_key_and_event_uuid_deduplicate(client: Client, ci_world: Any) -> None:
    payload = gitlab_pipeline(ci_world)
    assert post_gitlab(client, "Pipeline Hook", payload, HTTP_IDEMPOTENCY_KEY="k-2").status_code == 202
    assert (
        post_gitlab(client, "Pipeline Hook", payload, HTTP_IDEMPOTENCY_KEY="k-2").json()["duplicate"] is True
    )
    assert post_gitlab(client, "Pipeline Hook", payload, HTTP_X_GITLAB_EVENT_UUID="u-1").status_code == 202
    assert post_gitlab(client, "Pipeline Hook", payload, HTTP_X_GITLAB_EVENT_UUID="u-1").status_code == 200
    assert Delivery.objects.count() == 2


def test_gitlab_job_hook_uses_sha_not_commit_id(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = fixture("gitlab/job.created.json")
    payload.update(sha=ci_world.release.commit_sha, build_name="smoke-suite", build_status="running")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_gitlab(client, "Job Hook", payload).status_code == 202
    assert status_of(ci_world, "smoke") == "running"


@pytest.mark.parametrize(("gate", "expected"), [("perf", "passed"), ("e2e-regression", "failed")])
def test_gitlab_allow_failure_passes_only_where_the_gate_says_so(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any, gate: str, expected: str
) -> None:
    payload = fixture("gitlab/job.created.json")
    name = "perf-check" if gate == "perf" else "e2e-flaky"
    payload.update(
        sha=ci_world.release.commit_sha,
        build_name=name,
        build_status="failed",
        build_allow_failure=True,
        build_finished_at="2026-11-27 08:00:00 UTC",
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_gitlab(client, "Job Hook", payload)
    key = "allowed" if gate == "perf" else gate
    assert status_of(ci_world, key) == expected
