"""POST /api/v1/results (CONTRACT §3)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from board.lifecycle import release_create
from gates.models import GateResult
from integrations.inbox import deliveries_replay_schedule
from integrations.models import Delivery

pytestmark = pytest.mark.usefixtures("celery_eager")

BODY = {
    "product": "ios-app",
    "version": "2.4.0",
    "build": "1240",
    "commit": "3484a3fb81",
    "gate": "contract",
    "status": "failed",
    "run_id": "ci-8812",
    "url": "https://ci.example/run/8812",
    "summary": "131 passed, 1 failed",
    "finished_at": "2026-11-27T08:00:00Z",
}


def post(client: Client, token: str, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(
        "/api/v1/results", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def test_contract_example_is_accepted_then_duplicate(client: Client, ci_world: Any) -> None:
    token = ci_world.token("results")
    first = post(client, token, BODY)
    assert first.status_code == 202, first.content
    assert first.json() == {"id": first.json()["id"], "duplicate": False, "gate_status": "failed"}
    again = post(client, token, BODY)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert GateResult.objects.count() == 1
    result = GateResult.objects.get()
    assert (result.source, result.summary, result.reporter_label) == (
        "api",
        "131 passed, 1 failed",
        "token:ci",
    )


def test_abbreviated_commit_counts_for_the_release(client: Client, ci_world: Any) -> None:
    """The contract's example sends 10 hex digits of the release's commit."""
    token = ci_world.token("results")
    assert post(client, token, {**BODY, "status": "passed", "run_id": "r2"}).json()["gate_status"] == "passed"


def test_newer_status_of_same_run_moves_the_gate(client: Client, ci_world: Any) -> None:
    token = ci_world.token("results")
    post(client, token, {**BODY, "status": "running", "finished_at": "2026-11-27T07:50:00Z"})
    assert post(client, token, {**BODY, "status": "passed"}).json()["gate_status"] == "passed"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"product": "nope"}, 403, "token_product"),  # the same answer as another product's
        ({"gate": "nope"}, 404, "unknown_gate"),
        ({"product": "api"}, 403, "token_product"),
        ({"status": "green"}, 400, "invalid_fields"),
        ({"gate": ""}, 400, "invalid_fields"),
        ({"finished_at": "yesterday"}, 400, "invalid_fields"),
        ({"url": "javascript:alert(1)"}, 400, "invalid_fields"),
        ({"build": "1239"}, 409, "build_mismatch"),
        ({"commit": "abcdef1"}, 409, "commit_mismatch"),
    ],
)
def test_refusals_are_problems_that_say_what_to_fix(
    client: Client, ci_world: Any, change: dict[str, str], status: int, code: str
) -> None:
    response = post(client, ci_world.token("results"), {**BODY, **change})
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert problem["type"].endswith(code)
    assert {"type", "title", "status", "detail"} <= set(problem)
    if status == 400:
        assert problem["errors"] and all({"field", "message"} <= set(e) for e in problem["errors"])
    assert not GateResult.objects.exists()


def test_missing_fields_are_listed_together(client: Client, ci_world: Any) -> None:
    response = post(client, ci_world.token("results"), {"product": "ios-app"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"version", "gate", "status"}


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""])
def test_bad_json_is_400(client: Client, ci_world: Any, body: bytes) -> None:
    assert post(client, ci_world.token("results"), body).status_code == 400


def test_two_mebibytes_is_413(client: Client, ci_world: Any) -> None:
    response = post(client, ci_world.token("results"), {**BODY, "summary": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_unknown_release_is_kept_and_applied_when_created(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    token = ci_world.token("results")
    body = {**BODY, "version": "2.5.0", "build": "1300", "commit": "", "status": "passed"}
    response = post(client, token, body)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_release"
    assert Delivery.objects.get().state == "waiting"
    with django_capture_on_commit_callbacks(execute=True):
        release = release_create(product=ci_world.product, version="2.5.0", build=1300, state="candidate")
        deliveries_replay_schedule(release=release)  # as POST /api/v1/releases does
    assert Delivery.objects.get().state == "applied"
    result = GateResult.objects.get(release=release)
    assert (result.gate.key, result.status) == ("contract", "passed")


def test_tokens_are_hashed_and_revocable(client: Client, ci_world: Any) -> None:
    from django.utils import timezone

    from integrations.models import ApiToken

    raw = ci_world.token("results")
    token = ApiToken.objects.get()
    assert raw not in (token.token_hash, token.prefix) and len(token.token_hash) == 64
    assert post(client, raw, BODY).status_code == 202
    token.refresh_from_db()
    assert token.last_used_at is not None
    ApiToken.objects.update(revoked_at=timezone.now())
    assert post(client, raw, BODY).status_code == 401


def test_same_run_reported_after_a_new_build_counts_for_it(client: Client, ci_world: Any) -> None:
    from releases.lifecycle import release_new_build

    token = ci_world.token("results")
    body = {**BODY, "commit": "", "build": "", "status": "passed"}
    assert post(client, token, body).status_code == 202
    release_new_build(release=ci_world.release, build=1241, commit="c" * 40)
    again = post(client, token, body)
    assert (again.status_code, again.json()["duplicate"], again.json()["gate_status"]) == (
        202,
        False,
        "passed",
    )


def test_full_sha_matches_a_release_holding_a_short_one(client: Client, ci_world: Any) -> None:
    from releases.models import Release

    Release.objects.filter(pk=ci_world.release.pk).update(commit_sha="3484a3f")
    full = "3484a3fb816e0859fd6e1cea078d76385ff50625"
    assert post(client, ci_world.token("results"), {**BODY, "commit": full}).status_code == 202


def test_not_semantic_unknown_version_is_refused_not_kept(client: Client, ci_world: Any) -> None:
    response = post(client, ci_world.token("results"), {**BODY, "version": "next"})
    assert (response.status_code, response.json()["code"]) == (400, "version_not_semantic")
    assert not Delivery.objects.exists()


def test_waiting_result_of_a_revoked_token_is_not_applied(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import timezone

    from integrations.models import ApiToken

    post(client, ci_world.token("results"), {**BODY, "version": "2.5.0", "build": "", "commit": ""})
    ApiToken.objects.update(revoked_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        release = release_create(product=ci_world.product, version="2.5.0", build=1300, state="candidate")
        deliveries_replay_schedule(release=release)  # as POST /api/v1/releases does
    delivery = Delivery.objects.get()
    assert (delivery.state, "revoked" in delivery.outcome) == ("failed", True)
