"""Issue 15 item 9, on the board: a Go over one's own failing gate, who a waiver waits
for, a rollout refusal that goes away live, meeting mode's agenda printed once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from board.decisions import signoff_record
from board.verdict import MESSAGES
from core.errors import RuleViolation
from gates.services import gate_result_record, waiver_request
from live.services import PANELS_FOR
from releases.models import SignOff

from ..releases.builders import World, build_world

pytestmark = pytest.mark.django_db


def _board(client: Client, world: World, user: Any, **headers: str) -> str:
    client.force_login(user)
    url = reverse("board:release_board", args=[world.product.slug, world.release.version])
    return client.get(url, headers=headers).content.decode()


def _failing(make_user: Callable[..., Any]) -> World:
    world = build_world(make_user, ready=False)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="f1")
    return world


def test_a_go_over_ones_own_failing_gate_needs_a_comment_or_a_confirmation(
    make_user: Callable[..., Any],
) -> None:
    world = _failing(make_user)
    with pytest.raises(RuleViolation) as refused:
        signoff_record(release=world.release, role=Role.BACKEND_LEAD, vote="go", actor=world.lead)
    assert refused.value.code == "own_gate_failing" and "“Gate 0”" in refused.value.message
    assert not SignOff.objects.exists()
    # QA owns no failing gate: no word needed. The lead: a comment, or the confirmation.
    signoff_record(release=world.release, role=Role.QA, vote="go", actor=world.qa)
    signoff_record(
        release=world.release, role=Role.BACKEND_LEAD, vote="go", actor=world.lead, comment="Flaky"
    )
    signoff_record(
        release=world.release, role=Role.BACKEND_LEAD, vote="go", actor=world.lead, confirm_failing=True
    )
    # A No-Go over it needs its usual reason only.
    signoff_record(
        release=world.release, role=Role.BACKEND_LEAD, vote="no_go", actor=world.lead, comment="e2e"
    )
    assert SignOff.objects.count() == 4


def test_the_warning_stands_beside_the_go_button_and_the_form_confirms(
    make_user: Callable[..., Any], client: Client
) -> None:
    world = _failing(make_user)
    page = _board(client, world, world.lead)
    assert 'id="own-failing-backend_lead"' in page and "Your gate has not passed: Gate 0." in page
    assert 'aria-describedby="own-failing-backend_lead"' in page and 'name="confirm_failing"' in page
    assert 'id="own-failing-qa"' not in _board(client, world, world.qa)
    client.force_login(world.lead)
    url = reverse("board:signoff_create", args=[world.product.slug, world.release.version])
    refused = client.post(url, {"role": "backend_lead", "vote": "go"}, headers={"HX-Request": "true"})
    assert refused.status_code == 400 and "which your role owns, has not passed" in refused.content.decode()
    client.post(url, {"role": "backend_lead", "vote": "go", "confirm_failing": "1"})
    assert SignOff.objects.filter(role="backend_lead", vote="go").count() == 1


def test_a_waiver_waits_for_the_pm_po_and_a_pm_po_for_another(
    make_user: Callable[..., Any], client: Client
) -> None:
    world = _failing(make_user)
    waiver_request(
        release=world.release, gate=world.gates[0], actor=world.lead, reason="r", risk="r", mitigation="m"
    )
    for user in (world.lead, world.qa):
        page = _board(client, world, user)
        assert "Waiting for the PM/PO to decide." in page and "another PM/PO" not in page
    other_pm = make_user(Role.PM, product=world.product)
    assert "Approve" in _board(client, world, other_pm)


def test_a_smoke_result_refreshes_the_operations_panel_and_the_refusal_is_not_doubled() -> None:
    assert "operations" in PANELS_FOR["gate_result"]
    text = MESSAGES["post_deploy_gate_not_passed"] % {"gate": "Smoke test after deploy"}
    assert text.count("after deploy") == 1


def test_a_live_refresh_of_the_operations_panel_shows_no_refusal(
    make_user: Callable[..., Any], client: Client
) -> None:
    world = build_world(make_user)
    page = _board(client, world, world.devops, **{"HX-Request": "true", "HX-Target": "operations"})
    assert 'id="operations"' in page and 'class="error"' not in page and "has not passed yet" not in page


def test_meeting_mode_prints_each_agenda_heading_once(make_user: Callable[..., Any], client: Client) -> None:
    world = build_world(make_user)
    client.force_login(world.pm)
    page = client.get(
        reverse("board:meeting", args=[world.product.slug, world.release.version])
    ).content.decode()
    for heading in (
        "Release gates",
        "QA checklist",
        "Open defects",
        "Waivers",
        "Sign-offs",
        "Final decision",
    ):
        assert page.count(f"{heading}</h2>") == 1, heading
    assert 'class="agenda"' not in page
