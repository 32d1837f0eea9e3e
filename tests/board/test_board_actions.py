"""The board's actions over HTTP: the call, sign-offs and waivers, with and without htmx."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from board.selectors import release_board
from gates.models import Waiver
from gates.services import gate_result_record
from releases.models import Decision, ReleaseState, SignOff

from ..htmx import swaps
from ..releases.builders import build_world

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def url(name: str, world: Any) -> str:
    return reverse(name, kwargs={"product": world.product.slug, "version": world.release.version})


def test_a_forged_go_on_a_blocked_release_is_refused_with_the_blockers(
    make_user: Any, client: Client
) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.pm)
    response = client.post(url("board:release_decide", world), {"outcome": "go"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "cannot be called Go while" in body
    for blocker in release_board(world.release).verdict.blockers:
        assert blocker.code in body or blocker.message("en")[:20] in body
    htmx = client.post(
        url("board:release_decide", world), {"outcome": "go"}, headers={**HTMX, "HX-Target": "decision"}
    )
    assert htmx.status_code == 409 and htmx.content.decode().lstrip().startswith('<section id="decision"')
    assert not Decision.objects.exists()
    assert world.refresh().state == ReleaseState.CANDIDATE


def test_go_when_ready_redirects_back_to_the_board(make_user: Any, client: Client) -> None:
    world = build_world(make_user)
    client.force_login(world.pm)
    board = client.get(url("board:release_board", world)).content.decode()
    assert 'name="outcome" value="go"' in board and "disabled" not in board.split('value="go"')[1][:40]
    fingerprint = release_board(world.release).fingerprint
    response = client.post(
        url("board:release_decide", world),
        {"outcome": "go", "fingerprint": fingerprint, "seen_decision": "0", "rationale": "Ship it"},
    )
    assert response.status_code == 302 and response["Location"].endswith("#decision")
    assert Decision.objects.get().outcome == "go"


def test_go_on_a_page_that_is_out_of_date_is_refused(make_user: Any, client: Client) -> None:
    world = build_world(make_user)
    client.force_login(world.pm)
    old = release_board(world.release).fingerprint
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="new")
    gate_result_record(release=world.release, gate=world.gates[0], status="passed", run_id="newer")
    response = client.post(
        url("board:release_decide", world), {"outcome": "go", "fingerprint": old}, headers=HTMX
    )
    assert response.status_code == 409
    assert "evidence changed" in response.content.decode()
    assert not Decision.objects.exists()


def test_no_go_needs_a_reason_and_is_always_allowed(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.pm)
    assert client.post(url("board:release_decide", world), {"outcome": "no_go"}).status_code == 400
    response = client.post(url("board:release_decide", world), {"outcome": "no_go", "rationale": "Crash"})
    assert response.status_code == 302
    assert world.refresh().state == ReleaseState.NO_GO


def test_the_disabled_go_button_lists_the_blockers(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.pm)
    html = client.get(
        url("board:release_board", world), headers={**HTMX, "HX-Target": "decision"}
    ).content.decode()
    assert 'value="go" class="ok big" disabled' in html
    assert "Go is disabled while" in html
    # Other roles see no decision form at all.
    client.force_login(world.qa)
    html = client.get(url("board:release_board", world)).content.decode()
    assert 'name="outcome"' not in html


def test_sign_off_over_htmx_returns_the_fresh_panel(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.qa)
    response = client.post(
        url("board:signoff_create", world),
        {"role": "qa", "vote": "go", "comment": "All flows pass"},
        headers={**HTMX, "HX-Target": "signoffs"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section id="signoffs"')
    assert "All flows pass" in body and "Your Go sign-off is recorded." in body
    assert (
        client.post(url("board:signoff_create", world), {"role": "backend_lead", "vote": "go"}).status_code
        == 403
    )
    assert SignOff.objects.count() == 1


def test_a_waiver_approved_by_its_own_asker_is_refused_over_http(make_user: Any, client: Client) -> None:
    world = build_world(make_user)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="f")
    asker = make_user(Role.PM, Role.BACKEND_LEAD, product=world.product)
    client.force_login(asker)
    response = client.post(
        reverse("board:waiver_create", kwargs={**_kw(world), "gate": world.gates[0].key}),
        {"reason": "r", "risk": "r", "mitigation": "m", "expires_in_hours": "24"},
    )
    assert response.status_code == 302
    waiver = Waiver.objects.get()
    response = client.post(reverse("board:waiver_approve", kwargs={"pk": waiver.pk}), headers=HTMX)
    assert response.status_code == 403 and "another PM/PO must decide" in response.content.decode()
    waiver.refresh_from_db()
    assert waiver.state == "requested"
    client.force_login(world.pm)
    assert client.post(reverse("board:waiver_approve", kwargs={"pk": waiver.pk})).status_code == 302
    waiver.refresh_from_db()
    assert waiver.state == "approved"
    html = client.get(url("board:release_board", world)).content.decode()
    assert 'data-status="waived"' in html and "Waived by" in html


def test_waiver_expiry_beyond_seven_days_is_refused(make_user: Any, client: Client) -> None:
    world = build_world(make_user)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="f")
    client.force_login(world.lead)
    response = client.post(
        reverse("board:waiver_create", kwargs={**_kw(world), "gate": world.gates[0].key}),
        {"reason": "r", "risk": "r", "mitigation": "m", "expires_in_hours": "200"},
        headers={**HTMX, "HX-Target": "waivers"},
    )
    assert response.status_code == 400 and "from 1 to 168" in response.content.decode()
    assert not Waiver.objects.exists()


def test_stale_decision_shows_what_changed(make_user: Any, client: Client) -> None:
    world = build_world(make_user)
    client.force_login(world.pm)
    client.post(url("board:release_decide", world), {"outcome": "go"})
    gate_result_record(release=world.release, gate=world.gates[1], status="failed", run_id="boom")
    html = client.get(
        url("board:release_board", world), headers={**HTMX, "HX-Target": "decision"}
    ).content.decode()
    assert "Stale" in html and "Gate 1: passed → failed" in html
    assert not release_board(world.refresh()).go_stands


def test_meeting_minutes_hold_the_agenda(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.pm)
    client.post(reverse("board:meeting_start", kwargs=_kw(world)), {"attendees": ["pm", "QA lead"]})
    text = client.get(reverse("board:meeting_minutes", kwargs=_kw(world))).content.decode()
    assert text.startswith(f"# Go/No-Go meeting: {world.product.slug} 1.0.0")
    assert "QA lead" in text and "**Verdict: BLOCKED" in text
    for heading in (
        "Release gates",
        "QA checklist",
        "Open defects",
        "Waivers",
        "Operations readiness",
        "Votes by role",
        "The call",
    ):
        assert heading in text


def _kw(world: Any) -> dict[str, str]:
    return {"product": world.product.slug, "version": world.release.version}


def test_ended_meeting_minutes_do_not_change_and_refusals_are_swapped_in(
    make_user: Any, client: Client
) -> None:
    from releases.models import Meeting

    world = build_world(make_user, ready=False)
    client.force_login(world.pm)
    client.post(reverse("board:meeting_start", kwargs=_kw(world)))
    meeting = Meeting.objects.get()
    update = reverse("board:meeting_update", kwargs={**_kw(world), "pk": meeting.pk})
    assert client.post(update, {"notes": "Decided: No-Go", "end": "1"}).status_code == 302
    response = client.post(update, {"notes": "rewritten"}, headers={**HTMX, "HX-Target": "meeting"})
    assert response.status_code == 409 and swaps(response)
    assert response.content.decode().lstrip().startswith('<section id="meeting"')
    meeting.refresh_from_db()
    assert meeting.notes == "Decided: No-Go" and meeting.ended_at is not None
    refused_go = client.post(url("board:release_decide", world), {"outcome": "go"}, headers=HTMX)
    assert refused_go.status_code == 409 and swaps(refused_go)
