"""A waiver is for a gate at one build and commit (issue 11, item 2): build 310's waived
contract failure does not cover build 311's; a new build needs a new waiver, or the PM/PO
carries the old one over, on record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from board.selectors import release_board
from board.verdict import GateEvidence, WaiverEvidence, waiver_counts
from core.errors import Conflict, NotAllowed, RuleViolation
from gates.models import Waiver, WaiverState
from gates.services import gate_result_record, waiver_approve, waiver_carry_over, waiver_reject
from releases.lifecycle import release_new_build

from ..releases.builders import sign_all
from .test_services import ask, failing_world

pytestmark = pytest.mark.django_db


def waived_world(make_user: Any) -> Any:
    world = failing_world(make_user)
    waiver = ask(world)
    waiver_approve(waiver=waiver, actor=world.pm)
    world.waiver = waiver
    sign_all(world)
    assert release_board(world.release).verdict.ready
    return world


def new_build(world: Any, *, commit: str = "b" * 40) -> None:
    release_new_build(release=world.release, build=world.release.build_number + 1, commit=commit)
    world.release.refresh_from_db()
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="ci-311")


def gate_codes(world: Any) -> list[str]:
    """The blockers of the waived gate (a new commit leaves the other gate with no result)."""
    blockers = release_board(world.release).verdict.blockers
    return [b.code for b in blockers if b.target == "gate" and b.target_id == world.gates[0].key]


def test_a_new_build_needs_a_new_waiver(make_user: Any) -> None:
    world = waived_world(make_user)
    new_build(world)
    assert gate_codes(world) == ["gate_failed"]
    row = release_board(world.release).gates[0]
    assert row.waiver_in_force is None and row.may_ask_waiver  # the lead can ask again


def test_the_same_build_at_another_commit_needs_one_too(make_user: Any) -> None:
    world = waived_world(make_user)
    world.release.commit_sha = "c" * 40  # e.g. a release corrected to the real commit
    world.release.save(update_fields=["commit_sha"])
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="ci-c")
    assert gate_codes(world) == ["gate_failed"]


def test_an_abbreviated_commit_is_the_same_commit(make_user: Any) -> None:
    world = failing_world(make_user)
    waiver = ask(world)
    Waiver.objects.filter(pk=waiver.pk).update(commit_sha=world.release.commit_sha[:10])
    waiver_approve(waiver=waiver, actor=world.pm)
    assert gate_codes(world) == []


def test_a_request_for_an_earlier_build_cannot_be_approved(make_user: Any) -> None:
    world = failing_world(make_user)
    waiver = ask(world)
    new_build(world)
    with pytest.raises(Conflict) as exc:
        waiver_approve(waiver=waiver, actor=world.pm)
    assert exc.value.code == "waiver_for_earlier_build"
    assert "build 10" in exc.value.message and "build 11" in exc.value.message
    waiver_reject(waiver=waiver, actor=world.pm)  # rejecting it is fine


def test_the_pm_carries_a_waiver_over_on_record(make_user: Any) -> None:
    world = waived_world(make_user)
    new_build(world)
    other_pm = make_user(Role.PM, product=world.product)
    carried = waiver_carry_over(waiver=world.waiver, actor=other_pm, note="Same sandbox flake")
    assert carried.state == WaiverState.APPROVED and carried.carried_from_id == world.waiver.pk
    assert carried.build_number == 11 and carried.expires_at == world.waiver.expires_at
    assert carried.requested_by_id == world.waiver.requested_by_id
    assert gate_codes(world) == []
    event = AuditEvent.objects.get(action="waiver.carry_over")
    assert (event.before["build"], event.after["build"], event.actor_id) == (10, 11, other_pm.pk)
    assert "Same sandbox flake" in carried.decision_note
    with pytest.raises(Conflict):
        waiver_carry_over(waiver=world.waiver, actor=other_pm, note="again")  # once per build


def test_carry_over_refusals(make_user: Any) -> None:
    world = waived_world(make_user)
    with pytest.raises(Conflict) as exc:
        waiver_carry_over(waiver=world.waiver, actor=world.pm, note="n")
    assert exc.value.code == "waiver_already_current"
    new_build(world)
    with pytest.raises(NotAllowed):
        waiver_carry_over(waiver=world.waiver, actor=world.lead, note="n")
    with pytest.raises(NotAllowed) as own:
        waiver_carry_over(waiver=world.waiver, actor=world.waiver.requested_by, note="n")
    assert own.value.code in ("own_waiver", "role_not_held")
    other_pm = make_user(Role.PM, product=world.product)
    with pytest.raises(RuleViolation) as unwritten:
        waiver_carry_over(waiver=world.waiver, actor=other_pm, note="  ")
    assert unwritten.value.field == "note"


def test_board_shows_the_earlier_build_and_offers_carry_over_to_a_pm(make_user: Any, client: Client) -> None:
    world = waived_world(make_user)
    new_build(world)
    other_pm = make_user(Role.PM, product=world.product)
    client.force_login(other_pm)
    board = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    html = client.get(board).content.decode()
    assert "for build 10: does not count for build 11" in html
    carry = reverse("board:waiver_carry_over", kwargs={"pk": world.waiver.pk})
    assert carry in html
    response = client.post(carry, {"note": "still flaky"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "carried over" in response.content.decode()
    assert "carried over: counts for build 11" in response.content.decode()
    assert gate_codes(world) == []


def test_the_verdict_never_counts_a_waiver_of_another_build() -> None:
    from django.utils import timezone

    now = timezone.now()
    gate = GateEvidence(key="contract", name="Contract", phase="pre_release", blocking=True, waivable=True)
    waiver = WaiverEvidence(
        id=1,
        state="approved",
        requested_by=1,
        approved_by=2,
        approver_is_pm=True,
        expires_at=now + timedelta(hours=1),
    )
    assert waiver_counts(gate, waiver, now)
    assert not waiver_counts(gate, WaiverEvidence(**{**waiver.__dict__, "current": False}), now)


def test_a_waiver_is_only_for_a_gate_that_failed(make_user: Any) -> None:
    """Not for one still running or not reported yet (after a new build, say): it may pass."""
    from board.selectors import release_board as board_of

    from ..releases.builders import build_world

    world = build_world(make_user, ready=False)
    gate_result_record(release=world.release, gate=world.gates[0], status="running", run_id="r1")
    for gate in world.gates:  # one running, one never reported
        with pytest.raises(Conflict) as exc:
            ask(world, gate=gate)
        assert exc.value.code == "gate_not_failing"
    assert not any(row.may_ask_waiver for row in board_of(world.release).gates if row.gate in world.gates)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="r1")
    assert ask(world).state == WaiverState.REQUESTED
