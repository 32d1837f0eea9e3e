"""A token can never clear what people found (issue 11, item 1): a defect QA recorded is
changed only by a person with the role; a tracker changes only what it reported itself;
a token never lowers a severity."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from checklists.defects import defect_report, defect_resolve
from checklists.models import Defect
from integrations.tokens import token_issue

from .test_defects import blockers, post

LINK = "https://tracker.example/browse/IOS-812"


@pytest.fixture
def qa_defect(ci_world: Any, qa: Any) -> Defect:
    defect = defect_report(release=ci_world.release, title="Crash on login", severity="critical", actor=qa)
    Defect.objects.filter(pk=defect.pk).update(tracker_url=LINK)
    return defect


@pytest.mark.parametrize(
    "change",
    [
        {"state": "resolved"},
        {"severity": "minor"},
        {"severity": "major", "state": "open"},
        {"title": "Not a crash after all"},
    ],
)
def test_a_token_cannot_change_a_defect_that_qa_recorded(
    client: Client, ci_world: Any, qa_defect: Defect, change: dict[str, str]
) -> None:
    body = {"title": "Crash on login", "severity": "critical", "tracker_url": LINK, **change}
    response = post(client, ci_world.token("results"), body)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "defect_recorded_by_person"
    assert "QA or a lead" in response.json()["detail"]
    qa_defect.refresh_from_db()
    assert (qa_defect.state, qa_defect.severity, qa_defect.title) == ("open", "critical", "Crash on login")
    assert "critical_defect_open" in blockers(ci_world)


def test_the_same_values_again_are_simply_unchanged(client: Client, ci_world: Any, qa_defect: Defect) -> None:
    body = {"title": "Crash on login", "severity": "critical", "tracker_url": LINK}
    response = post(client, ci_world.token("results"), body)
    assert (response.status_code, response.json()["outcome"]) == (200, "unchanged")


def test_qa_can_still_resolve_it_in_the_app(ci_world: Any, qa_defect: Defect, qa: Any) -> None:
    defect_resolve(defect=qa_defect, actor=qa, resolution="Fixed in build 1241")
    assert "critical_defect_open" not in blockers(ci_world)


def test_a_tracker_changes_only_what_it_reported(client: Client, ci_world: Any) -> None:
    jira = ci_world.token("results")
    other = token_issue(name="other-tracker", product=ci_world.product, scopes=("results",))[1]
    assert (
        post(client, jira, {"title": "Crash", "severity": "critical", "tracker_url": LINK}).status_code == 201
    )
    refused = post(
        client, other, {"title": "Crash", "severity": "critical", "tracker_url": LINK, "state": "resolved"}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "defect_reported_by_another")
    assert "token:ci" in refused.json()["detail"]
    assert "critical_defect_open" in blockers(ci_world)
    body = {"title": "Crash", "severity": "critical", "tracker_url": LINK, "state": "resolved"}
    resolved = post(client, jira, {**body, "resolution": "Duplicate of IOS-811"})
    assert (resolved.status_code, resolved.json()["outcome"]) == (200, "resolved")


def test_a_token_never_lowers_a_severity_but_may_raise_it(client: Client, ci_world: Any) -> None:
    token = ci_world.token("results")
    assert post(client, token, {"title": "Slow", "severity": "major", "tracker_url": LINK}).status_code == 201
    lowered = post(client, token, {"title": "Slow", "severity": "minor", "tracker_url": LINK})
    assert (lowered.status_code, lowered.json()["code"]) == (403, "severity_lowering_refused")
    assert Defect.objects.get().severity == "major"
    raised = post(client, token, {"title": "Slow", "severity": "critical", "tracker_url": LINK})
    assert (raised.status_code, raised.json()["severity"]) == (200, "critical")
    lowered_again = post(client, token, {"title": "Slow", "severity": "major", "tracker_url": LINK})
    assert lowered_again.status_code == 403
    assert "critical_defect_open" in blockers(ci_world)
