"""POST /api/v1/releases/<product>/<version>/promote: CI makes a draft a candidate (the
board's button and the admin's action: tests/board/test_promote.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from board.lifecycle import release_create
from integrations.models import Delivery
from releases.models import Release

pytestmark = pytest.mark.usefixtures("celery_eager")
COMMIT = "c0ffee" * 6 + "abcd"
URL = "/api/v1/releases/ios-app/2.5.0/promote"


def post(client: Client, token: str, body: Any = None, url: str = URL) -> Any:
    data = b"" if body is None else json.dumps(body)
    return client.post(url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def draft(ci_world: Any) -> Release:
    return release_create(product=ci_world.product, version="2.5.0", build=1300, branch="release/2.5.0")


def test_a_draft_becomes_a_candidate_with_its_commit(
    client: Client, ci_world: Any, draft: Release, django_capture_on_commit_callbacks: Any
) -> None:
    token = ci_world.token("results")
    missing = post(client, token)  # no body at all: the draft has no commit
    assert (missing.status_code, missing.json()["code"]) == (400, "commit_missing"), missing.content
    assert missing["Content-Type"] == "application/problem+json"
    assert "no commit yet" in missing.json()["detail"]
    bad = post(client, token, {"commit": "xyz"})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (400, "commit")
    with django_capture_on_commit_callbacks(execute=True):
        done = post(client, token, {"commit": COMMIT})
    assert done.status_code == 200, done.content
    body = done.json()
    assert (body["state"], body["commit"], body["version"]) == ("candidate", COMMIT, "2.5.0")
    assert body["url"].endswith("/releases/ios-app/2.5.0/")
    event = AuditEvent.objects.get(action="release.promote", release_id=draft.pk)
    assert (event.actor, event.actor_label) == (None, "token:ci")
    again = post(client, token, {"commit": COMMIT})
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    assert Delivery.objects.filter(state="failed").count() == 0


def test_unknown_release_and_other_products(client: Client, ci_world: Any, draft: Release) -> None:
    token = ci_world.token("results")
    unknown = post(client, token, {}, url="/api/v1/releases/ios-app/9.9.9/promote")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_release")
    other = post(client, ci_world.token("results", product_=ci_world.other), {"commit": COMMIT})
    assert other.status_code == 403
    assert Release.objects.get(pk=draft.pk).state == "draft"
