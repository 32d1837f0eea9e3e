"""CONTRACT §6 through the API: `GET /api/v1/releases/<product>/<version>` says under
`rollout` the stage, when it began, the soak, the health, the last sample and the halt,
in every state of the rollout; `POST …/health` answers `in_bounds`, `breaches`, `halted`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from board.decisions import release_decide
from board.rollout import release_halt_by, release_roll_back, release_rollout_advance, release_rollout_start
from integrations.tokens import token_issue
from operations.services import health_sample_record

from ..releases.builders import build_world, make_ready

T0 = timezone.make_aware(timezone.datetime(2026, 12, 1, 7, 30))
CONTRACT_KEYS = {"stage_percent", "stage_started_at", "soak_until", "health", "last_sample", "halt"}
HALT_KEYS = {"reason", "metric", "value", "bound", "source", "by", "at"}


@pytest.fixture
def world(make_user: Any) -> Any:
    with time_machine.travel(T0, tick=False):
        w = build_world(make_user, ready=False)
        w.product.soak_minutes = 30
        w.product.save()
        make_ready(w)
        w.devops = make_user(Role.DEVOPS, product=w.product)
    w.token = token_issue(name="monitoring", product=w.product, scopes=["results", "verdict", "metrics"])[1]
    w.url = f"/api/v1/releases/{w.product.slug}/{w.release.version}"
    return w


def rollout(client: Client, world: Any) -> dict[str, Any]:
    response = client.get(world.url, HTTP_AUTHORIZATION=f"Bearer {world.token}")
    assert response.status_code == 200, response.content
    body = response.json()["rollout"]
    assert set(body) >= CONTRACT_KEYS
    return body


def push(client: Client, world: Any, **values: Any) -> Any:
    return client.post(
        f"{world.url}/health",
        json.dumps(values),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.token}",
    )


def test_before_the_rollout_nothing_is_running(client: Client, world: Any) -> None:
    body = rollout(client, world)
    assert {k: body[k] for k in CONTRACT_KEYS} == {
        "stage_percent": None,
        "stage_started_at": None,
        "soak_until": None,
        "health": None,
        "last_sample": None,
        "halt": None,
    }
    release_decide(release=world.release, outcome="go", actor=world.pm)
    assert rollout(client, world)["stage_percent"] is None


def test_rolling_out_soaking_then_in_bounds_then_a_breach_halts(client: Client, world: Any) -> None:
    release_decide(release=world.release, outcome="go", actor=world.pm)
    with time_machine.travel(T0, tick=False):
        release_rollout_start(release=world.release, actor=world.devops)
        body = rollout(client, world)
    assert body["stage_percent"] == 1
    assert body["stage_started_at"] == "2026-12-01T07:30:00Z"
    assert body["soak_until"] == "2026-12-01T08:00:00Z"
    assert (body["health"], body["last_sample"], body["halt"]) == ("inconclusive", None, None)

    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        answer = push(client, world, error_rate=0.004, p95_latency_ms=420)
        assert answer.status_code == 201, answer.content
        assert {k: answer.json()[k] for k in ("in_bounds", "breaches", "halted")} == {
            "in_bounds": True,
            "breaches": [],
            "halted": False,
        }
        body = rollout(client, world)
    assert body["health"] == "in_bounds"
    assert body["last_sample"]["values"] == {"error_rate": 0.004, "p95_latency_ms": 420}
    assert (body["last_sample"]["source"], body["last_sample"]["sampled_at"]) == (
        "push",
        "2026-12-01T07:35:00Z",
    )

    with time_machine.travel(T0 + timedelta(minutes=7), tick=False):
        answer = push(client, world, error_rate=0.09)
        assert answer.json()["in_bounds"] is False and answer.json()["halted"] is True
        assert [(b["metric"], b["value"], b["bound"]) for b in answer.json()["breaches"]] == [
            ("error_rate", 0.09, 0.01)
        ]
        body = rollout(client, world)
    # Halted on the breach, nothing sampled since: the health is the breach, not "inconclusive".
    assert body["health"] == "breach"
    assert body["soak_until"] is None and body["stage_percent"] == 1
    halt = body["halt"]
    assert set(halt) >= HALT_KEYS
    assert (halt["metric"], halt["value"], halt["bound"], halt["source"]) == (
        "error_rate",
        0.09,
        0.01,
        "push",
    )
    assert halt["by"] == "token:monitoring" and halt["at"] == "2026-12-01T07:37:00Z"
    assert halt["reason"] == "error rate 9.0 % is over the bound 1.0 % — pushed by monitoring"

    # A sample within bounds after the halt: the health is that one's.
    with time_machine.travel(T0 + timedelta(minutes=9), tick=False):
        push(client, world, error_rate=0.002)
        body = rollout(client, world)
    assert body["health"] == "in_bounds" and body["halt"]["metric"] == "error_rate"


def test_a_person_halts_saying_why_then_it_is_rolled_back(client: Client, world: Any) -> None:
    release_decide(release=world.release, outcome="go", actor=world.pm)
    with time_machine.travel(T0, tick=False):
        release_rollout_start(release=world.release, actor=world.devops)
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        release_halt_by(release=world.release, actor=world.devops, reason="Crash reports from Seoul")
        body = rollout(client, world)
    assert body["halt"]["reason"] == "Crash reports from Seoul"
    assert body["halt"]["by"] == world.devops.username
    assert body["halt"]["metric"] is None and body["health"] == "inconclusive"
    release_roll_back(release=world.release, actor=world.devops, minutes=12)
    body = rollout(client, world)
    assert (body["halt"], body["health"], body["stage_started_at"], body["soak_until"]) == (
        None,
        None,
        None,
        None,
    )
    assert body["rollback"]["minutes"] == 12


def test_released_keeps_the_stage_and_the_last_sample(client: Client, world: Any) -> None:
    world.product.soak_minutes = 0
    world.product.rollout_stages = [50, 100]
    world.product.save()
    release_decide(release=world.release, outcome="go", actor=world.pm)
    release_rollout_start(release=world.release, actor=world.devops)
    health_sample_record(release=world.release, error_rate=0.001)
    release_rollout_advance(release=world.release, actor=world.devops)
    body = rollout(client, world)
    assert (body["stage_percent"], body["health"], body["halt"]) == (100, None, None)
    assert body["last_sample"]["values"] == {"error_rate": 0.001}
