"""Releases, verdicts and rollout health through the API (CONTRACT §3)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from audit.models import AuditEvent
from board.decisions import release_decide
from board.rollout import release_roll_back, release_rollout_start
from gates.services import gate_result_record
from integrations.tokens import token_issue
from releases.models import Release

from ..releases.builders import build_world


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client: Client, url: str, token: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **auth(token))


@pytest.fixture
def world(make_user: Any) -> Any:
    w = build_world(make_user, ready=True)
    w.token = token_issue(name="ci", product=w.product, scopes=["results", "verdict", "metrics"])[1]
    w.base = f"/api/v1/releases/{w.product.slug}/{w.release.version}"
    return w


def test_create_candidate_then_new_build_then_unchanged(client: Client, world: Any) -> None:
    body = {
        "product": world.product.slug,
        "version": "1.1.0",
        "build": "20",
        "commit": "c" * 40,
        "branch": "release/1.1.0",
    }
    created = post(client, "/api/v1/releases", world.token, body)
    assert created.status_code == 201, created.content
    assert (created.json()["state"], created.json()["outcome"]) == ("candidate", "created")
    assert post(client, "/api/v1/releases", world.token, body).json()["outcome"] == "unchanged"
    rebuilt = post(client, "/api/v1/releases", world.token, {**body, "build": 21, "commit": "d" * 40})
    assert (rebuilt.status_code, rebuilt.json()["outcome"], rebuilt.json()["build"]) == (
        200,
        "new_build",
        "21",
    )
    assert Release.objects.get(version="1.1.0").commit_sha == "d" * 40


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        ({"version": "1.2"}, "version_not_semantic", "MAJOR.MINOR.PATCH"),
        ({"build": "9"}, "build_number_not_increasing", "which is 10"),
        ({"build": "abc"}, "invalid_fields", "whole number"),
    ],
)
def test_refusals_name_the_rule_and_last_accepted(
    client: Client, world: Any, change: dict[str, str], code: str, says: str
) -> None:
    body = {"product": world.product.slug, "version": "1.1.0", "build": "20", **change}
    response = post(client, "/api/v1/releases", world.token, body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == code
    assert says in json.dumps(problem, ensure_ascii=False)
    if code == "build_number_not_increasing":
        assert problem["last_accepted"] == 10


def test_release_detail(client: Client, world: Any) -> None:
    data = client.get(world.base, **auth(world.token)).json()
    assert data["state"] == "candidate"
    assert data["verdict"] == {"ready": True, "blockers": []}
    assert {g["key"] for g in data["gates"]} >= {g.key for g in world.gates}
    assert data["decision"]["decision"] == "pending"
    assert data["rollout"]["stages"] == [1, 5, 20, 100]


def test_verdict_pending_then_go_then_stale(client: Client, world: Any) -> None:
    url = f"{world.base}/verdict"
    assert client.get(url, **auth(world.token)).json() == {
        "decision": "pending",
        "ready": True,
        "blockers": [],
        "decided_by": None,
        "decided_at": None,
    }
    release_decide(release=world.release, outcome="go", actor=world.pm)
    verdict = client.get(url, **auth(world.token)).json()
    assert (verdict["decision"], verdict["decided_by"]) == ("go", world.pm.username)
    # New evidence after the call: a gate fails. The Go no longer stands.
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="late")
    verdict = client.get(url, **auth(world.token)).json()
    assert (verdict["decision"], verdict["ready"]) == ("pending", False)
    blocker = verdict["blockers"][0]
    assert blocker["code"] == "gate_failed"
    assert blocker["url"].startswith("http://testserver/releases/") and "#" in blocker["url"]


def test_verdict_no_go(client: Client, world: Any) -> None:
    release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale="Crash on login")
    verdict = client.get(f"{world.base}/verdict", **auth(world.token)).json()
    assert verdict["decision"] == "no_go"


def test_unknown_release_is_404(client: Client, world: Any) -> None:
    response = client.get(f"/api/v1/releases/{world.product.slug}/9.9.9/verdict", **auth(world.token))
    assert (response.status_code, response.json()["code"]) == (404, "unknown_release")


def test_health_within_bounds_keeps_rolling(client: Client, world: Any) -> None:
    Release.objects.filter(pk=world.release.pk).update(state="rolling_out")
    response = post(
        client,
        f"{world.base}/health",
        world.token,
        {"error_rate": 0.004, "p95_latency_ms": 420, "rate_429": 0.001},
    )
    assert response.status_code == 201
    assert response.json()["within_bounds"] is True
    assert world.refresh().state == "rolling_out"


def test_health_out_of_bounds_halts_the_rollout(client: Client, world: Any) -> None:
    Release.objects.filter(pk=world.release.pk).update(state="rolling_out")
    response = post(client, f"{world.base}/health", world.token, {"error_rate": 0.05, "p95_latency_ms": 420})
    data = response.json()
    assert (data["halted"], data["state"]) == (True, "halted")
    assert data["breaches"] == [{"metric": "error_rate", "value": 0.05, "bound": 0.01, "minimum": False}]
    assert world.refresh().state == "halted"
    halt = AuditEvent.objects.get(action="release.halt")
    assert halt.after["reason"] == "error rate 5.0 % is over the bound 1.0 % — pushed by monitoring"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"error_rate": 1.5},
        {"error_rate": "high"},
        {"p95_latency_ms": -1},
        {"error_rate": 0.1, "sampled_at": "x"},
    ],
)
def test_health_bad_samples_are_400(client: Client, world: Any, body: dict[str, Any]) -> None:
    response = post(client, f"{world.base}/health", world.token, body)
    assert response.status_code == 400
    assert response.json()["errors"]


def test_halted_rollout_is_not_a_go(client: Client, world: Any) -> None:
    release_decide(release=world.release, outcome="go", actor=world.pm)
    Release.objects.filter(pk=world.release.pk).update(state="rolling_out")
    assert client.get(f"{world.base}/verdict", **auth(world.token)).json()["decision"] == "go"
    post(client, f"{world.base}/health", world.token, {"error_rate": 0.5})
    assert client.get(f"{world.base}/verdict", **auth(world.token)).json()["decision"] == "pending"


def test_concurrent_style_reannounce_with_full_sha_is_unchanged(client: Client, world: Any) -> None:
    body = {"product": world.product.slug, "version": "1.1.0", "build": "20", "commit": "abcdef1"}
    assert post(client, "/api/v1/releases", world.token, body).status_code == 201
    again = post(client, "/api/v1/releases", world.token, {**body, "commit": "abcdef1" + "0" * 33})
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")


def test_a_rollback_shows_in_the_release(client: Client, world: Any, make_user: Any) -> None:
    assert client.get(world.base, **auth(world.token)).json()["rollout"]["rollback"] is None
    world.product.rollback_target_minutes = 15
    world.product.save()
    devops = make_user(Role.DEVOPS, product=world.product)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    release_rollout_start(release=world.release, actor=devops)
    release_roll_back(release=world.release, actor=devops, minutes="18")
    data = client.get(world.base, **auth(world.token)).json()
    assert data["state"] == "rolled_back"
    rollback = data["rollout"]["rollback"]
    assert (rollback["minutes"], rollback["target_minutes"], rollback["within_target"]) == (18, 15, False)
    assert rollback["rolled_back_at"].endswith("Z") or "+" in rollback["rolled_back_at"]
