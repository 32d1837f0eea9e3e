"""POST /api/v1/releases/<product>/<version>/defects: defects from CI or a tracker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from board.selectors import release_board
from checklists.models import Defect

URL = "/api/v1/releases/ios-app/2.4.0/defects"


def post(client: Client, token: str, body: dict[str, Any]) -> Any:
    return client.post(
        URL, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def blockers(ci_world: Any) -> set[str]:
    return {b.code for b in release_board(ci_world.release).verdict.blockers}


def test_tracker_opens_then_resolves_a_critical_defect(client: Client, ci_world: Any) -> None:
    token = ci_world.token("results")
    link = "https://tracker.example/browse/IOS-812"
    created = post(client, token, {"title": "Crash on login", "severity": "critical", "tracker_url": link})
    assert created.status_code == 201, created.content
    assert created.json()["outcome"] == "created"
    assert "critical_defect_open" in blockers(ci_world)
    again = post(client, token, {"title": "Crash on login", "severity": "critical", "tracker_url": link})
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    assert Defect.objects.count() == 1
    body = {"title": "x", "severity": "critical", "tracker_url": link, "state": "resolved"}
    silent = post(client, token, body)  # a critical defect is not resolved without a word
    assert (silent.status_code, silent.json()["code"]) == (400, "resolution_required"), silent.content
    assert "critical_defect_open" in blockers(ci_world)
    resolved = post(client, token, {**body, "resolution": "Fixed in build 1241"})
    assert (resolved.status_code, resolved.json()["state"]) == (200, "resolved")
    assert resolved.json()["resolution"] == "Fixed in build 1241"
    assert "critical_defect_open" not in blockers(ci_world)
    event = AuditEvent.objects.get(action="defect.resolve", actor_label="token:ci")
    assert event.after["resolution"] == "Fixed in build 1241"
    assert Defect.objects.get().resolved_via == "token:ci"
    reopened = post(
        client, token, {"title": "x", "severity": "critical", "tracker_url": link, "state": "open"}
    )
    assert reopened.json()["outcome"] == "reopened"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity": "critical"}, "title"),
        ({"title": "x", "severity": "blocker"}, "severity"),
        ({"title": "x", "severity": "minor", "tracker_url": "ftp://x"}, "tracker_url"),
        (
            {"title": "x", "severity": "minor", "tracker_url": "https://t.example/1", "state": "resolved"},
            "tracker_url",
        ),
    ],
)
def test_bad_defects_are_400_naming_the_field(
    client: Client, ci_world: Any, body: dict[str, Any], field: str
) -> None:
    response = post(client, ci_world.token("results"), body)
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Defect.objects.exists()


def test_a_defect_raised_to_critical_starts_blocking(client: Client, ci_world: Any) -> None:
    token = ci_world.token("results")
    link = "https://tracker.example/browse/IOS-900"
    post(client, token, {"title": "Slow search", "severity": "major", "tracker_url": link})
    assert "critical_defect_open" not in blockers(ci_world)
    raised = post(client, token, {"title": "Search hangs", "severity": "critical", "tracker_url": link})
    assert (raised.status_code, raised.json()["outcome"], raised.json()["title"]) == (
        200,
        "updated",
        "Search hangs",
    )
    assert "critical_defect_open" in blockers(ci_world)
