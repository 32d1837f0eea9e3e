"""Deliveries as GitHub and GitLab send them: the real payloads in
tests/fixtures/ci-payloads, signed as the providers sign them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

from django.test import Client

from gates.selectors import gate_current_status

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ci-payloads"
GITHUB_SECRET = "It's a Secret to Everybody"
GITLAB_SECRET = "gitlab-token-123"
URL_GH = "/api/v1/webhooks/github/gh"
URL_GL = "/api/v1/webhooks/gitlab/gl"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def sign(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_github(
    client: Client,
    event: str,
    payload: dict[str, Any] | bytes,
    *,
    delivery: str | None = None,
    **headers: str,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    final = {
        "HTTP_X_GITHUB_EVENT": event,
        "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4()),
        "HTTP_X_HUB_SIGNATURE_256": sign(body),
        **headers,
    }
    return client.post(URL_GH, body, content_type="application/json", **final)


def job(
    name: str,
    status: str,
    conclusion: str | None,
    *,
    at: str,
    run_id: int = 1,
    job_id: int = 10,
    attempt: int = 1,
    sha: str | None = None,
) -> dict[str, Any]:
    """A workflow_job delivery: the real fixture with name, state and times changed."""
    payload = fixture("github/workflow_job.completed.success.with-organization.json")
    j = payload["workflow_job"]
    j.update(name=name, status=status, conclusion=conclusion, run_id=run_id, id=job_id, run_attempt=attempt)
    j["started_at"] = at
    j["completed_at"] = at if status == "completed" else None
    if sha:
        j["head_sha"] = sha
    payload["action"] = "completed" if status == "completed" else status
    return payload


def status_of(ci_world: Any, gate: str) -> str | None:
    return gate_current_status(release=ci_world.release, gate=ci_world.gates[gate])


def post_gitlab(
    client: Client, event: str, payload: dict[str, Any], *, token: str = GITLAB_SECRET, **headers: str
) -> Any:
    return client.post(
        URL_GL,
        json.dumps(payload).encode(),
        content_type="application/json",
        HTTP_X_GITLAB_EVENT=event,
        HTTP_X_GITLAB_TOKEN=token,
        **headers,
    )


def gitlab_pipeline(ci_world: Any, **job_changes: Any) -> dict[str, Any]:
    payload = fixture("gitlab/pipeline.success.json")
    payload["object_attributes"]["sha"] = ci_world.release.commit_sha
    for build in payload["builds"]:
        if build["name"] == "test-image":
            build.update(name="e2e-gitlab", **job_changes)
    return payload
