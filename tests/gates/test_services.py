"""Gate results and the waiver process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from board.selectors import release_board
from core.errors import Conflict, NotAllowed, RuleViolation
from gates.models import Gate, GateResult, Waiver, WaiverState
from gates.services import (
    gate_result_record,
    waiver_approve,
    waiver_reject,
    waiver_request,
    waiver_revoke,
    waivers_expire_announce,
)

from ..releases.builders import build_world

pytestmark = pytest.mark.django_db


def test_same_run_and_status_twice_is_a_duplicate(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    gate = world.gates[0]
    first = gate_result_record(release=world.release, gate=gate, status="failed", run_id="ci-1")
    again = gate_result_record(release=world.release, gate=gate, status="failed", run_id="ci-1")
    assert not first.duplicate and again.duplicate and again.result.pk == first.result.pk
    assert GateResult.objects.filter(gate=gate).count() == 1
    # The same run moving on to another status is new evidence.
    assert not gate_result_record(release=world.release, gate=gate, status="passed", run_id="ci-1").duplicate


def test_unknown_status_and_app_evaluated_gates_are_refused(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    with pytest.raises(RuleViolation):
        gate_result_record(release=world.release, gate=world.gates[0], status="success")
    derived = Gate.objects.create(key="critical-bugs", name="Zero", owner_role="qa", evaluation="defects")
    with pytest.raises(RuleViolation) as exc:
        gate_result_record(release=world.release, gate=derived, status="passed")
    assert exc.value.code == "gate_not_reported_by_ci"


def test_results_for_another_commit_do_not_count(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    gate_result_record(release=world.release, gate=world.gates[0], status="passed", commit="b" * 40)
    row = release_board(world.release).gates[0]
    assert row.status == "none"


def test_database_refuses_bad_status_and_critical_bugs_waivable() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Gate.objects.create(key="critical-bugs", name="x", owner_role="qa", waivable=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Gate.objects.create(key="x", name="x", owner_role="ceo")


def failing_world(make_user: Any) -> Any:
    world = build_world(make_user)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="f1")
    return world


def ask(world: Any, **kw: Any) -> Waiver:
    params: dict[str, Any] = {
        "release": world.release,
        "gate": world.gates[0],
        "actor": world.lead,
        "reason": "Flaky provider sandbox",
        "risk": "Search may 500 for 1%",
        "mitigation": "Flag off",
    }
    params.update(kw)
    return waiver_request(**params)


def test_waiver_approved_by_another_pm_clears_the_gate_until_expiry(make_user: Any) -> None:
    world = failing_world(make_user)
    waiver = ask(world)
    assert waiver.expires_at - waiver.requested_at == timedelta(hours=72)
    assert not release_board(world.release).verdict.ready
    waiver_approve(waiver=waiver, actor=world.pm, note="OK for 2.4.0 only")
    from tests.releases.builders import sign_all

    sign_all(world)  # the waived state is new evidence: sign again
    board = release_board(world.release)
    assert board.verdict.ready, [b.code for b in board.verdict.blockers]
    later = release_board(world.release, now=waiver.expires_at + timedelta(seconds=1))
    assert [b.code for b in later.verdict.blockers][:1] == ["gate_waiver_expired"]


def test_waiver_approved_by_its_asker_is_refused(make_user: Any) -> None:
    world = failing_world(make_user)
    pm_asker = make_user(Role.PM, Role.BACKEND_LEAD, product=world.product)
    waiver = ask(world, actor=pm_asker)
    with pytest.raises(NotAllowed) as exc:
        waiver_approve(waiver=waiver, actor=pm_asker)
    assert exc.value.code == "own_waiver"
    waiver.refresh_from_db()
    assert waiver.state == WaiverState.REQUESTED
    with pytest.raises(IntegrityError), transaction.atomic():
        Waiver.objects.filter(pk=waiver.pk).update(
            state="approved", decided_by=pm_asker, decided_at=timezone.now()
        )


def test_only_pm_approves_and_only_leads_or_qa_ask(make_user: Any) -> None:
    world = failing_world(make_user)
    with pytest.raises(NotAllowed):
        ask(world, actor=world.pm)
    waiver = ask(world)
    with pytest.raises(NotAllowed):
        waiver_approve(waiver=waiver, actor=world.qa)
    waiver_reject(waiver=waiver, actor=world.pm, note="Fix it instead")
    with pytest.raises(Conflict):
        waiver_approve(waiver=waiver, actor=world.pm)


def test_waiver_needs_reason_risk_mitigation_and_a_sane_expiry(make_user: Any) -> None:
    world = failing_world(make_user)
    for field in ("reason", "risk", "mitigation"):
        with pytest.raises(RuleViolation) as exc:
            ask(world, **{field: " "})
        assert exc.value.field == field
    with pytest.raises(RuleViolation):
        ask(world, expires_at=timezone.now() + timedelta(days=8))
    with pytest.raises(RuleViolation):
        ask(world, expires_at=timezone.now() - timedelta(minutes=1))
    unwaivable = Gate.objects.create(key="typecheck-x", name="Lint", owner_role="mobile_lead", waivable=False)
    with pytest.raises(RuleViolation):
        ask(world, gate=unwaivable)
    assert not Waiver.objects.exists()


def test_revoked_waiver_blocks_again_at_once(make_user: Any) -> None:
    world = failing_world(make_user)
    waiver = waiver_approve(waiver=ask(world), actor=world.pm)
    waiver_revoke(waiver=waiver, actor=world.pm, note="Risk grew")
    codes = [b.code for b in release_board(world.release).verdict.blockers]
    assert "gate_failed" in codes


def test_expiry_announced_once_by_the_beat_task(make_user: Any) -> None:
    world = failing_world(make_user)
    waiver = waiver_approve(waiver=ask(world, expires_at=timezone.now() + timedelta(hours=1)), actor=world.pm)
    assert waivers_expire_announce() == []
    later = timezone.now() + timedelta(hours=2)
    assert waivers_expire_announce(now=later) == [waiver.pk]
    assert waivers_expire_announce(now=later) == []
    assert AuditEvent.objects.filter(action="waiver.expired", object_id=str(waiver.pk)).count() == 1
