"""Sign-offs and the PM/PO's call (board/decisions.py)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from audit.models import AuditEvent
from board.decisions import release_decide, signoff_record
from board.selectors import release_board
from core.errors import Conflict, NotAllowed, RuleViolation
from gates.services import gate_result_record
from releases.models import Decision, ReleaseState, SignOff

from ..releases.builders import build_world
from ..releases.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_signoff_needs_the_role(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    with pytest.raises(NotAllowed):
        signoff_record(release=world.release, role=Role.QA, vote="go", actor=world.lead)
    with pytest.raises(RuleViolation):
        signoff_record(release=world.release, role=Role.MOBILE_LEAD, vote="go", actor=world.lead)
    with pytest.raises(RuleViolation):
        signoff_record(release=world.release, role=Role.QA, vote="no_go", actor=world.qa, comment="  ")
    other_product_qa = make_user(Role.QA, product=ProductFactory())
    with pytest.raises(NotAllowed):
        signoff_record(release=world.release, role=Role.QA, vote="go", actor=other_product_qa)
    assert not SignOff.objects.exists()


def test_signoff_goes_stale_when_a_gate_changes_state(make_user: Any) -> None:
    world = build_world(make_user)
    assert release_board(world.release).verdict.ready
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="r2")
    gate_result_record(release=world.release, gate=world.gates[0], status="passed", run_id="r3")
    board = release_board(world.release)
    assert [b.code for b in board.verdict.blockers] == ["signoff_stale", "signoff_stale"]


def test_a_rerun_that_passes_again_keeps_signoffs_fresh(make_user: Any) -> None:
    world = build_world(make_user)
    gate_result_record(release=world.release, gate=world.gates[0], status="passed", run_id="rerun")
    assert release_board(world.release).verdict.ready


def test_an_older_run_never_overrides_a_newer_one(make_user: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    world = build_world(make_user)
    old = timezone.now() - timedelta(hours=2)
    gate_result_record(
        release=world.release, gate=world.gates[0], status="failed", run_id="old", observed_at=old
    )
    row = next(r for r in release_board(world.release).gates if r.gate == world.gates[0])
    assert row.status == "passed"


def test_go_refused_while_blocked_and_nothing_written(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict) as exc:
        release_decide(release=world.release, outcome="go", actor=world.pm)
    assert exc.value.code == "not_ready"
    assert exc.value.extra["blockers"], "the refusal lists the blockers"
    assert not Decision.objects.exists()
    assert world.refresh().state == ReleaseState.CANDIDATE
    assert AuditEvent.objects.count() == events


def test_go_when_ready_freezes_the_evidence(make_user: Any) -> None:
    world = build_world(make_user)
    decision = release_decide(release=world.release, outcome="go", actor=world.pm, rationale="All green")
    assert world.refresh().state == ReleaseState.GO
    assert decision.snapshot["ready"] is True and decision.decided_by == world.pm
    assert set(decision.snapshot["gates"]) == {g.key for g in world.gates}
    assert AuditEvent.objects.filter(action="release.decide", release_id=world.release.pk).exists()
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="late")
    assert release_board(world.release).decision_stale


def test_only_pm_decides_and_no_go_needs_a_reason(make_user: Any) -> None:
    world = build_world(make_user)
    with pytest.raises(NotAllowed):
        release_decide(release=world.release, outcome="go", actor=world.lead)
    with pytest.raises(RuleViolation):
        release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale=" ")
    release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale="Store review pending")
    assert world.refresh().state == ReleaseState.NO_GO
